"""complexa's size grammar: what it accepts and what it builds."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import ComplexaError, Network
from complexa._parse import MAX_DEGREE, MAX_DEPTH, MAX_DIGITS, MAX_LENGTH, MAX_TERMS, MAX_WORK, parse, symbol
from complexa._printers import sstr


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
        ("h^-2 * h^3", symbol("h")),
        ("1/h + 1/h", 2 / symbol("h")),
        ("h/(h+1) + 1/(h+1)", sympy.Integer(1)),
        ("1/(2*h) - 1/(4*h)", 1 / (4 * symbol("h"))),
        ("(h + 1)/(h - 1)", (symbol("h") + 1) / (symbol("h") - 1)),
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


def _same_when_printed(value: sympy.Expr) -> None:
    """What the grammar reads prints in a form it reads back as the same expression."""
    assert parse(sstr(value)) == value


@settings(max_examples=200)
@given(st.text(max_size=400))
def test_any_text_parses_or_raises_complexa_error(text: str) -> None:
    try:
        value = parse(text)
    except ComplexaError as error:
        assert "\n" not in str(error)  # one line, whatever the text
        return
    assert all(isinstance(s, sympy.Symbol) and s.is_integer and s.is_positive for s in value.free_symbols)
    if value.is_polynomial():
        _same_when_printed(value)


def _python_value(text: str, h: int, w: int) -> Fraction:
    """The value Python's own arithmetic gives `text` (exact, with ** for ^), for texts of digits, h, w and operators
    only: the test's reference for precedence and associativity."""
    python = re.sub(r"[0-9]+", lambda m: f"F('{m.group()}')", text.replace("^", "**"))
    python = python.replace("h", f"F({h})").replace("w", f"F({w})")
    return eval(python, {"F": Fraction, "__builtins__": {}})  # type: ignore[no-any-return]


@settings(max_examples=300)
@given(st.text(alphabet="0123456789hw+-*/^() ", max_size=40))
def test_arithmetic_is_pythons(text: str) -> None:
    # Whatever the grammar reads has the value Python's arithmetic gives the same text, at any h and w.
    try:
        value = parse(text)
    except ComplexaError:
        return
    if set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", text)) - {"h", "w"}:  # names such as h0 or hw: not Python's h, w
        return
    for h, w in ((5, 7), (3, 11)):
        try:
            expected = _python_value(text, h, w)
        except ZeroDivisionError:  # a divisor in symbols that is 0 at these values
            continue
        got = value.xreplace({symbol("h"): h, symbol("w"): w})
        assert got == sympy.Rational(expected.numerator, expected.denominator), (text, got, expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2^(1/2)", "an exponent must be an integer constant from -4096 to 4096, not 1/2"),
        ("h^(3/2)", "not 3/2"),
        ("2^h", "not an expression in symbols"),
        ("h/(h-h)", "division by zero"),
        ("0^-1", "division by zero"),
        ("h(2)", "looks like a function call"),
        ("floor(h, 2)", "floor takes 1 argument, not 2"),
        ("Mod(h)", "Mod takes 2 arguments, not 1"),
        ("Max(a, b, c, d, e)", "Max takes 1 to 4 arguments, not 5"),
        ("floor(" + "+".join(f"a{k}" for k in range(17)) + ")", "floor(...): its arguments hold more than 16 terms"),
        ("+".join(f"floor(h{k}/2)" for k in range(257)), "more than 256 calls of floor, ceiling, Mod, Max and Min"),
        ("(h, 3)", "unexpected character ','; a comma separates only the arguments of floor"),
        ("h, 3", "unexpected character ','"),
        ("1e400", "a size is an integer: write 1*10^400, not 1e400"),
    ],
)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(ComplexaError, match=re.escape(message)):
        parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("floor(7/2)", sympy.Integer(3)),
        ("floor(h/2 - 1/2) + 1", sympy.floor(symbol("h") / 2 - sympy.Rational(1, 2)) + 1),
        ("2*(ceiling(h/3) + 1)", 2 * sympy.ceiling(symbol("h") / 3) + 2),
        ("Max(h, 3) * Min(1, w)", sympy.Max(symbol("h"), 3) * sympy.Min(1, symbol("w"))),
        ("Mod(h, 2)^2", sympy.Mod(symbol("h"), 2) ** 2),
        ("floor(floor(h/2)/2)", sympy.floor(sympy.floor(symbol("h") / 2) / 2)),
    ],
)
def test_the_functions_from_torch_prints_read_back(text: str, expected: sympy.Expr) -> None:
    # floor, ceiling, Mod, Max and Min: the sizes of strided convolutions and pools, as from_torch prints them.
    assert sympy.expand(parse(text) - expected) == 0


