"""The sizes of traced modules in their plainest form (`complexa._trace._floors`, issue 21): every rewrite is the
same function of integer sizes, checked by evaluating before and after at many integers; and the forms themselves,
exactly, where they are known by hand."""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa._poly import symbol
from complexa._trace._floors import canonical, flat, tidy

H, W, B = symbol("H"), symbol("W"), symbol("B")
R = sympy.Rational


def _size(draw: st.DrawFn, depth: int) -> sympy.Expr:
    """A size as torch writes them: a symbol, or floor/ceiling of (a x + b)/d of a size, nested, plus an integer."""
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from([H, W]))
    inner = _size(draw, depth - 1)
    a = draw(st.integers(-3, 3).filter(bool))
    b = draw(st.integers(-9, 9))
    d = draw(st.integers(1, 8))
    other = draw(st.sampled_from([0, 0, 0, H, W]))  # now and then a second size in the argument
    rounded = draw(st.sampled_from([sympy.floor, sympy.ceiling]))
    return rounded((a * inner + other + b) / d) + draw(st.integers(-2, 2))


@st.composite
def sizes(draw: st.DrawFn, depth: int = 4) -> sympy.Expr:
    return _size(draw, depth)


points = st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, 10**6)), min_size=10, max_size=10)


def _at(expr: sympy.Expr, h: int, w: int, b: int = 3) -> sympy.Expr:
    return expr.xreplace({H: sympy.Integer(h), W: sympy.Integer(w), B: sympy.Integer(b)})


SMALL = [(h, w) for h in range(1, 25) for w in (1, 6, 65)]


@settings(max_examples=100, deadline=None)
@given(size=sizes(), more=points)
def test_canonical_is_the_same_function_of_integer_sizes(size: sympy.Expr, more: list[tuple[int, int]]) -> None:
    mapping = {a: canonical(a) for a in size.atoms(sympy.floor, sympy.ceiling)}
    rewritten = size.xreplace(mapping)
    for h, w in SMALL + more:
        assert _at(rewritten, h, w) == _at(size, h, w), (size, rewritten, h, w)
    assert flat(rewritten) == flat(size)  # canonical twice is canonical once


@settings(max_examples=40, deadline=None)
@given(
    factors=st.lists(st.tuples(st.integers(-50, 50), sizes(3), sizes(3)), min_size=1, max_size=4),
    constant=st.integers(-100, 100),
    more=points,
)
def test_tidy_is_the_same_function_of_integer_sizes(
    factors: list[tuple[int, sympy.Expr, sympy.Expr]], constant: int, more: list[tuple[int, int]]
) -> None:
    # A count as the rules make them: products of sizes, expanded, summed.
    count = sympy.expand(sympy.Add(*(c * B * x * y for c, x, y in factors)) + constant)
    tidied = tidy(count)
    for h, w in SMALL + more:
        assert _at(tidied, h, w) == _at(count, h, w), (count, tidied, h, w)
    assert flat(tidied - count) == 0  # and the two are the same polynomial in the canonical sizes


def test_forms_by_hand() -> None:
    half = sympy.floor(H / 2 - R(1, 2)) + 1  # a 3x3 convolution of stride 2, padding 1 (torch's form)
    assert canonical(sympy.floor(H / 2 - R(1, 2))) == sympy.ceiling(H / 2) - 1
    assert canonical(sympy.floor(sympy.floor(H / 2) / 2)) == sympy.floor(H / 4)
    # squeezenet's first stages: a 7x7 convolution of stride 2, then a 3x3 pool of stride 2 with ceil_mode.
    assert canonical(sympy.floor(sympy.floor(H / 2 - R(7, 2)) / 2 - R(1, 2))) == sympy.ceiling(H / 4) - 3
    assert canonical(sympy.floor(H / 2 + R(1, 4))) == sympy.floor(H / 2)  # (2H + 1)/4: a common factor out
    assert canonical(sympy.ceiling(H / 3 + R(1, 3))) == sympy.floor(H / 3) + 1
    # Not an integer argument over a number: left as it is.
    assert canonical(sympy.floor(H / W)) == sympy.floor(H / W)
    assert canonical(sympy.floor(3 * sympy.floor(H / 2) / 4)) == sympy.floor(3 * sympy.floor(H / 2) / 4)
    assert tidy(sympy.expand(216 * B * half * (sympy.floor(W / 2 - R(1, 2)) + 1))) == (
        216 * B * sympy.ceiling(H / 2) * sympy.ceiling(W / 2)
    )
    # The shift with the fewest terms: ceiling(H/2) - 3 as one factor, not expanded into four terms.
    stage = sympy.floor(H / 2 - R(7, 2)) + 1
    assert tidy(sympy.expand(14112 * B * stage * stage.xreplace({H: W}) - 1)) == (
        14112 * B * (sympy.ceiling(H / 2) - 3) * (sympy.ceiling(W / 2) - 3) - 1
    )
    assert tidy(sympy.expand(8 * B * sympy.floor(H / 2) * sympy.floor(W / 2) + 5)) == (
        8 * B * sympy.floor(H / 2) * sympy.floor(W / 2) + 5
    )
    assert tidy(H**2 + 2 * H) == H**2 + 2 * H  # no floor: expanded only
