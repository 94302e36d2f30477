"""The essay model reproduces the essay's own results, symbol for symbol."""

from __future__ import annotations

import pytest
import sympy

from complexa import Network, derive
from complexa._parse import symbol

n, L, T = symbol("n"), symbol("L"), symbol("T")


@pytest.fixture(scope="module")
def uniform():  # type: ignore[no-untyped-def]
    return derive(Network.uniform("n", "L"), model="essay", iterations="T")


def test_forward_sums_for_any_vector() -> None:
    a, b, c, d = (symbol(s) for s in "abcd")
    q = derive(Network(["a", "b", "c", "d"]), model="essay").quantities
    # n_mul = sum_{k=2}^{L} n_k n_{k-1} n_{k-2} + n_1 n_0 1;  n_g = sum_{k=1}^{L} n_k;  time = n_mul + n_g
    assert q["n_mul"] == sympy.expand(c * b * a + d * c * b + b * a)
    assert q["n_g"] == b + c + d
    assert q["time_forward"] == sympy.expand(q["n_mul"] + q["n_g"])


def test_single_layer_keeps_only_the_first_product() -> None:
    q = derive(Network([5, 7]), model="essay").quantities
    assert (q["n_mul"], q["n_g"], q["time_forward"]) == (35, 7, 42)


def test_uniform_results(uniform) -> None:  # type: ignore[no-untyped-def]
    q = uniform.quantities
    assert q["n_mul"] == sympy.expand((L - 1) * n**3 + n**2)
    assert q["n_g"] == L * n
    assert q["time_error"] == sympy.expand(n**2 + n**4 * (L - 1))
    assert q["time_weights"] == sympy.expand(n**2 + n**4 * (L - 1) + n**3)
    assert q["time_gradient_descent"] == sympy.expand(T * (n**2 + n**4 * (L - 1) + n**3))


def test_big_o_under_the_essays_assumptions(uniform) -> None:  # type: ignore[no-untyped-def]
    orders = uniform.big_o(L="n", T="n")
    expected = {
        "n_mul": n**4,
        "n_g": n**2,
        "time_forward": n**4,
        "time_error": n**5,
        "time_weights": n**5,
        "time_gradient_descent": n**6,
    }
    assert {k: o.expr for k, o in orders.items()} == expected
    assert uniform.assumptions == {"L": n, "T": n}


def test_concrete_uniform_network_gets_the_uniform_backward_formulas() -> None:
    q = derive(Network([3, 3, 3]), model="essay", iterations=2).quantities
    assert q["time_error"] == 3**2 + 3**4 * (2 - 1)
    assert q["time_weights"] == 9 + 81 + 27
    assert q["time_gradient_descent"] == 2 * (9 + 81 + 27)


def test_non_uniform_network_has_no_backward_formula_and_says_why() -> None:
    d = derive(Network([784, "h", 10]), model="essay")
    assert set(d.quantities) == {"n_mul", "n_g", "time_forward"}
    assert "only for n neurons in every layer" in d.notes[0]
    assert d.counts == {"forward": {"mul": d.quantities["n_mul"], "act": d.quantities["n_g"]}}


def test_steps_show_the_essays_stated_form_and_claims(uniform) -> None:  # type: ignore[no-untyped-def]
    steps = [s for s in uniform.steps if s.lhs == "n_mul"]
    assert steps[0].rhs.has(sympy.Sum)
    assert any(s.rhs == L * n**3 and "square matrices" in s.note for s in steps)
    assert isinstance(steps[-1].rhs, sympy.Order) and "as the essay finds" in steps[-1].note


def test_evaluate_symbolic_depth_matches_the_concrete_network(uniform) -> None:  # type: ignore[no-untyped-def]
    concrete = derive(Network([4] * 6), model="essay", iterations=3).evaluate()
    assert uniform.evaluate(n=4, L=5, T=3).quantities == concrete.quantities


def test_evaluate_keeps_the_shape_when_sizes_become_equal() -> None:
    d = derive(Network(["h", "w"]), model="essay")
    assert set(d.evaluate(h=3, w=3).quantities) == set(d.quantities) == {"n_mul", "n_g", "time_forward"}
