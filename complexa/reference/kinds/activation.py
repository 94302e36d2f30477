"""The activations' CPU kernels: a = g(z), one act per unit, and in place d *= g'(z), one act_grad and one mul.

g and g' are plain Python here (`activate`, `derivative`), compiled for the CPU below and for the device in
`complexa.reference.kinds.activation_cuda`. g' reads the stored output for sigmoid and tanh (a(1 - a), 1 - a^2) and
the stored input for ReLU, GELU and SiLU; its arithmetic is the act_grad and is not counted again.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from complexa.reference._node import Backend, Build, Node, Tensor
from complexa.reference.kinds._jit import ACT, ACT_GRAD, BACKWARD, FORWARD, MUL, jit

__all__ = [
    "SIGMOID",
    "TANH",
    "RELU",
    "GELU",
    "GELU_TANH",
    "IDENTITY",
    "SILU",
    "activate",
    "derivative",
    "Kernels",
    "make",
]

SIGMOID, TANH, RELU, GELU, GELU_TANH, IDENTITY, SILU = 0, 1, 2, 3, 4, 5, 6
"""The codes `complexa.nn.activations` gives its kinds."""

_SQRT_HALF = 0.7071067811865476  # 1 / sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)
_SQRT_2_OVER_PI = 0.7978845608028654  # sqrt(2 / pi)
_KAPPA = 0.044715


def activate(z: float, code: int) -> float:
    """g(z)."""
    if code == SIGMOID:
        return 1.0 / (1.0 + math.exp(-z))
    if code == TANH:
        # tanh from expm1, as accurate as libm's tanh (within an ulp) and about twice as fast under numba
        e = math.expm1(-2.0 * abs(z))
        t = -e / (2.0 + e)
        return t if z >= 0.0 else -t
    if code == RELU:
        return z if z > 0.0 else 0.0
    if code == GELU:
        return 0.5 * z * (1.0 + math.erf(z * _SQRT_HALF))
    if code == GELU_TANH:
        u = _SQRT_2_OVER_PI * (z + _KAPPA * z * z * z)
        e = math.expm1(-2.0 * abs(u))
        t = -e / (2.0 + e)
        return 0.5 * z * (1.0 + (t if u >= 0.0 else -t))
    if code == SILU:
        return z / (1.0 + math.exp(-z))
    return z


def derivative(z: float, a: float, code: int) -> float:
    """g'(z), from the stored input z and output a = g(z)."""
    if code == SIGMOID:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return 1.0 if z > 0.0 else 0.0
    if code == GELU:
        return 0.5 * (1.0 + math.erf(z * _SQRT_HALF)) + z * _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if code == GELU_TANH:
        u = _SQRT_2_OVER_PI * (z + _KAPPA * z * z * z)
        e = math.expm1(-2.0 * abs(u))
        t = -e / (2.0 + e)
        t = t if u >= 0.0 else -t
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3.0 * _KAPPA * z * z)
    if code == SILU:
        s = 1.0 / (1.0 + math.exp(-z))
        return s * (1.0 + z * (1.0 - s))
    return 1.0


_activate = jit(activate)
_derivative = jit(derivative)

# exp(x) as LLVM can vectorise it (numba has no vector exp without Intel's SVML): x = k ln 2 + r, |r| <= ln 2 / 2,
# exp(r) by its Taylor series to r^13 (truncation below 1e-17 relative), 2^k written into a float's exponent bits.
# Within 2 ulps of libm's exp for the x it is used at; sigmoid's forward below uses it.
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2's leading bits: k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.9082149292705877e-10  # ln 2 - _LN2_HI
_SHIFTER = 6755399441055744.0  # 1.5 * 2^52: x + _SHIFTER rounds x to an integer, held in the low bits
_SHIFTER_BITS = 0x4338000000000000  # _SHIFTER's bits
_TAYLOR = tuple(1.0 / math.factorial(n) for n in range(14))


