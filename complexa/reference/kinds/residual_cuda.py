"""Residual's CUDA kernels: y = x + body(x), one add per unit; dx = dy + the body's dx, one add per unit. One
(sample, unit) per thread."""

from __future__ import annotations

from numba import cuda

from complexa.reference._cuda import launch
from complexa.reference.kinds._jit import ADD, BACKWARD, FORWARD
from complexa.reference.kinds.residual import Kernels

__all__ = ["make"]


def make(count: bool) -> Kernels:
    counting = count

    @cuda.jit
    def forward_kernel(x, body, y, counts):
        n_add = 0
        n = x.shape[1]
        for t in range(cuda.grid(1), x.shape[0] * n, cuda.gridsize(1)):
            s = t // n
            i = t % n
            y[s, i] = x[s, i] + body[s, i]
            if counting:
                n_add += 1
        if counting:
            cuda.atomic.add(counts, (FORWARD, ADD), n_add)

    @cuda.jit
    def input_grad_kernel(dy, body_dx, dx, counts):
        n_add = 0
        n = dy.shape[1]
        for t in range(cuda.grid(1), dy.shape[0] * n, cuda.gridsize(1)):
            s = t // n
            i = t % n
            dx[s, i] = dy[s, i] + body_dx[s, i]
            if counting:
                n_add += 1
        if counting:
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    def forward(x, body, y, counts):
        launch(forward_kernel, x.shape[0] * x.shape[1], x, body, y, counts)

    def input_grad(dy, body_dx, dx, counts):
        launch(input_grad_kernel, dy.shape[0] * dy.shape[1], dy, body_dx, dx, counts)

    return Kernels(forward, input_grad)
