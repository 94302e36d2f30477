"""The optimizers' CUDA kernels: the update rules of `complexa.reference.kinds.optim`, one parameter per thread.

``adam`` takes two launches: one thread per tensor updates its running products of the betas (``powers``) and its
bias corrections, counted once per tensor as on the CPU, into a small array that the per-element kernel then reads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from complexa.reference._cuda import launch
from complexa.reference.kinds._jit import ADD, DIV, MUL, SQRT, UPDATE
from complexa.reference.kinds.optim import Kernels

__all__ = ["make"]


def make(count: bool) -> Kernels:
    counting = count

    @cuda.jit
    def sgd_kernel(params, grads, lr, counts):
        n = 0
        for p in range(cuda.grid(1), params.shape[0], cuda.gridsize(1)):
            params[p] -= lr * grads[p]
            if counting:
                n += 1
        if counting:
            cuda.atomic.add(counts, (UPDATE, MUL), n)
            cuda.atomic.add(counts, (UPDATE, ADD), n)

    @cuda.jit
    def momentum_kernel(params, grads, buf, lr, mu, first, counts):
        n_mul = 0
        n_add = 0
        for p in range(cuda.grid(1), params.shape[0], cuda.gridsize(1)):
            if first:
                buf[p] = grads[p]
            else:
                buf[p] = mu * buf[p] + grads[p]
                if counting:
                    n_mul += 1
                    n_add += 1
            params[p] -= lr * buf[p]
            if counting:
                n_mul += 1
                n_add += 1
        if counting:
            cuda.atomic.add(counts, (UPDATE, MUL), n_mul)
            cuda.atomic.add(counts, (UPDATE, ADD), n_add)

    @cuda.jit
    def adam_tensor_kernel(powers, lr, beta1, beta2, scalars, counts):
        # One thread per tensor k: scalars[k] = (step size, sqrt of the second bias correction).
        n_mul = 0
        n_add = 0
        n_div = 0
        n_sqrt = 0
        for k in range(cuda.grid(1), powers.shape[0], cuda.gridsize(1)):
            powers[k, 0] *= beta1
            powers[k, 1] *= beta2
            bc1 = 1.0 - powers[k, 0]
            bc2 = 1.0 - powers[k, 1]
            scalars[k, 0] = lr / bc1
            scalars[k, 1] = math.sqrt(bc2)
            if counting:
                n_mul += 2
                n_add += 2
                n_div += 1
                n_sqrt += 1
        if counting:
            cuda.atomic.add(counts, (UPDATE, MUL), n_mul)
            cuda.atomic.add(counts, (UPDATE, ADD), n_add)
            cuda.atomic.add(counts, (UPDATE, DIV), n_div)
            cuda.atomic.add(counts, (UPDATE, SQRT), n_sqrt)

    @cuda.jit
    def adam_kernel(params, grads, m, v, offsets, scalars, beta2, one_minus_beta1, one_minus_beta2, eps, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_sqrt = 0
        for k in range(offsets.shape[0] - 1):
            step_size = scalars[k, 0]
            bc2_sqrt = scalars[k, 1]
            for p in range(offsets[k] + cuda.grid(1), offsets[k + 1], cuda.gridsize(1)):
                g = grads[p]
                m[p] += (g - m[p]) * one_minus_beta1
                v[p] = v[p] * beta2 + one_minus_beta2 * g * g
                denom = math.sqrt(v[p]) / bc2_sqrt + eps
                params[p] += -step_size * (m[p] / denom)
                if counting:
                    n_mul += 5
                    n_add += 5
                    n_div += 2
                    n_sqrt += 1
        if counting:
            cuda.atomic.add(counts, (UPDATE, MUL), n_mul)
            cuda.atomic.add(counts, (UPDATE, ADD), n_add)
            cuda.atomic.add(counts, (UPDATE, DIV), n_div)
            cuda.atomic.add(counts, (UPDATE, SQRT), n_sqrt)

    def sgd(params, grads, lr, counts):
        launch(sgd_kernel, params.shape[0], params, grads, lr, counts)

    def momentum(params, grads, buf, lr, mu, first, counts):
        launch(momentum_kernel, params.shape[0], params, grads, buf, lr, mu, bool(first), counts)

    def adam(params, grads, m, v, offsets, powers, lr, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, counts):
        tensors = powers.shape[0]
        scalars = cuda.device_array((tensors, 2), dtype=np.float64)
        launch(adam_tensor_kernel, tensors, powers, lr, beta1, beta2, scalars, counts)
        launch(
            adam_kernel,
            params.shape[0],
            params,
            grads,
            m,
            v,
            offsets,
            scalars,
            beta2,
            one_minus_beta1,
            one_minus_beta2,
            eps,
            counts,
        )

    return Kernels(sgd, momentum, adam)
