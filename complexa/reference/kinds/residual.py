"""Residual's CPU kernels: y = x + body(x), one add per unit; dx = dy + the body's dx, one add per unit."""

from __future__ import annotations

from typing import Any, NamedTuple

from complexa.reference.kinds._jit import ADD, BACKWARD, FORWARD, jit

__all__ = ["Kernels", "make"]


class Kernels(NamedTuple):
    forward: Any
    input_grad: Any


def make(count: bool) -> Kernels:
    counting = count

    @jit
    def forward(x, body, y, counts):
        n_add = 0
        for s in range(x.shape[0]):
            for i in range(x.shape[1]):
                y[s, i] = x[s, i] + body[s, i]
                if counting:
                    n_add += 1
        if counting:
            counts[FORWARD, ADD] += n_add

    @jit
    def input_grad(dy, body_dx, dx, counts):
        n_add = 0
        for s in range(dy.shape[0]):
            for i in range(dy.shape[1]):
                dx[s, i] = dy[s, i] + body_dx[s, i]
                if counting:
                    n_add += 1
        if counting:
            counts[BACKWARD, ADD] += n_add

    return Kernels(forward, input_grad)
