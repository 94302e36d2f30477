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

import math
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy
from sympy.core.basic import ordering_of_classes

from complexa._limits import MAX_DEGREE, MAX_DEPTH, MAX_DIGITS, MAX_TERMS, MAX_WORK, digits, show
from complexa.errors import ComplexaError

__all__ = ["Converter", "Expander", "Polynomial", "add", "recall", "symbol", "to_expr"]

Monomial = tuple[tuple[int, int], ...]
Scalar = int | Fraction


@lru_cache(maxsize=4096)
def symbol(name: str) -> sympy.Symbol:
    """The complexa symbol called `name`: a positive integer, the same object for the same name."""
    return sympy.Symbol(name, positive=True, integer=True)


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
            if other == 1:  # polynomials are never changed in place: the same one serves
                return self
            return Polynomial(self.symbols, {m: c * other for m, c in self.terms.items()} if other else {})
        if not isinstance(other, Polynomial):
            return NotImplemented
        return Polynomial(self.symbols, _product(self.terms, other.terms))

    __rmul__ = __mul__

    def __pow__(self, exponent: int) -> Polynomial:
        result = Polynomial(self.symbols, {(): 1})
        for _ in range(exponent):
            result = result * self
        return result

    @property
    def degree(self) -> int:
        """The total degree; 0 for a constant (and for zero)."""
        return max((sum(e for _, e in m) for m in self.terms), default=0)

    def constant(self) -> Scalar | None:
        """The value of a constant polynomial, or None when it has a symbol."""
        if not self.terms:
            return 0
        if len(self.terms) == 1 and () in self.terms:
            return self.terms[()]
        return None


def _product(a: dict[Monomial, Scalar], b: dict[Monomial, Scalar]) -> dict[Monomial, Scalar]:
    """The terms of the product, len(a) * len(b) monomial products."""
    if len(a) == 1 and len(b) == 1:  # a monomial times a monomial, as sizes multiply: no dict of exponents
        ((m1, c1),) = a.items()
        ((m2, c2),) = b.items()
        if not m1 or not m2:
            return {m1 or m2: c1 * c2}
        merged = dict(m1)
        for i, e in m2:
            merged[i] = merged.get(i, 0) + e
        return {tuple(sorted(merged.items())): c1 * c2}
    out: dict[Monomial, Scalar] = {}
    get = out.get
    for m1, c1 in a.items():
        exps1 = dict(m1)
        for m2, c2 in b.items():
            if not m2:
                monom = m1
            elif not m1:
                monom = m2
            else:
                exps = exps1.copy()
                for i, e in m2:
                    exps[i] = exps.get(i, 0) + e
                monom = tuple(sorted(exps.items()))
            out[monom] = get(monom, 0) + c1 * c2
    return {m: c for m, c in out.items() if c}


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
    """An int, a `Polynomial` or an expression as a sympy expression, expanded: the very expression (arguments in the
    same order) that ``sympy.expand`` builds, without sympy's slow flattening and comparisons."""
    if isinstance(value, (int, Fraction)):
        return _number(value)
    if not isinstance(value, Polynomial):
        return value
    numbers: list[sympy.Expr] = []
    keyed: list[tuple[tuple[Any, ...], sympy.Expr]] = []
    known = getattr(value.symbols, "parts", None)  # the monomials already built over these symbols
    for monom, coeff in value.terms.items():
        if not monom:
            numbers.append(_number(coeff))
            continue
        parts = known.get(monom) if known is not None else None
        if parts is None:
            parts = _monomial_parts(tuple((value.symbols[i], e) for i, e in monom))
            if known is not None:
                known[monom] = parts
        args, keys, product = parts
        if coeff == 1:
            keyed.append((keys[0] if len(args) == 1 else (_MUL, len(args), keys), product))
        else:
            term = sympy.Mul._from_args((_number(coeff), *args), True)
            keyed.append(((_MUL, len(args) + 1, (_number_key(coeff), *keys)), term))
    if not keyed:
        return numbers[0] if numbers else sympy.Integer(0)
    # The arguments in sympy's canonical order, as Add(*terms) would sort them, without its slow flattening.
    keyed.sort(key=lambda item: item[0])
    args = numbers + [term for _, term in keyed]
    if len(args) == 1:
        return args[0]
    expr = sympy.Add._from_args(args, True)
    if len(args) >= _REMEMBER_FROM:
        _remembered[expr] = value
        while len(_remembered) > _REMEMBERED:
            del _remembered[next(iter(_remembered))]
    return expr


# The polynomials of the last large expressions built, so that taking their big-O does not expand them again.
_REMEMBER_FROM = 64
_REMEMBERED = 256
_remembered: dict[sympy.Expr, Polynomial] = {}


def recall(expr: sympy.Expr) -> Polynomial | None:
    """The polynomial `to_expr` turned into `expr`, if it was large and recent; else None."""
    return _remembered.get(expr)


