"""`big_o`: the dominant terms of a count as every symbol grows without bound, exactly and fast.

sympy's multivariate ``O()`` is slow and can be wrong. A count is a polynomial with a positive leading behaviour in
every direction, and symbols that are positive integers (so at least 1): a monomial that divides another is never
larger than it. Keeping the monomials no other monomial dominates (the maximal ones under divisibility) gives the
exact big-O class, ``O(L*n**2 + n**3)`` when neither term dominates the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import sympy

from complexa._limits import check_tree, show
from complexa._poly import Expander, Polynomial, recall, to_expr
from complexa._validate import as_size, as_values
from complexa.errors import ComplexaError

__all__ = ["big_o", "dominant_terms", "make_order", "order_under", "symbol_names"]


def dominant_terms(expr: sympy.Expr) -> sympy.Expr:
    """The sum of the maximal monomials of the polynomial `expr`, coefficients dropped.

    Symbols are complexa's by name, so ``Symbol("x")`` and a positive-integer ``x`` are one symbol. The time taken
    grows with the number of terms, not of symbols: thousands of symbolic layers take milliseconds.

    **Raises:** `ComplexaError` when `expr` is not a polynomial within the grammar's limits, or when a maximal
    monomial has a negative coefficient (the expression then becomes negative as its symbols grow, which no count
    does).

    >>> from complexa._parse import parse
    >>> dominant_terms(parse("3*L*n^2 + n^3 + 5*n^2 + 7"))
    L*n**2 + n**3
    """
    poly = recall(expr) or Expander((), lambda why: _not_a_count(expr, f"a big-O needs a polynomial: {why}")).expand(
        expr
    )
    if not poly.terms:
        return sympy.Integer(1)
    maximal = _maximal(list(poly.terms))
    if any(poly.terms[monom] < 0 for monom in maximal):
        raise _not_a_count(expr, "a dominant term has a negative coefficient, so this is not a count")
    if maximal == [()]:
        return sympy.Integer(1)
    return to_expr(Polynomial(poly.symbols, dict.fromkeys(maximal, 1)))


def _not_a_count(expr: sympy.Expr, why: str) -> ComplexaError:
    return ComplexaError(f"{show(expr)}: {why}")


Monomial = tuple[tuple[int, int], ...]

MAX_DOMINANCE_WORK = 5_000_000
"""The most steps `_maximal` takes (divisors listed, or pairs of monomials compared): seconds. Past it the count is
refused rather than worked on for hours; no count within the grammar's limits has come near it."""


def _maximal(monomials: list[Monomial]) -> list[Monomial]:
    """The monomials that divide no other one.

    A monomial divides only monomials of a higher total degree, so those of the highest degree are maximal at once.
    For the others, the divisors of the monomials above them are listed degree by degree, down to the lowest degree
    to test: a monomial is dominated when it is one of them. That takes time in proportion to the divisors, whatever
    the symbols the terms share (``(a0+...+a15)(b0+...+b15)(z0+...+z15)(t0+...+t15)``: 65,536 terms, each symbol in
    4,096). Where high powers make the divisors too many, the monomials holding a monomial's rarest symbol are
    compared with it instead, which is near linear when each symbol is in a few terms (thousands of layers).
    """
    if len(monomials) == 1:
        return list(monomials)
    by_degree: dict[int, list[Monomial]] = {}
    for monom in monomials:
        by_degree.setdefault(sum(e for _, e in monom), []).append(monom)
    degrees = sorted(by_degree, reverse=True)
    if len(degrees) == 1:
        return list(monomials)  # distinct monomials of one degree: none divides another
    dominated = _dominated_by_divisors(by_degree, degrees)
    if dominated is None:
        dominated = _dominated_by_comparison(monomials)
    return [m for m in monomials if m not in dominated]


def _dominated_by_divisors(by_degree: dict[int, list[Monomial]], degrees: list[int]) -> set[Monomial] | None:
    """The monomials that divide another, found by listing the divisors degree by degree; None past the budget."""
    dominated: set[Monomial] = set()
    above: set[Monomial] = set()  # the divisors of degree d of the monomials of degree > d, for the d at hand
    lowest, work = degrees[-1], 0
    for d in range(degrees[0], lowest - 1, -1):
        here = by_degree.get(d, [])
        dominated.update(m for m in here if m in above)
        if d == lowest:
            break
        below: set[Monomial] = set()
        for monom in above.union(here):
            work += len(monom)
            if work > MAX_DOMINANCE_WORK:
                return None
            for k, (i, e) in enumerate(monom):
                below.add((*monom[:k], (i, e - 1), *monom[k + 1 :]) if e > 1 else monom[:k] + monom[k + 1 :])
        above = below
    return dominated


