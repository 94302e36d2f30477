"""The activations' CPU kernels: a = g(z), one act per unit, and in place d *= g'(z), one act_grad and one mul.

g and g' are plain Python here (`activate`, `derivative`), compiled for the CPU below and for the device in
`complexa.reference.kinds.activation_cuda`. g' reads the stored output for sigmoid and tanh (a(1 - a), 1 - a^2) and
the stored input for ReLU and GELU; its arithmetic is the act_grad and is not counted again.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from complexa.reference._node import Backend, Build, Node, Tensor
from complexa.reference.kinds._jit import ACT, ACT_GRAD, BACKWARD, FORWARD, MUL, jit

__all__ = ["SIGMOID", "TANH", "RELU", "GELU", "GELU_TANH", "IDENTITY", "activate", "derivative", "Kernels", "make"]

SIGMOID, TANH, RELU, GELU, GELU_TANH, IDENTITY = 0, 1, 2, 3, 4, 5
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
    return 1.0


_activate = jit(activate)
_derivative = jit(derivative)


class Kernels(NamedTuple):
    forward: Any
    backward: Any


def make(count: bool) -> Kernels:
    counting = count

    @jit
    def forward(z, code, a, counts):
        n_act = 0
        for s in range(z.shape[0]):
            for i in range(z.shape[1]):
                if code == IDENTITY:
                    a[s, i] = z[s, i]
                else:
                    a[s, i] = _activate(z[s, i], code)
                    if counting:
                        n_act += 1
        if counting:
            counts[FORWARD, ACT] += n_act

    @jit
    def backward(z, a, code, d, counts):
        n_mul = 0
        n_grad = 0
        if code != IDENTITY:
            for s in range(z.shape[0]):
                for i in range(z.shape[1]):
                    d[s, i] *= _derivative(z[s, i], a[s, i], code)
                    if counting:
                        n_mul += 1
                        n_grad += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ACT_GRAD] += n_grad

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