@lru_cache(maxsize=65536)
def _monomial_parts(
    powers: tuple[tuple[sympy.Symbol, int], ...],
) -> tuple[tuple[sympy.Expr, ...], tuple[Any, ...], sympy.Expr]:
    """A monomial's factors in sympy's order, their keys, and the monomial itself."""
    factors = sorted(((_symbol_key(s) if e == 1 else _power_key(s, e)), s, e) for s, e in powers)
    args = tuple(s if e == 1 else sympy.Pow(s, e) for _, s, e in factors)
    keys = tuple(key for key, _, _ in factors)
    return args, keys, args[0] if len(args) == 1 else sympy.Mul._from_args(args, True)


# Keys that order a sum's terms and a product's factors as sympy's ``Basic.compare`` does (by class, as in sympy's
# ``ordering_of_classes``, then by the length and the items of ``_hashable_content``), computed without it for the
# shapes a polynomial has: numbers, symbols, symbols to integer powers, and their products.
def _rank(name: str) -> int:
    return ordering_of_classes.index(name)


_INTEGER, _RATIONAL, _POW, _MUL = _rank("Integer"), _rank("Rational"), _rank("Pow"), _rank("Mul")
_NEGATIVE_ONE, _HALF = _rank("NegativeOne"), _rank("Half")


@lru_cache(maxsize=65536)
def _symbol_key(s: sympy.Symbol) -> tuple[Any, ...]:
    content = s._hashable_content()
    return (_rank("Symbol"), len(content), content)


@lru_cache(maxsize=65536)
def _power_key(s: sympy.Symbol, exponent: int) -> tuple[Any, ...]:
    return (_POW, 2, (_symbol_key(s), (_INTEGER, 1, (exponent,))))


def _number_key(number: Scalar) -> tuple[Any, ...]:
    if isinstance(number, int) or number.denominator == 1:
        p = int(number)
        return (_NEGATIVE_ONE if p == -1 else _INTEGER, 1, (p,))
    p, q = number.numerator, number.denominator
    return (_HALF if (p, q) == (1, 2) else _RATIONAL, 2, (p, q))


