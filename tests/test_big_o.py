"""big_o against hand-checked cases, multivariate ones included, and against sympy where sympy is reliable."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import ComplexaError, big_o
from complexa._parse import parse, symbol
from complexa._poly import Converter, to_expr

n, L, T, h, B = (symbol(s) for s in ("n", "L", "T", "h", "B"))


@pytest.mark.parametrize(
    ("text", "subs", "expected"),
    [
        ("(L - 1)*n^3 + n^2", {"L": "n"}, "n^4"),
        ("L*n", {"L": "n"}, "n^2"),
        ("n^2 + n^4*(L - 1)", {"L": "n"}, "n^5"),
        ("T*(n^2 + n^4*(L - 1) + n^3)", {"L": "n", "T": "n"}, "n^6"),
        ("L*n^2 + n^3 + n", {}, "L*n^2 + n^3"),
        ("3*L*T*n^3 + T*n^4 + L*n^3 + 7", {}, "L*T*n^3 + T*n^4"),
        ("B*h^2 + 790*B*h - h^2/2", {}, "B*h^2"),
        ("h^3 - h^2", {}, "h^3"),
        ("n^2*(n - 1)*(L - 1) + n", {}, "L*n^3"),
        ("42", {}, "1"),
        ("L*n", {"L": "2*n"}, "n^2"),
        ("L*n", {"L": 3}, "n"),
    ],
)
def test_hand_checked(text: str, subs: dict[str, object], expected: str) -> None:
    order = big_o(parse(text), **subs)
    assert isinstance(order, sympy.Order)
    assert order.expr == parse(expected)


def test_sums_with_symbolic_bounds_are_evaluated() -> None:
    k = sympy.Symbol("k", integer=True)
    assert big_o(sympy.Sum(n**3, (k, 2, L)) + n**2, L="n").expr == n**4


def test_result_is_a_well_formed_order() -> None:
    order = big_o(parse("L*n^2 + n^3"))
    assert order == sympy.Order(L * n**2 + n**3, (L, sympy.oo), (n, sympy.oo))
    assert order.variables == (L, n) and order.point == (sympy.oo, sympy.oo)
    assert big_o(5) == sympy.Order(1)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(1, 50)), min_size=1, max_size=6))
def test_univariate_matches_sympy(terms: list[tuple[int, int]]) -> None:
    poly = sympy.Add(*[c * n**e for e, c in terms])
    expected = sympy.Order(poly, (n, sympy.oo))
    assert big_o(poly).expr == expected.expr
    if poly.free_symbols:
        assert big_o(poly) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 9)), min_size=1, max_size=6))
def test_multivariate_keeps_exactly_the_maximal_monomials(terms: list[tuple[int, int, int]]) -> None:
    poly = sympy.Add(*[c * n**a * L**b for a, b, c in terms])
    kept = set(sympy.Add.make_args(big_o(poly).expr))
    monomials = {n**a * L**b for a, b, _ in terms}
    # kept: exactly the monomials that divide no other monomial of the polynomial.
    for m in monomials:
        dominated = any(o != m and sympy.simplify(o / m).is_polynomial(n, L) for o in monomials)
        assert (m in kept) == (not dominated)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["h", "2*h", "h/2 + 1", "w", "h*w", "3", "B", "w^2 - w + 1"]), min_size=1, max_size=6))
def test_fast_polynomials_equal_sympy_expand(texts: list[str]) -> None:
    exprs = [parse(t) for t in texts]
    convert = Converter(set().union(*(e.free_symbols for e in exprs)))
    value = convert(exprs[0])
    expected = exprs[0]
    for e in exprs[1:]:
        value = value * convert(e) - 2 * convert(e) + 1
        expected = expected * e - 2 * e + 1
    got = to_expr(value)
    assert got == sympy.expand(expected)
    assert hash(got) == hash(sympy.expand(expected))


@pytest.mark.parametrize("text", ["1 - h^2", "h - h^2", "n^3 - L*n^2 + h", "-h", "-1", "2*h - 3*h^2*n - h*n^2"])
def test_a_negative_dominant_term_is_not_a_count(text: str) -> None:
    with pytest.raises(ComplexaError, match="a dominant term has a negative coefficient"):
        big_o(parse(text))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 4), st.integers(1, 4)), max_size=4).map(
            lambda m: tuple(sorted(dict(m).items()))
        ),
        min_size=1,
        max_size=12,
        unique=True,
    )
)
def test_both_ways_of_finding_dominated_monomials_agree_with_the_definition(monomials: list[tuple]) -> None:
    from complexa.asymptotics import _dominated_by_comparison, _dominated_by_divisors, _maximal

    def divides(m: tuple, o: tuple) -> bool:
        return dict(m).keys() <= dict(o).keys() and all(e <= dict(o)[i] for i, e in m)

    expected = {m for m in monomials if any(o != m and divides(m, o) for o in monomials)}
    by_degree: dict[int, list[tuple]] = {}
    for m in monomials:
        by_degree.setdefault(sum(e for _, e in m), []).append(m)
    assert _dominated_by_comparison(monomials) == expected
    assert _dominated_by_divisors(by_degree, sorted(by_degree, reverse=True)) == expected
    assert _maximal(monomials) == [m for m in monomials if m not in expected]


def test_terms_sharing_every_symbol_take_time_in_their_divisors() -> None:
    # (a0+...+a15)(b0+...+b15)(z0+...+z15)(t0+...+t15) and its lower-degree parts: 65,536 maximal terms, each symbol
    # in 4,096 of them; once quadratic in them (hours), now a pass over their divisors.
    groups = [sympy.symbols(f"{c}0:16", positive=True, integer=True) for c in "abzt"]
    a, b, z, t = (sympy.Add(*g) for g in groups)
    from complexa._poly import Converter

    convert = Converter(set().union(*groups))
    value = to_expr(convert(a) * convert(b) * convert(z) * convert(t) + convert(z) * convert(t) * convert(a))
    assert len(big_o(value).expr.args) == 16**4
