"""complexa._poly against sympy: the same `+ - * **` on random expression trees, and `to_expr`'s result built as
`sympy.expand` builds it, argument order included."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa._poly import Converter, Polynomial, add, to_expr

# Positive integers, as complexa's symbols are; the names mix cases and subscripts, as complexa's do.
SYMBOLS = [sympy.Symbol(name, positive=True, integer=True) for name in ("n", "L", "B", "h_1", "n_0", "T")]
CONVERT = Converter(SYMBOLS)


@dataclass(frozen=True)
class Leaf:
    """A symbol, an int or a Fraction."""

    value: sympy.Symbol | int | Fraction


@dataclass(frozen=True)
class Node:
    """`left` `op` `right`; for ``**`` the right side is a small int exponent, never a tree."""

    op: str
    left: Tree
    right: Tree | int


Tree = Leaf | Node

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}

constants = st.one_of(
    st.integers(-3, 3),
    st.builds(Fraction, st.integers(-5, 5), st.integers(1, 4)),
)
leaves = st.one_of(st.sampled_from(SYMBOLS), st.sampled_from(SYMBOLS), constants).map(Leaf)


def _cancel(u: Tree, t: Tree, how: int) -> Tree:
    """u again, through a cancellation of t: (u + t) - t, u + (t + (-1) t), or (t - t) - u + 2 u."""
    if how == 0:
        return Node("-", Node("+", u, t), t)
    if how == 1:
        return Node("+", u, Node("+", t, Node("*", Leaf(-1), t)))
    return Node("+", Node("-", Node("-", t, t), u), Node("*", Leaf(2), u))


@st.composite
def trees(draw: st.DrawFn, depth: int = 5) -> Tree:
    """A tree of at most `depth` levels of operators; a leaf in a fifth of the draws at each level, and it shrinks
    towards one leaf."""
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(leaves)
    kind = draw(st.sampled_from(["+", "-", "*", "**", "cancel"]))
    left = draw(trees(depth - 1))
    if kind == "**":
        return Node("**", left, draw(st.integers(0, 3)))
    right = draw(trees(depth - 1))
    if kind == "cancel":
        return _cancel(left, right, draw(st.integers(0, 2)))
    return Node(kind, left, right)


def as_polynomial(tree: Tree) -> Any:
    """The tree computed with Polynomial leaves for symbols and plain int and Fraction constants: a constant on the
    left of an operator reaches ``__radd__``, ``__rsub__`` and ``__rmul__``."""
    if isinstance(tree, Leaf):
        return CONVERT(tree.value) if isinstance(tree.value, sympy.Symbol) else tree.value
    left = as_polynomial(tree.left)
    if tree.op == "**":
        assert isinstance(tree.right, int)
        return left**tree.right
    assert not isinstance(tree.right, int)
    return OPERATORS[tree.op](left, as_polynomial(tree.right))


def as_sympy(tree: Tree) -> sympy.Expr:
    """The same tree as a sympy expression, unexpanded."""
    if isinstance(tree, Leaf):
        value = tree.value
        if isinstance(value, Fraction):
            return sympy.Rational(value.numerator, value.denominator)
        return value if isinstance(value, sympy.Symbol) else sympy.Integer(value)
    left = as_sympy(tree.left)
    if tree.op == "**":
        assert isinstance(tree.right, int)
        return left**tree.right
    assert not isinstance(tree.right, int)
    return OPERATORS[tree.op](left, as_sympy(tree.right))


def assert_same_expr(actual: sympy.Expr, expected: sympy.Expr) -> None:
    # sympy's == compares the arguments in their stored order: equal trees, not merely equal values.
    assert actual == expected
    assert sympy.srepr(actual) == sympy.srepr(expected)


@settings(max_examples=200, deadline=None)
@given(trees())
def test_arithmetic_is_sympys(tree: Tree) -> None:
    assert_same_expr(to_expr(as_polynomial(tree)), sympy.expand(as_sympy(tree)))


@settings(max_examples=100, deadline=None)
@given(trees())
def test_converter_reads_back_what_to_expr_writes(tree: Tree) -> None:
    expected = sympy.expand(as_sympy(tree))
    converted = CONVERT(expected)
    assert isinstance(converted, (int, Polynomial))
    assert_same_expr(to_expr(converted), expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(trees(3), max_size=6))
def test_add_is_the_sum(trees: list[Tree]) -> None:
    values = [as_polynomial(tree) for tree in trees]
    expected = sympy.expand(sympy.Add(*[as_sympy(tree) for tree in trees]))
    assert_same_expr(to_expr(add(values)), expected)


def test_reflected_operators_by_hand() -> None:
    n = CONVERT(SYMBOLS[0])
    assert to_expr(3 - n) == 3 - SYMBOLS[0]
    assert to_expr(Fraction(1, 2) - n) == sympy.Rational(1, 2) - SYMBOLS[0]
    assert to_expr(Fraction(2, 3) + n) == SYMBOLS[0] + sympy.Rational(2, 3)
    assert to_expr(-2 * n) == -2 * SYMBOLS[0]
    assert to_expr(0 * n) == 0 and to_expr(n - n) == 0 and to_expr(1 - n + n) == 1
    assert (n - n).terms == {} and (0 * n).terms == {}
    assert (n**0).terms == {(): 1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "0"), (7, "7"), (Fraction(-3, 4), "-3/4"), (Fraction(4, 2), "2"), (sympy.Symbol("x"), "x")],
)
def test_to_expr_of_what_is_not_a_polynomial(value: Any, expected: str) -> None:
    assert str(to_expr(value)) == expected
