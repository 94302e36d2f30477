"""Linear's CUDA kernels: the arithmetic of `complexa.reference.kinds.linear`, one output element per thread.

forward: z[s, i] = W[i, 0] x[s, 0], plus W[i, j] x[s, j] for j = 1..m-1, plus b[i]. input_grad: dx[s, j] =
W[0, j] dz[s, 0], plus W[i, j] dz[s, i] for i = 1..n-1. gradients: dW[i, j] = dz[0, i] x[0, j], plus
dz[s, i] x[s, j] for s = 1..B-1; db[i] = dz[0, i], plus dz[s, i]. Each thread counts as the CPU kernel does.
"""

from __future__ import annotations

from numba import cuda

from complexa.reference._cuda import launch
from complexa.reference.kinds._jit import ADD, BACKWARD, FORWARD, MUL
from complexa.reference.kinds.linear import Kernels

__all__ = ["make"]


def make(count: bool) -> Kernels:
    counting = count

    @cuda.jit
    def forward_kernel(x, weights, biases, bias, z, counts):
        n_mul = 0
        n_add = 0
        n, m = weights.shape
        for t in range(cuda.grid(1), z.shape[0] * n, cuda.gridsize(1)):
            s = t // n
            i = t % n
            acc = weights[i, 0] * x[s, 0]
            if counting:
                n_mul += 1
            for j in range(1, m):
                acc += weights[i, j] * x[s, j]
                if counting:
                    n_mul += 1
                    n_add += 1
            if bias:
                acc += biases[i]
                if counting:
                    n_add += 1
            z[s, i] = acc
        if counting:
            cuda.atomic.add(counts, (FORWARD, MUL), n_mul)
            cuda.atomic.add(counts, (FORWARD, ADD), n_add)

    @cuda.jit
    def input_grad_kernel(dz, weights, dx, counts):
        n_mul = 0
        n_add = 0
        n, m = weights.shape
        for t in range(cuda.grid(1), dx.shape[0] * m, cuda.gridsize(1)):
            s = t // m
            j = t % m
            acc = weights[0, j] * dz[s, 0]
            if counting:
                n_mul += 1
            for i in range(1, n):
                acc += weights[i, j] * dz[s, i]
                if counting:
                    n_mul += 1
                    n_add += 1
            dx[s, j] = acc
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def gradients_kernel(dz, x, bias, g_weights, g_biases, counts):
        # Threads 0..n m - 1 take a weight each, then (with a bias) threads n m..n m + n - 1 a bias each.
        n_mul = 0
        n_add = 0
        batch = x.shape[0]
        n, m = g_weights.shape
        n_weights = n * m
        total = n_weights + n if bias else n_weights
        for t in range(cuda.grid(1), total, cuda.gridsize(1)):
            if t < n_weights:
                i = t // m
                j = t % m
                acc = dz[0, i] * x[0, j]
                if counting:
                    n_mul += 1
                for s in range(1, batch):
                    acc += dz[s, i] * x[s, j]
                    if counting:
                        n_mul += 1
                        n_add += 1
                g_weights[i, j] = acc
            else:
                i = t - n_weights
                acc = dz[0, i]
                for s in range(1, batch):
                    acc += dz[s, i]
                    if counting:
                        n_add += 1
                g_biases[i] = acc
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    def forward(x, weights, biases, bias, z, counts):
        launch(forward_kernel, z.shape[0] * z.shape[1], x, weights, biases, bias, z, counts)

    def input_grad(dz, weights, dx, counts):
        launch(input_grad_kernel, dx.shape[0] * dx.shape[1], dz, weights, dx, counts)

    def gradients(dz, x, bias, g_weights, g_biases, counts):
        n = g_weights.shape[0]
        launch(gradients_kernel, g_weights.size + (n if bias else 0), dz, x, bias, g_weights, g_biases, counts)

    return Kernels(forward, input_grad, gradients)
