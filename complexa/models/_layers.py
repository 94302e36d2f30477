"""One way for a cost model to read layer sizes and sum over layers, whatever the network looks like.

A model is written once, against `Layers`, and gives three things depending on which `Layers` it is handed:

- `ConcreteLayers`: a network with a list of sizes; sums are added up term by term (in Python integers when every
  size is one, which is fast and exact; with `sympy.Add(*terms)` otherwise, never the quadratic built-in `sum`);
- `UniformLayers`: every layer of one width and a depth that may be a symbol; a sum over layers is its number of
  terms times the one summand, which is what ``Sum(...).doit()`` would give, computed directly;
- `GeneralLayers`: the textbook form, ``n^{(k)}`` for every size and ``Sum`` with symbolic bounds, for the steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sympy

from complexa._poly import add

__all__ = ["Value", "Layers", "ConcreteLayers", "UniformLayers", "GeneralLayers", "LayerSize", "K", "L_SYMBOL"]

Value = Any
"""What a model computes with: a Python int, an element of a polynomial ring (`complexa._poly`) or a sympy
expression; all three have exact ``+ - *``."""

K = sympy.Symbol("k", integer=True)
"""The layer index of the general form."""
L_SYMBOL = sympy.Symbol("L", positive=True, integer=True)
"""The depth of the general form: the index of the output layer."""


class LayerSize(sympy.Function):
    """``n^{(k)}``: the number of neurons in layer k, as the essay writes it."""

    is_integer = True
    is_positive = True

    def _latex(self, printer: sympy.printing.latex.LatexPrinter) -> str:
        return rf"n^{{({printer._print(self.args[0])})}}"

    def _sympystr(self, printer: sympy.printing.str.StrPrinter) -> str:
        return f"n[{printer._print(self.args[0])}]"


class Layers:
    """Sizes n_0..n_L of a network and sums over its layers."""

    depth: Value
    """L, the index of the output layer."""

    def n(self, k: Value) -> Value:
        """n_k; `k` may count back from the depth (``layers.depth - 1``)."""
        raise NotImplementedError

    def total(self, lo: int, hi: int, term: Callable[[Value], Value]) -> Value:
        """The sum of ``term(k)`` for k = `lo` .. L + `hi` (`hi` is 0 or negative)."""
        raise NotImplementedError

    def totals(self, lo: int, hi: int, rule: Callable[[Value], dict[str, Value]]) -> dict[str, Value]:
        """Op by op, the sum of ``rule(k)`` for k = `lo` .. L + `hi`: a kind's cost rule summed over layers."""
        raise NotImplementedError


class ConcreteLayers(Layers):
    def __init__(self, sizes: Sequence[Value]) -> None:
        self.sizes = list(sizes)
        self.depth = len(sizes) - 1

    def n(self, k: Value) -> Value:
        return self.sizes[k]  # k is an int here: the sums run over range()

    def total(self, lo: int, hi: int, term: Callable[[Value], Value]) -> Value:
        return add([term(k) for k in range(lo, int(self.depth) + hi + 1)])

    def totals(self, lo: int, hi: int, rule: Callable[[Value], dict[str, Value]]) -> dict[str, Value]:
        # One call of the rule per layer, its ops gathered as it goes: a 10,000-layer network is 10,000 calls. Python
        # ints are added as they come; polynomials are kept for one `add` at the end (adding them one at a time would
        # copy the growing sum every time).
        whole: dict[str, int] = {}
        columns: dict[str, list[Value]] = {}
        for k in range(lo, int(self.depth) + hi + 1):
            for op, value in rule(k).items():
                if type(value) is int:
                    whole[op] = whole.get(op, 0) + value
                else:
                    columns.setdefault(op, []).append(value)
        ops = dict.fromkeys([*whole, *columns])
        return {op: add([*columns.get(op, ()), whole[op]]) if op in whole else add(columns[op]) for op in ops}


class UniformLayers(Layers):
    def __init__(self, width: Value, depth: Value) -> None:
        self.width = width
        self.depth = depth

    def n(self, k: Value) -> Value:
        return self.width

    def total(self, lo: int, hi: int, term: Callable[[Value], Value]) -> Value:
        # The summand does not depend on k; the number of terms, L + hi - lo + 1, is never negative for L >= 1.
        return (self.depth + (hi - lo + 1)) * term(K)

    def totals(self, lo: int, hi: int, rule: Callable[[Value], dict[str, Value]]) -> dict[str, Value]:
        count = self.depth + (hi - lo + 1)
        return {op: count * value for op, value in rule(K).items()}


class GeneralLayers(Layers):
    def __init__(self, depth: sympy.Expr = L_SYMBOL) -> None:
        self.depth = depth

    def n(self, k: Value) -> Value:
        return LayerSize(k)

    def total(self, lo: int, hi: int, term: Callable[[Value], Value]) -> Value:
        # Factors that do not depend on k (the batch, say) stand before the sum, as one writes it.
        outside, inside = sympy.sympify(term(K)).as_independent(K, as_Add=False)
        return outside * sympy.Sum(inside, (K, lo, self.depth + hi))

    def totals(self, lo: int, hi: int, rule: Callable[[Value], dict[str, Value]]) -> dict[str, Value]:
        return {op: self.total(lo, hi, _constant(value)) for op, value in rule(K).items()}


def _constant(value: Value) -> Callable[[Value], Value]:
    """A summand already written in `K`."""
    return lambda k: value
