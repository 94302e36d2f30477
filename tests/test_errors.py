"""Every mistake a user can make, in one table: each raises ComplexaError naming the value and the rule."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
import sympy

import complexa
from complexa import ComplexaError, Network, big_o, derive
from complexa._parse import parse

h = sympy.Symbol("h")
NET = Network([2, "h", 1])

CASES: list[tuple[str, Callable[[], object], str]] = [
    # sizes
    ("no sizes", lambda: Network([]), r"at least two sizes"),
    ("one size", lambda: Network([5]), r"at least two sizes"),
    ("zero", lambda: Network([0, 2]), r"sizes\[0\] = 0: must be a positive integer"),
    ("negative", lambda: Network([4, -3]), r"sizes\[1\] = -3: must be a positive integer"),
    ("float", lambda: Network([2.5, 2]), r"sizes\[0\] = 2.5: .*not a float"),
    ("integral float", lambda: Network([2.0, 2]), r"sizes\[0\] = 2.0: .*not a float"),
    ("bool", lambda: Network([True, 2]), r"sizes\[0\] = True: a bool is not a size"),
    ("non-integer rational", lambda: Network(["7/2", 2]), r"sizes\[0\] = 7/2: must be a positive integer"),
    ("negative symbol", lambda: Network(["-h", 2]), r"sizes\[0\] = -h: is never positive"),
    ("not polynomial", lambda: Network([sympy.sin(h), 2]), r"sizes\[0\] = sin\(h\): must be a polynomial"),
    ("reciprocal", lambda: Network(["1/h", 2]), r"sizes\[0\] = 1/h: must be a polynomial"),
    ("sizes a string", lambda: Network("784 10"), r"sizes = '784 10': must be a list"),
    ("sizes None", lambda: Network(None), r"sizes = None: must be a list"),  # type: ignore[arg-type]
    ("size None", lambda: Network([None, 2]), r"sizes\[0\] = None: must be a positive integer, a string"),
    # strings: unparseable, oversized, malicious
    ("empty string", lambda: Network(["", 2]), r"an empty string"),
    ("float string", lambda: Network(["1.5", 2]), r"unexpected character '\.'"),
    ("implicit product", lambda: Network(["2h", 2]), r"write 2\*h, not 2h"),
    ("unclosed", lambda: Network(["(h+1", 2]), r"never closed"),
    ("dangling", lambda: Network(["h+", 2]), r"ends too early"),
    ("division by zero", lambda: Network(["h/0", 2]), r"division by zero"),
    ("too long", lambda: Network(["h+" * 150 + "h", 2]), r"limited to 200 characters"),
    ("too deep", lambda: Network(["(" * 40 + "h" + ")" * 40, 2]), r"nested more than 32 levels"),
    ("huge power", lambda: Network(["9**9**9", 2]), r"exponent must be an integer constant from 0 to 64"),
    ("huge product", lambda: Network(["9" * 60 + "^3 * " + "9" * 60 + "^3", 2]), r"more than 200 digits"),
    ("huge power of a literal", lambda: Network(["(10^60)^60", 2]), r"more than 200 digits"),
    ("symbolic exponent", lambda: Network(["2^h", 2]), r"exponent must be an integer constant"),
    ("call", lambda: Network(["__import__('os').system('touch /tmp/complexa-pwned')", 2]), r"unexpected character"),
    ("function call", lambda: Network(["exec(h)", 2]), r"looks like a function call"),
    ("attribute escape", lambda: Network(["Symbol.__new__.__globals__", 2]), r"unexpected character '\.'"),
    ("lambda", lambda: Network(["lambda: 1", 2]), r"unexpected character ':'"),
    ("parse non-string", lambda: parse(3), r"must be a string"),  # type: ignore[arg-type]
    # batch and options
    ("batch zero", lambda: Network([2, 3], batch=0), r"batch = 0: must be a positive integer"),
    ("batch float", lambda: Network([2, 3], batch=1.5), r"batch = 1.5"),
    ("batch bool", lambda: Network([2, 3], batch=False), r"batch = False: a bool"),
    ("unknown activation", lambda: Network([2, 3], activation="softmax"), r"activation = 'softmax': must be one of"),
    ("unknown loss", lambda: Network([2, 3], loss="hinge"), r"loss = 'hinge': must be one of"),
    ("bce without sigmoid", lambda: Network([2, 3], loss="bce", activation="relu"), r"needs sigmoid outputs"),
    ("bias not bool", lambda: Network([2, 3], bias="yes"), r"bias = 'yes': must be True or False"),  # type: ignore[arg-type]
    ("uniform width zero", lambda: Network.uniform(0, 3), r"width = 0"),
    ("uniform depth zero", lambda: Network.uniform(3, 0), r"depth = 0"),
    ("uniform depth float", lambda: Network.uniform(3, 2.0), r"depth = 2.0"),
    # derive
    ("unknown model", lambda: derive(NET, model="paper"), r"model = 'paper': must be one of 'exact', 'essay'"),
    ("iterations zero", lambda: derive(NET, iterations=0), r"iterations = 0: must be a positive integer"),
    ("iterations negative", lambda: derive(NET, iterations=-2), r"iterations = -2"),
    ("iterations float", lambda: derive(NET, iterations=1.5), r"iterations = 1.5"),
    ("not a network", lambda: derive([2, 3]), r"must be a complexa.Network"),  # type: ignore[arg-type]
    ("essay with a batch", lambda: derive(Network([2, 3], batch=4), model="essay"), r"the essay counts one input"),
    # evaluate
    ("unknown symbol", lambda: derive(NET).evaluate(h=3, w=2), r"w=2 names a symbol the expression does not have"),
    ("missing symbol", lambda: derive(NET, iterations="T").evaluate(h=3), r"missing T"),
    ("zero value", lambda: derive(NET).evaluate(h=0), r"h = 0: must be a positive integer"),
    ("symbolic value", lambda: derive(NET).evaluate(h="w"), r"h='w' must be a positive integer"),
    ("fractional size", lambda: derive(Network([2, "h/2"])).evaluate(h=3), r"sizes\[1\] = h/2 becomes 3/2"),
    # big_o
    ("big_o unknown symbol", lambda: big_o(h**2, L="n"), r"L='n' names a symbol the expression does not have"),
    ("big_o not polynomial", lambda: big_o(1 / h), r"needs a polynomial"),
    ("big_o negative", lambda: big_o(-(h**2) + 1), r"negative coefficient"),
    ("big_o negative constant", lambda: big_o(sympy.Integer(-3)), r"not a non-negative number"),
    ("big_o string", lambda: big_o("h**2"), r"big_o takes a sympy expression"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_complexa_error(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ComplexaError, match=message):
        call()


def test_complexa_error_is_a_value_error() -> None:
    assert issubclass(ComplexaError, ValueError)
    assert complexa.ComplexaError is ComplexaError


def test_malicious_strings_run_nothing(tmp_path: object) -> None:
    marker = "/tmp/complexa-pwned"
    for text in (f"__import__('os').system('touch {marker}')", f"exec(\"open('{marker}', 'w')\")"):
        with pytest.raises(ComplexaError):
            Network([text, 2])
    assert not os.path.exists(marker)
