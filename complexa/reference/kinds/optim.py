"""The optimizers' CPU kernels, over the flat parameters, with `torch.optim`'s update rules (`complexa.nn.optim`).

``sgd``: p -= lr g. ``momentum``: at step 1 the buffer is a copy of g (nothing counted), after it
buf = mu buf + g; then p -= lr buf. ``adam``: per tensor (its elements ``offsets[k]:offsets[k + 1]``) the bias
corrections from running products of the betas (``powers``), then per element torch's lerp, addcmul, sqrt, division
and addcdiv.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from complexa.reference.kinds._jit import ADD, DIV, MUL, SQRT, UPDATE, jit

__all__ = ["Kernels", "make"]


class Kernels(NamedTuple):
    sgd: Any
    momentum: Any
    adam: Any


def make(count: bool) -> Kernels:
    counting = count

    @jit
    def sgd(params, grads, lr, counts):
        n = 0
        for p in range(params.shape[0]):
            params[p] -= lr * grads[p]
            if counting:
                n += 1
        if counting:
            counts[UPDATE, MUL] += n
            counts[UPDATE, ADD] += n

    @jit
    def momentum(params, grads, buf, lr, mu, first, counts):
        n_mul = 0
        n_add = 0
        for p in range(params.shape[0]):
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
            counts[UPDATE, MUL] += n_mul
            counts[UPDATE, ADD] += n_add

    @jit
    def adam(params, grads, m, v, offsets, powers, lr, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_sqrt = 0
        for k in range(offsets.shape[0] - 1):
            powers[k, 0] *= beta1
            powers[k, 1] *= beta2
            bc1 = 1.0 - powers[k, 0]
            bc2 = 1.0 - powers[k, 1]
            step_size = lr / bc1
            bc2_sqrt = math.sqrt(bc2)
            if counting:
                n_mul += 2
                n_add += 2
                n_div += 1
                n_sqrt += 1
            for p in range(offsets[k], offsets[k + 1]):
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
            counts[UPDATE, MUL] += n_mul
            counts[UPDATE, ADD] += n_add
            counts[UPDATE, DIV] += n_div
            counts[UPDATE, SQRT] += n_sqrt

    return Kernels(sgd, momentum, adam)
