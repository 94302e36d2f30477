"""`LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True)` over the last dimension, as `torch.nn.LayerNorm`,
and `RMSNorm(d, eps=1e-6)`, as Llama's (Hugging Face's ``LlamaRMSNorm``).

Per sample of n features, as the kernels compute it (docs/counting.md has the table):

- forward: mean = (sum x) / n (n - 1 add, 1 div); xc = x - mean (n add); var = (sum xc^2) / n (n mul, n - 1 add,
  1 div); rstd = 1 / sqrt(var + eps) (1 add, 1 sqrt, 1 div); xhat = xc rstd (n mul); with the affine parameters
  y = xhat w + b (n mul, n add). xhat and rstd are kept for the backward pass.
- error: g = dy w (n mul, affine only); s1 = sum g (n - 1 add), s2 = sum g xhat (n mul, n - 1 add); m1 = s1 / n,
  m2 = s2 / n (2 div); dx = (g - m1 - xhat m2) rstd (2 n mul, 2 n add).
- gradients (affine only): dw = sum over the batch of dy xhat (B n mul, (B - 1) n add), db = sum of dy
  ((B - 1) n add).

RMSNorm, per row of n features, y = w x / sqrt(mean(x^2) + eps), as Hugging Face's ``LlamaRMSNorm``:

- forward: ms = (sum x^2) / n (n mul, n - 1 add, 1 div); rstd = 1 / sqrt(ms + eps) (1 add, 1 sqrt, 1 div);
  xhat = x rstd (n mul); y = w xhat (n mul): 3 n mul, n add, 2 div, 1 sqrt. xhat and rstd are kept.
- error: g = dy w (n mul); s = sum g xhat (n mul, n - 1 add); m = s / n (1 div); dx = (g - xhat m) rstd (2 n mul,
  n add): 4 n mul, 2 n - 1 add, 1 div.
- gradients: dw = sum over the B rows of dy xhat (B n mul, (B - 1) n add).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import sympy

from complexa._limits import show
from complexa._validate import as_flag
from complexa.errors import ComplexaError
from complexa.models._layers import Value
from complexa.nn._base import Convert, Cost, Layer, Width, cost, replaced, same, size

__all__ = ["LayerNorm", "RMSNorm", "forward", "error", "gradients", "rms_forward", "rms_error", "rms_gradients"]


def forward(n: Value, batch: Value, affine: bool) -> dict[str, Value]:
    a = int(affine)
    return {"mul": batch * (2 + a) * n, "add": batch * ((3 + a) * n - 1), "div": 3 * batch, "sqrt": batch}


def error(n: Value, batch: Value, affine: bool) -> dict[str, Value]:
    return {"mul": batch * (3 + int(affine)) * n, "add": batch * (4 * n - 2), "div": 2 * batch}


def gradients(n: Value, batch: Value, affine: bool) -> dict[str, Value]:
    if not affine:
        return {}
    return {"mul": batch * n, "add": 2 * (batch - 1) * n}


def rms_forward(n: Value, batch: Value) -> dict[str, Value]:
    return {"mul": batch * 3 * n, "add": batch * n, "sqrt": batch, "div": batch * 2}


def rms_error(n: Value, batch: Value) -> dict[str, Value]:
    return {"mul": batch * 4 * n, "add": batch * (2 * n - 1), "div": batch}


def rms_gradients(n: Value, batch: Value) -> dict[str, Value]:
    return {"mul": batch * n, "add": (batch - 1) * n}


class LayerNorm(Layer):
    """Normalisation over the last dimension, as `torch.nn.LayerNorm` with one normalized dimension.

    >>> LayerNorm("h")
    LayerNorm(h)
    """

    kind = "LayerNorm"
    uses = ("div", "sqrt")
    normalized_shape: sympy.Expr
    eps: float
    elementwise_affine: bool
    _fields = ("normalized_shape", "eps", "elementwise_affine")

    def __init__(self, normalized_shape: object, eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        if isinstance(normalized_shape, (tuple, list)):
            if len(normalized_shape) != 1:
                raise ComplexaError(
                    f"LayerNorm(normalized_shape) = {show(normalized_shape)}: complexa normalises over the last "
                    "dimension only; give one size"
                )
            (normalized_shape,) = normalized_shape
        self.normalized_shape = size(normalized_shape, "LayerNorm", "normalized_shape")
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (math.isfinite(eps) and eps > 0):
            raise ComplexaError(f"LayerNorm(eps) = {show(eps)}: must be a positive finite number, such as 1e-5")
        self.eps = float(eps)
        self.elementwise_affine = as_flag(elementwise_affine, "LayerNorm(elementwise_affine)")

    def output(self, width: Width | None, path: str) -> Width:
        if width is not None and not same(width.size, self.normalized_shape):
            raise ComplexaError(
                f"layer {path} ({self!r}) normalises {self.normalized_shape} features, but {width.source} gives "
                f"{width.size}"
            )
        return Width(self.normalized_shape, self, path)

    def parameters(self, width: sympy.Expr) -> list[tuple[str, tuple[sympy.Expr, ...]]]:
        if not self.elementwise_affine:
            return []
        return [("weight", (self.normalized_shape,)), ("bias", (self.normalized_shape,))]

    @property
    def has_parameters(self) -> bool:
        return self.elementwise_affine

    @property
    def fixed_input(self) -> sympy.Expr:
        return self.normalized_shape

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        n, a = convert(self.normalized_shape), self.elementwise_affine
        return cost(forward(n, batch, a), error(n, batch, a) if input_grad else None, gradients(n, batch, a))

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        n = convert(self.normalized_shape)
        # xhat, rstd and the output; dx and one row of g = dy w.
        return 2 * batch * n + batch, (batch * n + n) if input_grad else 0

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> LayerNorm:
        shape = replaced(self.normalized_shape, mapping, "LayerNorm(normalized_shape)")
        return LayerNorm(shape, self.eps, self.elementwise_affine)

    def __repr__(self) -> str:
        extra = "" if self.eps == 1e-5 else f", eps={self.eps!r}"
        extra += "" if self.elementwise_affine else ", elementwise_affine=False"
        return f"LayerNorm({self.normalized_shape}{extra})"


class RMSNorm(Layer):
    """Root-mean-square normalisation over the last dimension with a learned scale `weight`, as Llama's
    (Hugging Face's ``LlamaRMSNorm``, ``torch.nn.RMSNorm``): y = w x / sqrt(mean(x^2) + eps).

    >>> RMSNorm("d")
    RMSNorm(d)
    """

    kind = "RMSNorm"
    uses = ("div", "sqrt")
    normalized_shape: sympy.Expr
    eps: float
    _fields = ("normalized_shape", "eps")

    def __init__(self, d: object, eps: float = 1e-6) -> None:
        self.normalized_shape = size(d, "RMSNorm", "d")
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (math.isfinite(eps) and eps > 0):
            raise ComplexaError(f"RMSNorm(eps) = {show(eps)}: must be a positive finite number, such as 1e-6")
        self.eps = float(eps)

    @property
    def d(self) -> sympy.Expr:
        """The features normalised (its argument `d`)."""
        return self.normalized_shape

    def output(self, width: Width | None, path: str) -> Width:
        if width is not None and not same(width.size, self.normalized_shape):
            raise ComplexaError(
                f"layer {path} ({self!r}) normalises {self.normalized_shape} features, but {width.source} gives "
                f"{width.size}"
            )
        return Width(self.normalized_shape, self, path)

    def parameters(self, width: sympy.Expr) -> list[tuple[str, tuple[sympy.Expr, ...]]]:
        return [("weight", (self.normalized_shape,))]

    @property
    def has_parameters(self) -> bool:
        return True

    @property
    def fixed_input(self) -> sympy.Expr:
        return self.normalized_shape

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        n = convert(self.normalized_shape)
        return cost(rms_forward(n, batch), rms_error(n, batch) if input_grad else None, rms_gradients(n, batch))

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        n = convert(self.normalized_shape)
        # xhat, rstd and the output; dx and one row of g = dy w.
        return batch * (2 * n + 1), (batch * n + n) if input_grad else 0

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> RMSNorm:
        return RMSNorm(replaced(self.normalized_shape, mapping, "RMSNorm(d)"), self.eps)

    def __repr__(self) -> str:
        extra = "" if self.eps == 1e-6 else f", eps={self.eps!r}"
        return f"RMSNorm({self.normalized_shape}{extra})"
