"""`Residual(*layers)`: y = x + layers(x), the body keeping the width.

It has no torch.nn class of its own: `Network.to_torch` writes it as an `nn.Sequential` of its layers whose forward
adds the input, so its parameters are named like a Sequential's (``"3.0.weight"``). Its own cost, per sample of n
features: forward n add (x + body); error, when computed, n add (dx = dy + the body's dx). The body's layers are
counted as layers of their own.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from complexa._limits import show
from complexa.errors import ComplexaError
from complexa.models._layers import Value
from complexa.nn._base import Convert, Cost, Layer, Width, cost, same

__all__ = ["Residual", "forward", "error"]


def forward(n: Value, batch: Value) -> dict[str, Value]:
    return {"add": batch * n}


def error(n: Value, batch: Value) -> dict[str, Value]:
    return {"add": batch * n}


class Residual(Layer):
    """x + layers(x).

    >>> from complexa.nn import Linear, GELU
    >>> Residual(Linear("h", "h"), GELU())
    Residual(Linear(h, h), GELU())
    """

    kind = "Residual"

    def __init__(self, *layers: Layer) -> None:
        if not layers:
            raise ComplexaError("Residual(): give the layers of its body, such as Residual(Linear('h', 'h'), ReLU())")
        for k, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ComplexaError(
                    f"Residual(...)[{k}] = {show(layer)}: must be a layer of complexa.nn, such as nn.Linear('h', 'h')"
                )
        self.layers = tuple(layers)

    def _values(self) -> tuple[object, ...]:
        return self.layers

    def children(self) -> tuple[Layer, ...]:
        return self.layers

    def output(self, width: Width | None, path: str) -> Width:
        if width is None:
            raise ComplexaError(
                f"layer {path} ({self!r}): a network cannot start with a Residual; start it with a layer that fixes "
                "its input width, such as Linear"
            )
        inner: Width = width
        for k, layer in enumerate(self.layers):
            inner = layer.output(inner, f"{path}.{k}")
        if not same(inner.size, width.size):
            raise ComplexaError(
                f"layer {path} ({self!r}) must keep the width: it takes {width.size} from {width.source}, and its "
                f"body gives {inner.size}"
            )
        return Width(width.size, self, path)

    @property
    def has_parameters(self) -> bool:
        return any(layer.has_parameters for layer in self.layers)

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        return cost(forward(width, batch), error(width, batch) if input_grad else None)

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        # The output; a copy of the gradient for the body (which may change it in place) and, when computed, dx.
        return batch * width, batch * width * (2 if input_grad else 1)

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Residual:
        return Residual(*(layer.xreplace(mapping) for layer in self.layers))

    def __repr__(self) -> str:
        return f"Residual({', '.join(map(repr, self.layers))})"