class _Symbols(list[sympy.Symbol]):
    """The symbols of one expander's polynomials, and the sympy monomials already built over them."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        super().__init__()
        self.parts: dict[Monomial, Any] = {}


class Expander:
    """Exact polynomial arithmetic that refuses, before doing it, any step past the grammar's limits
    (`complexa._limits`): too many term products, too many terms, too high a degree, too many digits.

    **Arguments:**

    - `symbols`: every symbol the expressions may hold; looked up by name, so that ``Symbol("h")`` and complexa's
      positive-integer ``h`` are one symbol.
    - `fail`: makes the error for a reason, such as ``"expands to more than 100,000 terms"``.
    """

    def __init__(self, symbols: Iterable[sympy.Symbol], fail: Callable[[str], Exception]) -> None:
        self.symbols = _Symbols()
        self.index: dict[str, int] = {}
        for s in symbols:
            self._register(s.name)
        self.fail = fail
        self.work = MAX_WORK

    def _register(self, name: str) -> int:
        # Symbols met later join the list that every polynomial of this expander shares.
        index = self.index.get(name)
        if index is None:
            index = self.index[name] = len(self.symbols)
            self.symbols.append(symbol(name))
        return index

    def number(self, value: Scalar) -> Polynomial:
        self._check_digits(value)
        return Polynomial(self.symbols, {(): value} if value else {})

    def variable(self, name: str) -> Polynomial:
        return Polynomial(self.symbols, {((self._register(name), 1),): 1})

    def total(self, terms: Sequence[Polynomial]) -> Polynomial:
        return self._checked(add(terms))

    def mul(self, a: Polynomial, b: Polynomial) -> Polynomial:
        self._charge(len(a.terms) * len(b.terms))
        if a.degree + b.degree > MAX_DEGREE:
            raise self.fail(f"has a degree above {MAX_DEGREE}")
        return self._checked(a * b)

    def div(self, a: Polynomial, b: Polynomial) -> Polynomial:
        divisor = b.constant()
        if divisor is None:
            raise self.fail("divides by an expression in symbols; a size is a polynomial, so divide by numbers only")
        if divisor == 0:
            raise self.fail("division by zero")
        return self._checked(a * (Fraction(1) / divisor))

    def power(self, base: Polynomial, exponent: int) -> Polynomial:
        if not 0 <= exponent <= MAX_DEGREE:
            raise self.fail(f"an exponent must be an integer from 0 to {MAX_DEGREE}, not {show(exponent)}")
        value = base.constant()
        if value is not None:
            # value ** exponent has more than (digits - 1) * exponent digits: refuse before computing it.
            if value != 0 and (_digits(value) - 1) * exponent >= MAX_DIGITS:
                raise self.fail(f"a number has more than {MAX_DIGITS} digits")
            return self.number(value**exponent)
        if base.degree * exponent > MAX_DEGREE:
            raise self.fail(f"has a degree above {MAX_DEGREE}")
        self._charge(_power_work(base, exponent, self.work))
        result = Polynomial(self.symbols, {(): 1})
        for _ in range(exponent):
            result = self._checked(result * base)
        return result

    def _charge(self, products: int) -> None:
        if products > self.work:
            raise self.fail(f"expands to more than {MAX_WORK:,} products of terms; write a smaller expression")
        self.work -= products

    def _checked(self, value: Polynomial) -> Polynomial:
        if len(value.terms) > MAX_TERMS:
            raise self.fail(f"expands to more than {MAX_TERMS:,} terms")
        for coeff in value.terms.values():
            self._check_digits(coeff)
        return value

    def _check_digits(self, value: Scalar) -> None:
        if _digits(value) > MAX_DIGITS:
            raise self.fail(f"a number has more than {MAX_DIGITS} digits")

    def expand(self, expr: sympy.Basic) -> Polynomial:
        """The sympy expression `expr` as a polynomial, expanded within the limits."""
        try:
            return self._expand(expr)
        except RecursionError:
            raise self.fail(f"is nested more than {MAX_DEPTH} levels deep") from None

    def _monomial(self, expr: sympy.Mul) -> Polynomial | None:
        """A number times symbols to non-negative integer powers, read off directly (most terms of a count are);
        None for any other product."""
        coeff: Scalar = 1
        exps: dict[int, int] = {}
        for i, factor in enumerate(expr.args):
            if i == 0 and isinstance(factor, sympy.Rational):
                coeff = int(factor.p) if factor.q == 1 else Fraction(int(factor.p), int(factor.q))
                continue
            base, exponent = (factor.base, factor.exp) if isinstance(factor, sympy.Pow) else (factor, sympy.S.One)
            if not (
                isinstance(base, sympy.Symbol)
                and not isinstance(base, (sympy.Dummy, sympy.Wild))
                and isinstance(exponent, sympy.Integer)
                and exponent.p >= 0
            ):
                return None
            index = self._register(base.name)
            exps[index] = exps.get(index, 0) + int(exponent)
        if sum(exps.values()) > MAX_DEGREE:
            raise self.fail(f"has a degree above {MAX_DEGREE}")
        return self.number(coeff) * Polynomial(self.symbols, {tuple(sorted(exps.items())): 1})

    def _expand(self, expr: sympy.Basic) -> Polynomial:
        if isinstance(expr, sympy.Rational):
            return self.number(int(expr.p) if expr.q == 1 else Fraction(int(expr.p), int(expr.q)))
        if isinstance(expr, sympy.Symbol) and not isinstance(expr, (sympy.Dummy, sympy.Wild)):
            return self.variable(expr.name)
        if isinstance(expr, sympy.Add):
            return self.total([self._expand(arg) for arg in expr.args])
        if isinstance(expr, sympy.Mul):
            monomial = self._monomial(expr)
            if monomial is not None:
                return monomial
            product = self._expand(expr.args[0])
            for arg in expr.args[1:]:
                product = self.mul(product, self._expand(arg))
            return product
        if isinstance(expr, sympy.Sum):
            return self._expand(expr.doit())
        if isinstance(expr, sympy.Pow) and isinstance(expr.exp, sympy.Integer):
            base = self._expand(expr.base)
            if expr.exp >= 0:
                return self.power(base, int(expr.exp))
            if base.constant():
                return self.div(self.number(1), self.power(base, -int(expr.exp)))
        kind = "the float " if isinstance(expr, sympy.Float) else ""
        raise self.fail(f"must be a polynomial with rational coefficients (it holds {kind}{show(expr)})")


def _digits(value: Scalar) -> int:
    if isinstance(value, Fraction):
        return max(digits(value.numerator), digits(value.denominator))
    return digits(value)


def _power_work(base: Polynomial, exponent: int, budget: int) -> int:
    """An upper bound on the term products of ``base ** exponent`` by repeated multiplication, or `budget` + 1.

    The k-th power has at most C(t + k - 1, k) terms (t the terms of `base`: a multiset of k of them), and at most
    C(v + k d, v) (v its symbols, d its degree: the monomials of degree at most k d); each step multiplies one power
    by `base`.
    """
    t = len(base.terms)
    v = len({i for monom in base.terms for i, _ in monom})
    d = base.degree
    work = 0
    for k in range(1, exponent):
        work += t * min(math.comb(t + k - 1, k), math.comb(v + k * d, v))
        if work > budget:
            return budget + 1
    return work


class Converter:
    """Sizes in, ints or `Polynomial`s out, over one set of symbols."""

    def __init__(self, symbols: Iterable[sympy.Symbol]) -> None:
        self._expander = Expander(symbols, lambda why: ComplexaError(why))
        self.symbols = self._expander.symbols

    def __call__(self, expr: sympy.Expr) -> Any:
        if expr.is_Integer:
            return int(expr)
        return self._expander.expand(expr)
