"""Elementwise activations, as `torch.nn`'s: `Sigmoid`, `Tanh`, `ReLU`, `GELU`, `SiLU` and `Identity`.

Per sample and unit: forward 1 act (one evaluation of g); error, when computed, 1 act_grad (one evaluation of g',
from the stored output for sigmoid and tanh, a(1 - a) and 1 - a^2, from the stored input for ReLU and GELU) and
1 mul (dy * g'). The arithmetic inside g and g' is the act and the act_grad; it is not counted again as mul or add.
`Identity` computes nothing.
"""

from __future__ import annotations

from typing import ClassVar

from complexa._validate import as_choice
from complexa.models._layers import Value
from complexa.nn._base import Convert, Cost, Layer, cost

__all__ = ["Activation", "Sigmoid", "Tanh", "ReLU", "GELU", "Identity", "SiLU", "forward", "error", "BY_NAME"]


def forward(n: Value, batch: Value) -> dict[str, Value]:
    """g over `n` units of `batch` samples."""
    return {"act": batch * n}


def error(n: Value, batch: Value) -> dict[str, Value]:
    """dz = dy * g'(z) over `n` units of `batch` samples."""
    return {"mul": batch * n, "act_grad": batch * n}


class Activation(Layer):
    """An elementwise activation: one act per unit forward, one act_grad and one mul per unit backward."""

    code: ClassVar[int] = -1
    """What the kernels branch on (`complexa.reference._kinds`)."""
    name: ClassVar[str] = ""
    """Its name as `Network`'s `activation` takes it, where it has one."""

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        return cost(forward(width, batch), error(width, batch) if input_grad else None)

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        return batch * width, 0  # its output; its backward works in place on the gradient it is handed

    def __repr__(self) -> str:
        return f"{self.kind}()"


class Sigmoid(Activation):
    """1 / (1 + exp(-x)); g' = a (1 - a) from the stored output."""

    kind, code, name = "Sigmoid", 0, "sigmoid"


class Tanh(Activation):
    """tanh(x); g' = 1 - a^2 from the stored output."""

    kind, code, name = "Tanh", 1, "tanh"


class ReLU(Activation):
    """max(x, 0); g' = 1 if x > 0 else 0, from the stored input."""

    kind, code, name = "ReLU", 2, "relu"


class GELU(Activation):
    """x Phi(x) (``approximate="none"``, with erf) or its tanh approximation (``"tanh"``), as `torch.nn.GELU`; g'
    from the stored input. Each is one act, its derivative one act_grad.

    >>> GELU(approximate="tanh")
    GELU(approximate='tanh')
    """

    kind, name = "GELU", "gelu"
    _fields = ("approximate",)

    def __init__(self, approximate: str = "none") -> None:
        self.approximate = as_choice(approximate, ("none", "tanh"), "GELU(approximate)")

    @property
    def code(self) -> int:  # type: ignore[override]
        return 4 if self.approximate == "tanh" else 3

    def __repr__(self) -> str:
        return "GELU()" if self.approximate == "none" else f"GELU(approximate={self.approximate!r})"


class SiLU(Activation):
    """x sigmoid(x), Llama's (``torch.nn.SiLU``, Hugging Face's ``act_fn``); g' = s (1 + x (1 - s)), s = sigmoid(x),
    from the stored input. Not one of `Network`'s `activation` names: it is the gate of `complexa.nn.SwiGLU`.

    >>> SiLU()
    SiLU()
    """

    kind, code = "SiLU", 6


class Identity(Activation):
    """x, unchanged: nothing to compute, forward or backward."""

    kind, code, name = "Identity", 5, "identity"

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        return cost()


BY_NAME: dict[str, type[Activation]] = {k.name: k for k in (Sigmoid, Tanh, ReLU, GELU, Identity)}
"""`Network`'s `activation` names -> kinds."""