def test_a_function_s_value_is_no_size() -> None:
    with pytest.raises(ComplexaError, match=r"sizes\[0\] = floor\(h/2\): must be a polynomial"):
        Network(["floor(h/2)", 3])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10-3-2", 5),
        ("10-2+3", 11),
        ("12/3/2", 2),
        ("100/10*2", 20),
        ("2*3/4*8", 12),
        ("2^3^2", 512),
        ("-2^2", -4),
        ("2^-3^2*512", 1),
        ("2 - -3", 5),
        ("--2", 2),
    ],
)
def test_associativity_and_precedence(text: str, value: int) -> None:
    assert parse(text) == value


# --- every limit at its edge: exactly the limit is accepted, one past is refused --------------------------------


def _nested(levels: int) -> str:
    return "(" * levels + "h" + ")" * levels


@pytest.mark.parametrize(
    ("accepted", "refused", "message"),
    [
        # each "(" is one level, and the whole text one more
        (_nested(MAX_DEPTH - 1), _nested(MAX_DEPTH), f"nested more than {MAX_DEPTH} levels deep"),
        ("-" * (MAX_DEPTH - 1) + "h", "-" * MAX_DEPTH + "h", f"nested more than {MAX_DEPTH} levels deep"),
        (f"h^{MAX_DEGREE}", f"h^{MAX_DEGREE + 1}", "an exponent must be an integer constant from"),
        (f"h^{MAX_DEGREE // 2}*h^{MAX_DEGREE // 2}", f"h^{MAX_DEGREE // 2}*h^{MAX_DEGREE // 2 + 1}", "a degree above"),
        (f"h^-{MAX_DEGREE}", f"h^-{MAX_DEGREE + 1}", "an exponent must be an integer constant from"),
        ("9" * MAX_DIGITS, "9" * (MAX_DIGITS + 1), f"a number has more than {MAX_DIGITS} digits"),
        (f"10^{MAX_DIGITS - 1}", f"10^{MAX_DIGITS}", f"a number has more than {MAX_DIGITS} digits"),
        ("9" * 2000 + "*" + "9" * 2000, "9" * 2000 + "*" + "9" * 2000 + "*10", "a number has more than"),
        ("1" + " " * (MAX_LENGTH - 1), "1" + " " * MAX_LENGTH, f"limited to {MAX_LENGTH:,} characters"),
        # (a + b)^e by repeated products: 2 (k + 1) products for the k-th power, (e - 1)(e + 2) in all
        ("(a+b)^499", "(a+b)^500", f"more than {MAX_WORK:,} products of terms"),
    ],
    ids=["parentheses", "signs", "exponent", "degree", "negative exponent", "digits", "computed digits", "product",
         "length", "work"],
)  # fmt: skip
def test_grammar_limits_at_the_edge(accepted: str, refused: str, message: str) -> None:
    parse(accepted)
    with pytest.raises(ComplexaError, match=re.escape(message)):
        parse(refused)


def test_terms_limit_at_the_edge() -> None:
    # (a + b + c)^e has C(e + 2, 2) terms: 99,681 at e = 445 and 100,128 at e = 446, against MAX_TERMS = 100,000;
    # the products of terms stay under MAX_WORK only for a sum of many symbols, so count them with a sum of squares.
    names = [f"x{k}" for k in range(317)]
    square = "(" + "+".join(names) + ")^2"  # 317 * 318 / 2 = 50,403 terms
    assert len(sympy.Add.make_args(parse(square))) == 50_403
    with pytest.raises(ComplexaError, match=f"more than {MAX_TERMS:,} terms"):
        parse(square + "+" + "(" + "+".join(f"y{k}" for k in range(317)) + ")^2")


@pytest.mark.parametrize(
    ("accepted", "refused", "message"),
    [
        ("h^16", "h^17", "a size has a degree of at most 16"),
        ("(a+b+c+d+e)^2+f", "(a+b+c+d+e)^2+f+g", "a size expands to at most 16 terms, not 17"),
        ("9" * 100, "1" + "0" * 100, "a size has at most 100 digits"),
        ("h/" + "9" * 100, "h/1" + "0" * 100, "a size's numbers have at most 100 digits"),
    ],
    ids=["degree", "terms", "digits", "coefficient digits"],
)
def test_size_limits_at_the_edge(accepted: str, refused: str, message: str) -> None:
    Network([accepted, 2])
    with pytest.raises(ComplexaError, match=re.escape(message)):
        Network([refused, 2])
