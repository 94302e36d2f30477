"""`Linear(in_features, out_features, bias=True)`: y = x W^T + b, as `torch.nn.Linear`.

Per sample, with m = in_features and n = out_features, a dot product of length m being m mul and m - 1 add:

- forward: n dot products of length m (n m mul, n (m - 1) add), and n add for the bias;
- error: x's gradient W^T dy, m dot products of length n (m n mul, m (n - 1) add);
- gradients, once for the batch: dW = sum over the batch of dy x^T (B n m mul, (B - 1) n m add), db = sum of dy
  ((B - 1) n add).
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from complexa._validate import as_flag
from complexa.errors import ComplexaError
from complexa.models._layers import Value
from complexa.nn._base import Convert, Cost, Layer, Width, cost, replaced, same, size

__all__ = ["Linear", "forward", "error", "gradients"]


# Each rule multiplies the sizes once (n m) and builds the rest from that product: the rules run once per layer of
# a 10,000-layer network, and a product of two polynomials costs more than a sum.


def forward(m: Value, n: Value, batch: Value, bias: bool) -> dict[str, Value]:
    """z = W x + b for `batch` samples: m inputs, n outputs: n dot products of length m, and the bias."""
    nm = n * m
    return {"mul": batch * nm, "add": batch * (nm if bias else nm - n)}


def error(m: Value, n: Value, batch: Value) -> dict[str, Value]:
    """dx = W^T dz for `batch` samples: m dot products of length n (its additions kept as m (n - 1), as the
    derivation's steps print them)."""
    return {"mul": batch * (n * m), "add": batch * (m * (n - 1))}


def gradients(m: Value, n: Value, batch: Value, bias: bool) -> dict[str, Value]:
    """dW and db, summed over `batch` samples: B products and B - 1 additions per weight, B - 1 per bias."""
    nm = n * m
    return {"mul": batch * nm, "add": (batch - 1) * (nm + n if bias else nm)}


class Linear(Layer):
    """A dense layer, as `torch.nn.Linear`: `in_features` and `out_features` are ints, symbols or grammar strings.

    >>> Linear(784, "h")
    Linear(784, h)
    """

    kind = "Linear"
    _fields = ("in_features", "out_features", "bias")

    def __init__(self, in_features: object, out_features: object, bias: bool = True) -> None:
        self.in_features = size(in_features, "Linear", "in_features")
        self.out_features = size(out_features, "Linear", "out_features")
        self.bias = as_flag(bias, "Linear(bias)")

    def output(self, width: Width | None, path: str) -> Width:
        if width is not None and not same(width.size, self.in_features):
            raise ComplexaError(
                f"layer {path} ({self!r}) takes {self.in_features} inputs, but {width.source} gives {width.size}"
            )
        return Width(self.out_features, self, path)

    def parameters(self, width: sympy.Expr) -> list[tuple[str, tuple[sympy.Expr, ...]]]:
        out: list[tuple[str, tuple[sympy.Expr, ...]]] = [("weight", (self.out_features, self.in_features))]
        if self.bias:
            out.append(("bias", (self.out_features,)))
        return out

    @property
    def has_parameters(self) -> bool:
        return True

    @property
    def fixed_input(self) -> sympy.Expr:
        return self.in_features

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        m, n = convert(self.in_features), convert(self.out_features)
        return cost(
            forward(m, n, batch, self.bias),
            error(m, n, batch) if input_grad else None,
            gradients(m, n, batch, self.bias),
        )

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        m, n = convert(self.in_features), convert(self.out_features)
        return batch * n, batch * m if input_grad else 0  # z; dx

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Linear:
        return Linear(
            replaced(self.in_features, mapping, "Linear(in_features)"),
            replaced(self.out_features, mapping, "Linear(out_features)"),
            self.bias,
        )

    def __repr__(self) -> str:
        extra = "" if self.bias else ", bias=False"
        return f"Linear({self.in_features}, {self.out_features}{extra})"