def _sigmoid_rows(z: Any, a: Any) -> int:
    """a = 1 / (1 + exp(-z)) for a C-contiguous 2-D `z`, exp as above; returns the acts performed (one a unit).

    exp(-z) is computed for -z clamped to [-708, 709] (normal floats: 2^k's exponent field holds it); where -z is
    above 709, libm's exp takes over (sigmoid is then below 1e-308, or 0); below -708 the clamp changes nothing, as
    1 + exp(-z) rounds to 1 either way.
    """
    n = z.shape[1]
    scale = np.empty(n)
    poly = np.empty(n)
    bits = scale.view(np.int64)
    acts = 0
    c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13 = _TAYLOR
    for s in range(z.shape[0]):
        zs = z[s]
        out = a[s]
        for i in range(n):
            x = -zs[i]
            x = 709.0 if x > 709.0 else x
            x = -708.0 if x < -708.0 else x
            k = x * _LOG2E + _SHIFTER
            kf = k - _SHIFTER
            r = (x - kf * _LN2_HI) - kf * _LN2_LO
            p = c13
            for c in (c12, c11, c10, c9, c8, c7, c6, c5, c4, c3, c2, c1, c0):
                p = c + r * p
            poly[i] = p
            scale[i] = k
        for i in range(n):
            bits[i] = (bits[i] - _SHIFTER_BITS + 1023) << 52  # 2^k
        for i in range(n):
            out[i] = 1.0 / (1.0 + poly[i] * scale[i])
            acts += 1
        for i in range(n):
            if zs[i] < -709.0:
                out[i] = 1.0 / (1.0 + math.exp(-zs[i]))
    return acts


sigmoid_rows = jit(_sigmoid_rows, error_model="numpy")
"""`_sigmoid_rows` compiled; ``error_model="numpy"``: a division is not checked for zero (1 + e > 0), so LLVM can
vectorise it."""


class Kernels(NamedTuple):
    forward: Any
    backward: Any


def make(count: bool) -> Kernels:
    counting = count

    # One loop per kind, each calling g and g' with a constant code: numba inlines them and LLVM folds the choice
    # of kind out of the loop, instead of testing the code at every element.
    @jit
    def forward_of(z, code, a):
        n_act = 0
        for s in range(z.shape[0]):
            for i in range(z.shape[1]):
                a[s, i] = _activate(z[s, i], code)
                if counting:
                    n_act += 1
        return n_act

    @jit
    def forward(z, code, a, counts):
        n_act = 0
        if code == IDENTITY:
            for s in range(z.shape[0]):
                for i in range(z.shape[1]):
                    a[s, i] = z[s, i]
        elif code == SIGMOID:
            n_act = sigmoid_rows(z, a)
        elif code == TANH:
            n_act = forward_of(z, TANH, a)
        elif code == RELU:
            n_act = forward_of(z, RELU, a)
        elif code == GELU:
            n_act = forward_of(z, GELU, a)
        elif code == SILU:
            n_act = forward_of(z, SILU, a)
        else:
            n_act = forward_of(z, GELU_TANH, a)
        if counting:
            counts[FORWARD, ACT] += n_act

    @jit
    def backward_of(z, a, code, d):
        n = 0
        for s in range(z.shape[0]):
            for i in range(z.shape[1]):
                d[s, i] *= _derivative(z[s, i], a[s, i], code)
                if counting:
                    n += 1
        return n

    @jit
    def backward(z, a, code, d, counts):
        n = 0
        if code == SIGMOID:
            n = backward_of(z, a, SIGMOID, d)
        elif code == TANH:
            n = backward_of(z, a, TANH, d)
        elif code == RELU:
            n = backward_of(z, a, RELU, d)
        elif code == GELU:
            n = backward_of(z, a, GELU, d)
        elif code == SILU:
            n = backward_of(z, a, SILU, d)
        elif code == GELU_TANH:
            n = backward_of(z, a, GELU_TANH, d)
        if counting:
            counts[BACKWARD, MUL] += n
            counts[BACKWARD, ACT_GRAD] += n

    return Kernels(forward, backward)


# --- the node: this kind as the runtime trains it (`complexa.reference._runtime`) ----------------------------------
class ActivationNode(Node):
    def __init__(self, path: str, width: int, grad: bool, code: int) -> None:
        super().__init__(path, width, grad)
        self.code = code

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.activation
        self.a = backend.empty((batch, self.width))
        self.kept = {"activations": [self.a]}

    def output(self) -> Any:
        return self.a

    def elements(self, batch: int) -> tuple[int, int]:
        return batch * self.width, 0

    def forward(self, z: Any, counts: Any) -> Any:
        self.z = z
        self.k.forward(z, self.code, self.a, counts)
        return self.a

    def backward(self, d: Any, counts: Any) -> Any:
        if not self.input_grad:
            return None
        self.k.backward(self.z, self.a, self.code, d, counts)  # in place: d becomes the input's gradient
        return d


def node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> ActivationNode:
    return ActivationNode(path, width, input_grad, int(layer.code))
