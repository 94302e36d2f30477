"""The floors and ceilings of a traced module's sizes, in their plainest exact form.

torch writes a strided convolution's output size as ``floor((H - 1)/2) + 1`` and a second one's as a floor of that
floor; a sum of such counts, expanded, spreads every size over several terms. Here every ``floor`` and ``ceiling`` of
an integer-valued argument is rewritten by identities that hold for every integer value of the sizes (complexa's
symbols are integers), so the rewritten formula is the same function, not an approximation:

- ``floor((P + n)/D) = floor((P + r)/D) + q`` for an integer-valued P, n = q D + r, 0 <= r < D: integer parts out;
- ``ceiling((P + n)/D) = floor((P + n + D - 1)/D)``, so that one size has one form;
- ``floor((floor((Q + s)/E) + m)/D) = floor((Q + s + E m)/(E D))`` for integer m: nested floors are one floor
  (``floor(floor(H/2)/2) = floor(H/4)``);
- ``floor((g P + n)/(g D)) = floor((P + floor(n/g))/D)``: a common factor out;

and the result is printed as ``floor(P/D)`` (r = 0), ``ceiling(P/D)`` (r = D - 1), or ``floor((P + r)/D)``.
`tidy` then writes a sum as a polynomial in the sizes, each size shifted by the integer that makes the fewest terms:
``216*B*ceiling(H/2)*ceiling(W/2)``, where torch gives ``216*B*(floor(H/2 - 1/2) + 1)*(floor(W/2 - 1/2) + 1)``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import sympy

__all__ = ["canonical", "flat", "tidy"]

Form = tuple[sympy.Expr, int, int]
"""(P, r, D): the size floor((P + r)/D), P an integer-valued sum without a constant term, 0 <= r < D."""

_ROUNDED = (sympy.floor, sympy.ceiling)


def _linear(expr: sympy.Expr) -> tuple[sympy.Expr, int, int] | None:
    """`expr` as (P, n, D), `expr` = (P + n)/D with P a sum of integer multiples of integer-valued terms, n an
    integer, D a positive integer; None when it is not one (a division by a size, a term that is not an integer)."""
    terms = sympy.Add.make_args(sympy.expand(expr))
    parts: list[tuple[sympy.Rational, sympy.Expr]] = []
    constant = sympy.Rational(0)
    for term in terms:
        coeff, rest = term.as_coeff_Mul()
        if not isinstance(coeff, sympy.Rational):
            return None
        if rest == 1:
            constant += coeff
        elif rest.is_integer is True:
            parts.append((coeff, rest))
        else:
            return None
    denominator = math.lcm(constant.q, *(c.q for c, _ in parts))
    p = sympy.Add(*(c * denominator * rest for c, rest in parts))
    return p, int(constant * denominator), denominator


def _form(atom: sympy.Expr) -> Form | None:
    """A canonical floor or ceiling atom's (P, r, D)."""
    found = _linear(atom.args[0])
    if found is None:
        return None
    p, n, d = found
    if isinstance(atom, sympy.ceiling):
        n += d - 1
    return p, n, d


def _build(p: sympy.Expr, r: int, d: int) -> sympy.Expr:
    if r == 0:
        return sympy.floor(p / d)
    if r == d - 1:
        return sympy.ceiling(p / d)
    return sympy.floor((p + r) / d)


@lru_cache(maxsize=65536)
def canonical(atom: sympy.Expr) -> sympy.Expr:
    """A floor or ceiling as one canonical floor or ceiling plus an integer, equal to it at every integer value of
    its symbols; `atom` itself (its inner sizes rewritten) when its argument is not integer-valued over a number.

    >>> from complexa._poly import symbol
    >>> H = symbol("H")
    >>> canonical(sympy.floor(H / 2 - sympy.Rational(1, 2))), canonical(sympy.floor(sympy.floor(H / 2) / 2))
    (ceiling(H/2) - 1, floor(H/4))
    """
    if not isinstance(atom, _ROUNDED):  # sympy evaluated it: floor(H) is H
        return atom
    arg = atom.args[0]
    inner = {a: canonical(a) for a in arg.atoms(*_ROUNDED)}
    arg = arg.xreplace(inner) if inner else arg
    found = _linear(arg)
    if found is None:
        return atom.func(arg)
    p, n, d = found
    if isinstance(atom, sympy.ceiling):
        n += d - 1
    while d > 1:
        # A common factor of P's coefficients and D: floor((g P + n)/(g D)) = floor((P + floor(n/g))/D).
        coefficients = [int(t.as_coeff_Mul()[0]) for t in sympy.Add.make_args(p) if t != 0]
        g = math.gcd(d, *coefficients)
        if g > 1:
            p, n, d = sympy.expand(p / g), n // g, d // g
        # A nested size with coefficient 1 joins this one: floor((floor((Q + s)/E) + m)/D) = floor((Q + s + E m)/(E D)).
        nested = next((t for t in sympy.Add.make_args(p) if isinstance(t, _ROUNDED) and _form(t) is not None), None)
        if nested is None:
            break
        q_, s, e = _form(nested)  # type: ignore[misc]
        p, n, d = sympy.expand(e * (p - nested) + q_), e * n + s, e * d
    q, r = divmod(n, d)
    if d == 1 or p == 0:
        return p + n // d if d == 1 else sympy.Integer(q)
    return _build(p, r, d) + q


