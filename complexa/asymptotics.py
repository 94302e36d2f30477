"""`big_o`: the dominant terms of a count as every symbol grows without bound, exactly and fast.

sympy's multivariate ``O()`` is slow and can be wrong. A count is a polynomial with a positive leading behaviour in
every direction, and symbols that are positive integers (so at least 1): a monomial that divides another is never
larger than it. Keeping the monomials no other monomial dominates (the maximal ones under divisibility) gives the
exact big-O class, ``O(L*n**2 + n**3)`` when neither term dominates the other.
"""

from __future__ import annotations

import sympy

from complexa._validate import as_expr, as_values
from complexa.errors import ComplexaError

__all__ = ["big_o", "dominant_terms", "make_order"]


def dominant_terms(expr: sympy.Expr) -> sympy.Expr:
    """The sum of the maximal monomials of the polynomial `expr`, coefficients dropped.

    **Raises:** `ComplexaError` when `expr` is not a polynomial, or when a maximal monomial has a negative coefficient
    (the expression then becomes negative as its symbols grow, which no count does).

    >>> from complexa._parse import parse
    >>> dominant_terms(parse("3*L*n^2 + n^3 + 5*n^2 + 7"))
    L*n**2 + n**3
    """
    if isinstance(expr, sympy.Expr) and expr.has(sympy.Sum):
        expr = expr.doit()
    symbols = sorted(expr.free_symbols, key=str)
    if not symbols:
        if expr.is_number and expr.is_nonnegative:
            return sympy.Integer(1)
        raise ComplexaError(f"{expr}: a big-O needs a polynomial, and this is not a non-negative number")
    try:
        poly = sympy.Poly(expr, *symbols)
    except sympy.PolynomialError:
        poly = None
    if poly is None or not all(c.is_Rational for c in poly.coeffs()):
        raise ComplexaError(f"{expr}: a big-O needs a polynomial in its symbols with rational coefficients")
    terms = poly.terms()
    maximal = [
        (monom, coeff)
        for monom, coeff in terms
        if not any(other != monom and all(o >= m for o, m in zip(other, monom)) for other, _ in terms)
    ]
    negative = [coeff for _, coeff in maximal if coeff < 0]
    if negative:
        raise ComplexaError(f"{expr}: a dominant term has a negative coefficient, so this is not a count")
    return sympy.Add(*[sympy.Mul(*[s**e for s, e in zip(symbols, monom)]) for monom, _ in maximal])


def make_order(dominant: sympy.Expr) -> sympy.Order:
    """``O(dominant)`` as every symbol tends to infinity, built without sympy's slow multivariate simplification."""
    symbols = sorted(dominant.free_symbols, key=str)
    if not symbols:
        return sympy.Order(sympy.Integer(1))
    # `dominant` is already the canonical sum of maximal monomials; Order's constructor would only redo that, slowly.
    return sympy.Expr.__new__(sympy.Order, dominant, *[sympy.Tuple(s, sympy.oo) for s in symbols])


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
        raise ComplexaError(f"expr = {expr!r}: big_o takes a sympy expression or an int")
    value = sympy.Integer(expr) if isinstance(expr, int) else expr
    if substitutions:
        value = value.xreplace(as_values(substitutions, value.free_symbols, "big_o", convert=as_expr))
    return make_order(dominant_terms(value))
