"""The activations' CUDA kernels: a = g(z), one act per unit, and in place d *= g'(z), one act_grad and one mul.

g and g' are `complexa.reference.kinds.activation.activate` and `derivative` (libm's exp, expm1 and erf), compiled
here as device functions; the CPU kernels compute the same g and g' with a vectorised exp and erf, to a few ulps (the
tests compare the two backends to 1e-12). One (sample, unit) per thread.
"""

from __future__ import annotations

from numba import cuda

from complexa.reference._cuda import launch
from complexa.reference.kinds._jit import ACT, ACT_GRAD, BACKWARD, FORWARD, MUL
from complexa.reference.kinds.activation import IDENTITY, Kernels, activate, derivative

__all__ = ["make"]

_activate = cuda.jit(device=True)(activate)
_derivative = cuda.jit(device=True)(derivative)


def make(count: bool) -> Kernels:
    counting = count

    @cuda.jit
    def forward_kernel(z, code, a, counts):
        n_act = 0
        n = z.shape[1]
        for t in range(cuda.grid(1), z.shape[0] * n, cuda.gridsize(1)):
            s = t // n
            i = t % n
            if code == IDENTITY:
                a[s, i] = z[s, i]
            else:
                a[s, i] = _activate(z[s, i], code)
                if counting:
                    n_act += 1
        if counting:
            cuda.atomic.add(counts, (FORWARD, ACT), n_act)

    @cuda.jit
    def backward_kernel(z, a, code, d, counts):
        n_mul = 0
        n_grad = 0
        n = z.shape[1]
        for t in range(cuda.grid(1), z.shape[0] * n, cuda.gridsize(1)):
            s = t // n
            i = t % n
            d[s, i] *= _derivative(z[s, i], a[s, i], code)
            if counting:
                n_mul += 1
                n_grad += 1
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ACT_GRAD), n_grad)

    def forward(z, code, a, counts):
        launch(forward_kernel, z.shape[0] * z.shape[1], z, code, a, counts)

    def backward(z, a, code, d, counts):
        if code != IDENTITY:  # g' = 1: the CPU kernel does nothing either
            launch(backward_kernel, z.shape[0] * z.shape[1], z, a, code, d, counts)

    return Kernels(forward, backward)
