"""Fast exact arithmetic for counts in many symbols: sparse polynomials, then one sympy expression.

Counting a network of 1,000 symbolic layers with sympy expressions means thousands of ``Add`` and ``Mul``
constructions, each re-sorting and re-checking assumptions, then ``expand``: seconds. sympy's polynomial rings are
no escape: their monomials are dense tuples, one entry per symbol, so every product costs a thousand steps. Counts
are sums of products of two or three sizes, so here a monomial is the short tuple of its (symbol, exponent) pairs
and a polynomial a dict from monomials to exact coefficients (int or `Fraction`). Turning a polynomial into a sympy
expression is done term by term in sympy's canonical order, which is what ``sympy.expand`` would build
(``tests/test_poly.py`` checks they are equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import sympy
from sympy.core.add import _addsort
from sympy.core.mul import _mulsort

__all__ = ["Converter", "Polynomial", "add", "to_expr"]

Monomial = tuple[tuple[int, int], ...]
Scalar = int | Fraction


class Polynomial:
    """A polynomial with exact coefficients over a fixed list of symbols; supports ``+ - *`` and ``**`` by ints."""

    __slots__ = ("symbols", "terms")

    def __init__(self, symbols: Sequence[sympy.Symbol], terms: dict[Monomial, Scalar]) -> None:
        self.symbols = symbols
        self.terms = terms

    def _coerce(self, other: object) -> dict[Monomial, Scalar] | None:
        if isinstance(other, Polynomial):
            return other.terms
        if isinstance(other, (int, Fraction)):
            return {(): other} if other else {}
        return None

    def __add__(self, other: object) -> Polynomial:
        terms = self._coerce(other)
        if terms is None:
            return NotImplemented
        out = dict(self.terms)
        for monom, coeff in terms.items():
            value = out.get(monom, 0) + coeff
            if value:
                out[monom] = value
            else:
                out.pop(monom, None)
        return Polynomial(self.symbols, out)

    __radd__ = __add__

    def __neg__(self) -> Polynomial:
        return Polynomial(self.symbols, {m: -c for m, c in self.terms.items()})

    def __sub__(self, other: object) -> Polynomial:
        if self._coerce(other) is None:
            return NotImplemented
        return self + (-other)  # type: ignore[operator]

    def __rsub__(self, other: object) -> Polynomial:
        return (-self) + other

    def __mul__(self, other: object) -> Polynomial:
        if isinstance(other, (int, Fraction)):
            return Polynomial(self.symbols, {m: c * other for m, c in self.terms.items()} if other else {})
        if not isinstance(other, Polynomial):
            return NotImplemented
        out: dict[Monomial, Scalar] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in other.terms.items():
                if not m1 or not m2:
                    monom = m1 or m2
                else:
                    exps = dict(m1)
                    for i, e in m2:
                        exps[i] = exps.get(i, 0) + e
                    monom = tuple(sorted(exps.items()))
                value = out.get(monom, 0) + c1 * c2
                if value:
                    out[monom] = value
                else:
                    out.pop(monom, None)
        return Polynomial(self.symbols, out)

    __rmul__ = __mul__

    def __pow__(self, exponent: int) -> Polynomial:
        result = Polynomial(self.symbols, {(): 1})
        for _ in range(exponent):
            result = result * self
        return result


def add(terms: Sequence[Any]) -> Any:
    """The sum of ints, polynomials or sympy expressions, in linear time (never the quadratic built-in ``sum``)."""
    if all(isinstance(t, int) for t in terms):
        return sum(terms)
    polys = [t for t in terms if isinstance(t, Polynomial)]
    if not polys or not all(isinstance(t, (int, Fraction, Polynomial)) for t in terms):
        return sympy.Add(*terms)
    out: dict[Monomial, Scalar] = {}
    for term in terms:
        items = term.terms.items() if isinstance(term, Polynomial) else [((), term)]
        for monom, coeff in items:
            out[monom] = out.get(monom, 0) + coeff
    return Polynomial(polys[0].symbols, {m: c for m, c in out.items() if c})


def _number(value: Scalar) -> sympy.Rational:
    if isinstance(value, int):
        return sympy.Integer(value)
    return sympy.Rational(value.numerator, value.denominator)


def to_expr(value: Any) -> sympy.Expr:
    """An int, a `Polynomial` or an expression as a sympy expression, expanded."""
    if isinstance(value, (int, Fraction)):
        return _number(value)
    if not isinstance(value, Polynomial):
        return value
    numbers: list[sympy.Expr] = []
    terms: list[sympy.Expr] = []
    for monom, coeff in value.terms.items():
        number = _number(coeff)
        if not monom:
            numbers.append(number)
            continue
        factors = [value.symbols[i] if e == 1 else sympy.Pow(value.symbols[i], e) for i, e in monom]
        _mulsort(factors)
        if number != 1:
            factors.insert(0, number)
        terms.append(sympy.Mul._from_args(factors) if len(factors) > 1 else factors[0])
    if not terms:
        return numbers[0] if numbers else sympy.Integer(0)
    # The arguments in sympy's canonical order, as Add(*terms) would sort them, without its slow flattening.
    _addsort(terms)
    args = numbers + terms
    return sympy.Add._from_args(args) if len(args) > 1 else args[0]


class Converter:
    """Sizes in, ints or `Polynomial`s out, over one set of symbols."""

    def __init__(self, symbols: Iterable[sympy.Symbol]) -> None:
        self.symbols = sorted(set(symbols), key=str)
        self._index = {s: i for i, s in enumerate(self.symbols)}

    def __call__(self, expr: sympy.Expr) -> Any:
        if expr.is_Integer:
            return int(expr)
        if expr in self._index:
            return Polynomial(self.symbols, {((self._index[expr], 1),): 1})
        local = sorted(expr.free_symbols, key=str)
        terms: dict[Monomial, Scalar] = {}
        for monom, coeff in sympy.Poly(expr, *local).terms():
            key = tuple(sorted((self._index[s], e) for s, e in zip(local, monom) if e))
            terms[key] = int(coeff) if coeff.is_Integer else Fraction(int(coeff.p), int(coeff.q))
        return Polynomial(self.symbols, terms)
