"""sympy's str and LaTeX printers, quick for the sums of thousands of terms that many symbolic layers give.

sympy orders the terms of a sum by comparing dense exponent vectors, one entry per symbol of the whole sum, and
prints each product through its general machinery: a count over 1,000 symbolic layers took seconds to print. A
count's terms are a number times a monomial in symbols, so here the same order is computed from each term's few
symbols, a str term is written directly, and a LaTeX term is printed by sympy once and remembered. Anything else
(functions, sums over layers, orders) goes to sympy's own methods. The text is sympy's, character for character
(``tests/test_printing.py`` checks it on random polynomials).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

__all__ = ["latex", "latex_terms", "sstr"]

_FAST_FROM = 8  # below this many terms sympy's own ordering is as quick, and it handles every special case

Split = tuple[sympy.Rational, tuple[tuple[str, int], ...]]


@lru_cache(maxsize=65536)
def _split(term: sympy.Expr) -> Split | None:
    """`term` as (coefficient, ((symbol name, exponent), ...) sorted by name), or None when it is not a rational
    number times a monomial in symbols."""
    if isinstance(term, sympy.Rational):
        return term, ()
    factors = term.args if isinstance(term, sympy.Mul) else (term,)
    coeff: sympy.Rational = sympy.S.One
    powers = []
    for i, factor in enumerate(factors):
        if i == 0 and isinstance(factor, sympy.Rational):
            coeff = factor
        elif isinstance(factor, sympy.Symbol):
            powers.append((factor.name, 1))
        elif isinstance(factor, sympy.Pow) and isinstance(factor.base, sympy.Symbol):
            exponent = factor.exp
            if not (isinstance(exponent, sympy.Integer) and exponent > 0):
                return None
            powers.append((factor.base.name, int(exponent)))
        else:
            return None
    powers.sort()
    return coeff, tuple(powers)


def _ordered(expr: sympy.Add) -> list[sympy.Expr] | None:
    """The terms of `expr` in the order sympy prints them, or None when a term is not a monomial."""
    keyed = []
    for term in expr.args:
        key = _order_key(term)
        if key is None:
            return None
        keyed.append((key, term))
    keyed.sort(key=lambda item: item[0])
    return [term for _, term in keyed]


@lru_cache(maxsize=65536)
def _order_key(term: sympy.Expr) -> tuple[tuple[Any, ...], ...] | None:
    # sympy sorts the symbols by name and the monomials by descending exponents, lexicographically: as these keys do,
    # an absent symbol ranking below any present one.
    split = _split(term)
    return None if split is None else (*((0, name, -e) for name, e in split[1]), (1,))


class _Fast:
    def _as_ordered_terms(self, expr: Any, order: Any = None) -> Any:
        if order is None and isinstance(expr, sympy.Add) and len(expr.args) >= _FAST_FROM:
            terms = _ordered(expr)
            if terms is not None:
                return terms
        return super()._as_ordered_terms(expr, order=order)  # type: ignore[misc]


class _StrPrinter(_Fast, StrPrinter):
    def _print_Add(self, expr: Any, order: Any = None) -> str:
        terms = self._as_ordered_terms(expr, order=order) if len(expr.args) >= _FAST_FROM else None
        found = [_str_term(term) for term in terms] if terms is not None else None
        if found is None or any(t is None for t in found):
            return super()._print_Add(expr, order=order)
        texts = [t for t in found if t is not None]
        # A monomial never needs parentheses in a sum; a leading minus becomes the sign between terms.
        out = [texts[0]]
        out.extend(f"- {t[1:]}" if t.startswith("-") else f"+ {t}" for t in texts[1:])
        return " ".join(out)

    def _print_Mul(self, expr: Any) -> str:
        text = _str_term(expr)
        return text if text is not None else super()._print_Mul(expr)


@lru_cache(maxsize=65536)
def _str_term(term: sympy.Expr) -> str | None:
    """A number times a monomial as sympy writes it (3*h**2*k/2), or None for anything else."""
    split = _split(term)
    if split is None or isinstance(term, sympy.Add):
        return None
    coeff, powers = split
    if not powers:
        return str(coeff)
    parts = [str(abs(coeff.p))] if abs(coeff.p) != 1 else []
    parts.extend(name if e == 1 else f"{name}**{e}" for name, e in powers)
    text = "*".join(parts) + (f"/{coeff.q}" if coeff.q != 1 else "")
    return f"-{text}" if coeff.p < 0 else text


class _LatexPrinter(_Fast, LatexPrinter):
    def _print_Add(self, expr: Any, order: Any = None) -> str:
        terms = self._as_ordered_terms(expr, order=order) if len(expr.args) >= _FAST_FROM else None
        if terms is None or any(_split(term) is None for term in terms):
            return super()._print_Add(expr, order=order)
        texts = [self._print(term) for term in terms]
        out = [texts[0]]
        out.extend(f"- {t[1:].lstrip()}" if t.startswith("-") else f"+ {t}" for t in texts[1:])
        return " ".join(out)

    def _print_Mul(self, expr: Any) -> str:
        return _latex_term(expr)

    def _print_Symbol(self, expr: Any, style: str = "plain") -> str:
        return _latex_symbol(expr) if style == "plain" else super()._print_Symbol(expr, style=style)


@lru_cache(maxsize=65536)
def _latex_term(term: sympy.Expr) -> str:
    """A number times a monomial as sympy's LaTeX printer writes it (``\\frac{3 h^{2} k}{2}``); anything else through
    sympy, remembered."""
    split = _split(term)
    if split is not None and split[1]:
        coeff, powers = split
        factors = [_latex_power(name, e) for name, e in powers]
        if not factors[0][:1].isdigit():  # sympy would set a digit after a number apart with \cdot
            numerator = " ".join([str(abs(coeff.p))] * (abs(coeff.p) != 1) + factors)
            body = numerator if coeff.q == 1 else rf"\frac{{{numerator}}}{{{coeff.q}}}"
            return f"- {body}" if coeff.p < 0 else body
    return LatexPrinter._print_Mul(_LatexPrinter(), term)


@lru_cache(maxsize=65536)
def _latex_power(name: str, exponent: int) -> str:
    base = sympy.Symbol(name)
    return _LatexPrinter().doprint(base if exponent == 1 else sympy.Pow(base, exponent))


@lru_cache(maxsize=65536)
def _latex_symbol(symbol: sympy.Symbol) -> str:
    return LatexPrinter._print_Symbol(_LatexPrinter(), symbol)


def sstr(expr: object) -> str:
    """`sympy.sstr(expr)`, quick for sums of thousands of terms."""
    return _StrPrinter().doprint(expr)


def latex(expr: object) -> str:
    """`sympy.latex(expr)`, quick for sums of thousands of terms."""
    return _LatexPrinter().doprint(expr)


def latex_terms(expr: object) -> list[str]:
    """The LaTeX of `expr` cut before each + and - of its top-level sum, each piece with its sign (``["h^{2}",
    "+ 794 h"]``): joined by spaces, `latex(expr)` exactly. One piece for anything that is not a sum.

    >>> from complexa._poly import symbol
    >>> h = symbol("h")
    >>> latex_terms(h**2 - 794 * h + 3)
    ['h^{2}', '- 794 h', '+ 3']
    """
    full = latex(expr)
    if not isinstance(expr, sympy.Add):
        return [full]
    printer = _LatexPrinter()
    pieces = []
    for i, term in enumerate(printer._as_ordered_terms(expr)):
        sign = ""
        if i > 0:
            sign, term = ("- ", -term) if term.could_extract_minus_sign() else ("+ ", term)
        tex = printer._print(term)
        if printer._needs_add_brackets(term):
            tex = rf"\left({tex}\right)"
        pieces.append(sign + tex)
    return pieces if " ".join(pieces) == full else [full]
