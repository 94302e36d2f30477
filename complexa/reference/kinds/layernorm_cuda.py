"""LayerNorm's CUDA kernels: the arithmetic of `complexa.reference.kinds.layernorm`, counted as it counts.

forward and input_grad take one sample per thread, since their sums run along the sample's row; gradients one
feature per thread, summing over the batch from sample 0. input_grad keeps g = dy w in the thread's own row of dx
until it overwrites it with the result: the CPU kernel's one scratch row would be shared by every thread here.
"""

from __future__ import annotations

import math

from numba import cuda

from complexa.reference._cuda import launch
from complexa.reference.kinds._jit import ADD, BACKWARD, DIV, FORWARD, MUL, SQRT
from complexa.reference.kinds.layernorm import Kernels

__all__ = ["make"]


def make(count: bool) -> Kernels:
    counting = count

    @cuda.jit
    def forward_kernel(x, weight, bias, affine, eps, xhat, rstd, y, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_sqrt = 0
        n = x.shape[1]
        for s in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
            total = x[s, 0]
            for j in range(1, n):
                total += x[s, j]
                if counting:
                    n_add += 1
            mean = total / n
            if counting:
                n_div += 1
            for j in range(n):
                xhat[s, j] = x[s, j] - mean
                if counting:
                    n_add += 1
            squares = xhat[s, 0] * xhat[s, 0]
            if counting:
                n_mul += 1
            for j in range(1, n):
                squares += xhat[s, j] * xhat[s, j]
                if counting:
                    n_mul += 1
                    n_add += 1
            var = squares / n
            if counting:
                n_div += 1
            r = 1.0 / math.sqrt(var + eps)
            if counting:
                n_add += 1
                n_sqrt += 1
                n_div += 1
            rstd[s] = r
            for j in range(n):
                xhat[s, j] *= r
                if counting:
                    n_mul += 1
            if affine:
                for j in range(n):
                    y[s, j] = xhat[s, j] * weight[j] + bias[j]
                    if counting:
                        n_mul += 1
                        n_add += 1
            else:
                for j in range(n):
                    y[s, j] = xhat[s, j]
        if counting:
            cuda.atomic.add(counts, (FORWARD, MUL), n_mul)
            cuda.atomic.add(counts, (FORWARD, ADD), n_add)
            cuda.atomic.add(counts, (FORWARD, DIV), n_div)
            cuda.atomic.add(counts, (FORWARD, SQRT), n_sqrt)

    @cuda.jit
    def input_grad_kernel(dy, weight, affine, xhat, rstd, dx, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n = dy.shape[1]
        for s in range(cuda.grid(1), dy.shape[0], cuda.gridsize(1)):
            g = dx[s]  # this thread's row: g = dy w (affine) or dy, then the result
            if affine:
                for j in range(n):
                    g[j] = dy[s, j] * weight[j]
                    if counting:
                        n_mul += 1
            else:
                for j in range(n):
                    g[j] = dy[s, j]
            s1 = g[0]
            s2 = g[0] * xhat[s, 0]
            if counting:
                n_mul += 1
            for j in range(1, n):
                s1 += g[j]
                s2 += g[j] * xhat[s, j]
                if counting:
                    n_add += 2
                    n_mul += 1
            m1 = s1 / n
            m2 = s2 / n
            if counting:
                n_div += 2
            r = rstd[s]
            for j in range(n):
                g[j] = (g[j] - m1 - xhat[s, j] * m2) * r
                if counting:
                    n_mul += 2
                    n_add += 2
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)
            cuda.atomic.add(counts, (BACKWARD, DIV), n_div)

    @cuda.jit
    def gradients_kernel(dy, xhat, g_weight, g_bias, counts):
        n_mul = 0
        n_add = 0
        for j in range(cuda.grid(1), dy.shape[1], cuda.gridsize(1)):
            gw = dy[0, j] * xhat[0, j]
            gb = dy[0, j]
            if counting:
                n_mul += 1
            for s in range(1, dy.shape[0]):
                gw += dy[s, j] * xhat[s, j]
                gb += dy[s, j]
                if counting:
                    n_mul += 1
                    n_add += 2
            g_weight[j] = gw
            g_bias[j] = gb
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    def forward(x, weight, bias, affine, eps, xhat, rstd, y, counts):
        launch(forward_kernel, x.shape[0], x, weight, bias, affine, eps, xhat, rstd, y, counts)

    def input_grad(dy, weight, affine, xhat, rstd, g, dx, counts):
        # g, the CPU kernel's scratch row, is not used: each thread keeps its g in its own row of dx.
        launch(input_grad_kernel, dy.shape[0], dy, weight, affine, xhat, rstd, dx, counts)

    def gradients(dy, xhat, g_weight, g_bias, counts):
        launch(gradients_kernel, dy.shape[1], dy, xhat, g_weight, g_bias, counts)

    return Kernels(forward, input_grad, gradients)
