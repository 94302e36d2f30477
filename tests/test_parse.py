"""complexa's size grammar: what it accepts and what it builds."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from complexa import ComplexaError, Network
from complexa._parse import MAX_LENGTH, parse, symbol


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("784", sympy.Integer(784)),
        ("h", symbol("h")),
        ("2*h", 2 * symbol("h")),
        ("h/2 + 1", symbol("h") / 2 + 1),
        ("n_0", symbol("n_0")),
        ("2 + 3 * 4", sympy.Integer(14)),
        ("(2 + 3) * 4", sympy.Integer(20)),
        ("2^3^2", sympy.Integer(2**9)),
        ("2**3**2", sympy.Integer(2**9)),
        ("-h + 2*h", symbol("h")),
        ("-2^2", sympy.Integer(-4)),
        ("h - -1", symbol("h") + 1),
        ("  h\t*\nw ", symbol("h") * symbol("w")),
        ("8/4", sympy.Integer(2)),
        ("h^0", sympy.Integer(1)),
    ],
)
def test_accepted(text: str, expected: sympy.Expr) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("name", ["E", "I", "N", "O", "S", "pi", "oo", "Q", "lambda", "beta", "sin"])
def test_special_names_are_plain_symbols(name: str) -> None:
    value = parse(name)
    assert value == sympy.Symbol(name, positive=True, integer=True)
    assert value.is_Symbol and value.is_positive and value.is_integer


def test_symbols_are_positive_integers_and_shared_by_name() -> None:
    assert parse("h") is parse("h") is symbol("h")
    assert parse("h").is_integer and parse("h").is_positive


def test_sympy_symbols_without_assumptions_are_normalised() -> None:
    network = Network([sympy.Symbol("h"), 2 * sympy.Symbol("w")])
    assert network.sizes == (symbol("h"), 2 * symbol("w"))


def test_numpy_integers_are_sizes() -> None:
    import numpy as np

    assert Network([np.int64(3), np.int32(4)]).sizes == (3, 4)


@given(st.text(max_size=MAX_LENGTH))
def test_any_text_parses_or_raises_complexa_error(text: str) -> None:
    try:
        value = parse(text)
    except ComplexaError:
        return
    assert isinstance(value, sympy.Expr)
    assert all(isinstance(s, sympy.Symbol) and s.is_integer for s in value.free_symbols)


@given(st.text(alphabet="0123456789hw+-*/^() ", max_size=60))
def test_arithmetic_text_parses_or_raises_complexa_error(text: str) -> None:
    try:
        parse(text)
    except ComplexaError:
        pass