def _sizes(expr: sympy.Expr) -> set[sympy.Expr]:
    """The floor and ceiling atoms of `expr` that are not inside another."""
    found = expr.atoms(*_ROUNDED)
    inside = {a for outer in found for a in outer.args[0].atoms(*_ROUNDED)}
    return found - inside


def flat(expr: sympy.Expr) -> sympy.Expr:
    """`expr` with every floor and ceiling canonical, expanded: two formulas equal as `flat` are the same function
    of integer sizes (the converse need not hold)."""
    mapping = {a: canonical(a) for a in expr.atoms(*_ROUNDED)}
    return sympy.expand(expr.xreplace(mapping) if mapping else expr)


@lru_cache(maxsize=4096)
def tidy(expr: sympy.Expr) -> sympy.Expr:
    """`expr`, a count, with its sizes canonical and as few terms as shifting each size by an integer gives: a
    polynomial in the sizes ``S + c`` (S one floor or ceiling, `canonical`), each c the one that makes the fewest
    terms (0 on a tie, then the least). Equal to `expr` at every integer value of its symbols.

    >>> from complexa._poly import symbol
    >>> B, H = symbol("B"), symbol("H")
    >>> half = sympy.floor(H / 2 - sympy.Rational(3, 2)) + 1
    >>> tidy(sympy.expand(8 * B * half**2)), tidy(sympy.expand(8 * B * (sympy.floor(H / 2) + 1)))
    (8*B*(ceiling(H/2) - 1)**2, 8*B*(floor(H/2) + 1))
    """
    originals = expr.atoms(*_ROUNDED)
    if not originals:
        return sympy.expand(expr)
    mapping = {a: canonical(a) for a in originals}
    canon = expr.xreplace(mapping)
    sizes = sorted(_sizes(canon), key=sympy.default_sort_key)
    dummies = {size: sympy.Dummy(integer=True) for size in sizes}
    replaced = canon.xreplace(dummies)
    gens = [*dummies.values(), *sorted(replaced.free_symbols - set(dummies.values()), key=str)]
    try:
        poly = sympy.Poly(replaced, *gens)
    except sympy.PolynomialError:  # not a polynomial in its sizes and symbols (a Max): expanded, unshifted
        return sympy.expand(canon)
    if not (poly.domain.is_ZZ or poly.domain.is_QQ):
        return sympy.expand(canon)
    # The shifts worth trying: those at which torch wrote a size, floor(...) and floor(...) + 1 (an output size), and
    # those at which a size appears in a factor (S + c): each the canonical size S plus an integer c.
    offsets: dict[sympy.Expr, set[int]] = {size: {0} for size in sizes}
    for value in [*mapping.values(), *canon.atoms(sympy.Add)]:
        size, c = _split(value)
        if size in offsets:
            offsets[size].update((c, c + 1))
    terms = poly.as_dict()
    shifts = {}
    for size in sizes:
        if dummies[size] not in poly.gens:
            continue
        at = poly.gens.index(dummies[size])
        # Written as the size T = S + c, each S^e is (T - c)^e: the fewest terms wins, c = 0 on a tie, then the least.
        tried = [(len(t), c != 0, abs(c), c, t) for c in offsets[size] for t in [_shifted(terms, at, -c)]]
        _, _, _, shifts[size], terms = min(tried, key=lambda x: x[:4])
    out = sympy.Poly.from_dict(terms, poly.gens, domain=poly.domain).as_expr()
    return out.xreplace({dummies[s]: _written(s, shifts.get(s, 0)) for s in sizes})


def _written(size: sympy.Expr, c: int) -> sympy.Expr:
    """The size S + c: one floor where S is floor((P + r)/D) with 0 < r < D - 1 (``floor(H/4 - 1/2)``, not
    ``floor(H/4 + 1/2) - 1``); sympy takes the integer out of the others itself."""
    if c and isinstance(size, sympy.floor):
        return sympy.floor(size.args[0] + c)
    return size + c


def _shifted(terms: dict[tuple[int, ...], object], at: int, k: int) -> dict[tuple[int, ...], object]:
    """The polynomial `terms` (monomial -> coefficient) with its generator `at` replaced by itself plus `k`."""
    if k == 0:
        return terms
    out: dict[tuple[int, ...], object] = {}
    for monomial, coeff in terms.items():
        e = monomial[at]
        for j in range(e + 1):
            key = (*monomial[:at], j, *monomial[at + 1 :])
            out[key] = out.get(key, 0) + coeff * math.comb(e, j) * k ** (e - j)  # type: ignore[operator]
    return {m: c for m, c in out.items() if c != 0}


def _split(value: sympy.Expr) -> tuple[sympy.Expr, int]:
    """A canonical size plus an integer as (size, integer)."""
    if isinstance(value, sympy.Add):
        constant, rest = value.as_coeff_Add()
        if isinstance(constant, sympy.Integer) and isinstance(rest, _ROUNDED):
            return rest, int(constant)
    return value, 0
