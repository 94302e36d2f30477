"""Linear's CPU kernels: z = x W^T + b, the input gradient dx = dz W, and dW, db summed over the batch.

A dot product of length m is m mul and m - 1 add: the first product starts the accumulator. The forward pass takes
four samples at a time, sharing each row of W as it is loaded, and the samples left over one at a time; the weight
gradient starts from sample 0 and then adds four samples per pass over a row, and the samples left over. Every sum
is still its own products and additions, counted as they are done.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from complexa.reference.kinds._jit import ADD, BACKWARD, FORWARD, MUL, fast_jit, jit

__all__ = ["Kernels", "make"]


class Kernels(NamedTuple):
    forward: Any
    input_grad: Any
    gradients: Any


def make(count: bool) -> Kernels:
    counting = count

    @fast_jit
    def forward(x, weights, biases, bias, z, counts):
        n_mul = 0
        n_add = 0
        batch = x.shape[0]
        n, m = weights.shape
        quads = batch - batch % 4
        for s in range(0, quads, 4):
            x0 = x[s]
            x1 = x[s + 1]
            x2 = x[s + 2]
            x3 = x[s + 3]
            for i in range(n):
                w = weights[i]
                z0 = w[0] * x0[0]
                z1 = w[0] * x1[0]
                z2 = w[0] * x2[0]
                z3 = w[0] * x3[0]
                if counting:
                    n_mul += 4
                for j in range(1, m):
                    z0 += w[j] * x0[j]
                    z1 += w[j] * x1[j]
                    z2 += w[j] * x2[j]
                    z3 += w[j] * x3[j]
                    if counting:
                        n_mul += 4
                        n_add += 4
                if bias:
                    z0 += biases[i]
                    z1 += biases[i]
                    z2 += biases[i]
                    z3 += biases[i]
                    if counting:
                        n_add += 4
                z[s, i] = z0
                z[s + 1, i] = z1
                z[s + 2, i] = z2
                z[s + 3, i] = z3
        for s in range(quads, batch):
            x0 = x[s]
            for i in range(n):
                w = weights[i]
                z0 = w[0] * x0[0]
                if counting:
                    n_mul += 1
                for j in range(1, m):
                    z0 += w[j] * x0[j]
                    if counting:
                        n_mul += 1
                        n_add += 1
                if bias:
                    z0 += biases[i]
                    if counting:
                        n_add += 1
                z[s, i] = z0
        if counting:
            counts[FORWARD, MUL] += n_mul
            counts[FORWARD, ADD] += n_add

    @jit
    def input_grad(dz, weights, dx, counts):
        # dx[s, j] = sum_i W[i, j] dz[s, i], i outermost so that the innermost loop runs along a row of W.
        n_mul = 0
        n_add = 0
        n, m = weights.shape
        for s in range(dz.shape[0]):
            d = dx[s]
            d_i = dz[s, 0]
            for j in range(m):
                d[j] = weights[0, j] * d_i
                if counting:
                    n_mul += 1
            for i in range(1, n):
                d_i = dz[s, i]
                for j in range(m):
                    d[j] += weights[i, j] * d_i
                    if counting:
                        n_mul += 1
                        n_add += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    @jit
    def gradients(dz, x, bias, g_weights, g_biases, counts):
        # dW = sum_s dz[s] x[s]^T, db = sum_s dz[s]; sample 0 starts each sum.
        n_mul = 0
        n_add = 0
        batch = x.shape[0]
        n, m = g_weights.shape
        rest = 1 + (batch - 1) // 4 * 4
        for i in range(n):
            g = g_weights[i]
            d0 = dz[0, i]
            x0 = x[0]
            for j in range(m):
                g[j] = d0 * x0[j]
                if counting:
                    n_mul += 1
            for s in range(1, rest, 4):
                d0 = dz[s, i]
                d1 = dz[s + 1, i]
                d2 = dz[s + 2, i]
                d3 = dz[s + 3, i]
                x0 = x[s]
                x1 = x[s + 1]
                x2 = x[s + 2]
                x3 = x[s + 3]
                for j in range(m):
                    g[j] = (((g[j] + d0 * x0[j]) + d1 * x1[j]) + d2 * x2[j]) + d3 * x3[j]
                    if counting:
                        n_mul += 4
                        n_add += 4
            for s in range(rest, batch):
                d0 = dz[s, i]
                x0 = x[s]
                for j in range(m):
                    g[j] += d0 * x0[j]
                    if counting:
                        n_mul += 1
                        n_add += 1
        if bias:
            for i in range(n):
                g_biases[i] = dz[0, i]
            for s in range(1, batch):
                for i in range(n):
                    g_biases[i] += dz[s, i]
                    if counting:
                        n_add += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    return Kernels(forward, input_grad, gradients)