def _dominated_by_comparison(monomials: list[Monomial]) -> set[Monomial]:
    """The monomials that divide another, each compared with those holding its rarest symbol."""
    holding: dict[int, list[dict[int, int]]] = {}
    as_dicts = [dict(m) for m in monomials]
    for exps in as_dicts:
        for i in exps:
            holding.setdefault(i, []).append(exps)
    work = sum(min((len(holding[i]) for i in exps), default=0) for exps in as_dicts)
    if work > MAX_DOMINANCE_WORK:
        raise ComplexaError(
            f"a count of {len(monomials):,} terms whose symbols are shared by many of them and raised to high powers: "
            f"finding its dominant terms would take {work:,} comparisons, more than big_o makes "
            f"({MAX_DOMINANCE_WORK:,}); substitute values for some symbols first"
        )
    out: set[Monomial] = set()
    for monom, exps in zip(monomials, as_dicts):
        if not exps:  # the constant divides every other monomial
            if len(monomials) > 1:
                out.add(monom)
            continue
        rarest = min(exps, key=lambda i: len(holding[i]))
        if any(other is not exps and all(other.get(i, 0) >= e for i, e in exps.items()) for other in holding[rarest]):
            out.add(monom)
    return out


def make_order(dominant: sympy.Expr) -> sympy.Order:
    """``O(dominant)`` as every symbol tends to infinity, built without sympy's slow multivariate simplification."""
    if isinstance(dominant, sympy.Add):  # a sum of monomials: its symbols without walking the whole tree
        names = {b for term in dominant.args for b in (term.args if isinstance(term, sympy.Mul) else (term,))}
        found = {b.base if isinstance(b, sympy.Pow) else b for b in names}
        symbols = sorted((s for s in found if isinstance(s, sympy.Symbol)), key=lambda s: s.name)
        if len(symbols) != len(found):
            symbols = sorted(dominant.free_symbols, key=lambda s: s.name)
    else:
        symbols = sorted(dominant.free_symbols, key=lambda s: s.name)
    if not symbols:
        return sympy.Order(sympy.Integer(1))
    # `dominant` is already the canonical sum of maximal monomials; Order's constructor would only redo that, slowly.
    return sympy.Expr.__new__(sympy.Order, dominant, *[_limit(s) for s in symbols])


def symbol_names(expr: sympy.Expr) -> set[str]:
    """The names of `expr`'s symbols, read off its polynomial when complexa built it (quicker than walking it)."""
    poly = recall(expr)
    if poly is not None:
        return {poly.symbols[i].name for monom in poly.terms for i, _ in monom}
    return {s.name for s in expr.free_symbols if isinstance(s, sympy.Symbol)}


def order_under(expr: sympy.Expr, assume: Mapping[str, object]) -> sympy.Order | None:
    """`big_o` of `expr` with those of `assume`'s substitutions whose names it has; None for a number."""
    names = symbol_names(expr)
    if not names:
        return None
    return big_o(expr, **{k: v for k, v in assume.items() if k in names})


@lru_cache(maxsize=4096)
def _limit(s: sympy.Symbol) -> sympy.Tuple:
    return sympy.Tuple(s, sympy.oo)


def big_o(expr: sympy.Expr | int, **substitutions: object) -> sympy.Order:
    """The big-O class of `expr` as every remaining symbol tends to infinity.

    **Arguments:**

    - `expr`: a count, a polynomial in positive-integer symbols (sums over layers with symbolic bounds are evaluated).
    - `substitutions`: symbol name -> value, applied first, e.g. ``L="n", T="n"`` for the essay's assumptions that
      the depth and the number of iterations equal the width. Each name must be a symbol of `expr`.

    **Returns:** a `sympy.Order` holding every non-dominated term, coefficients dropped.

    >>> from complexa._parse import parse
    >>> big_o(parse("(L - 1)*n^3 + n^2"), L="n")
    O(n**4, (n, oo))
    >>> big_o(parse("L*n^2 + n^3 + n"))
    O(L*n**2 + n**3, (L, oo), (n, oo))
    """
    if isinstance(expr, bool) or not isinstance(expr, (int, sympy.Expr)):
        raise ComplexaError(f"expr = {show(expr)}: big_o takes a sympy expression or an int")
    value = sympy.Integer(expr) if isinstance(expr, int) else expr
    if recall(value) is None:  # not a count complexa built: the user's own, perhaps deep or of shared parts
        check_tree(value, "expr")
    if substitutions:
        value = value.xreplace(as_values(substitutions, value.free_symbols, "big_o", convert=as_size))
    return make_order(dominant_terms(value))
