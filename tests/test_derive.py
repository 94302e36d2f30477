"""`Derivation.evaluate` is the substitution: deriving the concrete network again (what evaluate does, in Python
integers) gives what substituting the values into the symbolic counts and quantities gives, for both models, for
lists of sizes and for a symbolic depth."""

from __future__ import annotations

from typing import Any

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import ACTIVATIONS, Network, derive

SIZE_TEXT = st.sampled_from(["1", "2", "3", "7", "h", "2*h", "h + 1", "w", "h*w", "3*w + 2"])


@st.composite
def derivations(draw: st.DrawFn) -> Any:
    model = draw(st.sampled_from(["exact", "essay"]))
    activation = draw(st.sampled_from(ACTIVATIONS))
    options: dict[str, Any] = {
        "batch": 1 if model == "essay" else draw(st.sampled_from([1, 4, "B"])),
        "bias": draw(st.booleans()),
        "activation": activation,
        "loss": draw(st.sampled_from(["mse", "bce"])) if activation == "sigmoid" else "mse",
    }
    if draw(st.booleans()):
        network = Network.uniform(draw(SIZE_TEXT), draw(st.sampled_from([1, 2, 3, "L"])), **options)
    else:
        network = Network(draw(st.lists(SIZE_TEXT, min_size=2, max_size=5)), **options)
    return derive(network, model=model, iterations=draw(st.sampled_from([1, 3, "T"])))


@settings(max_examples=80, deadline=None)
@given(derivations(), st.fixed_dictionaries({name: st.integers(1, 9) for name in ("h", "w", "B", "L", "T")}))
def test_evaluate_is_the_substitution(d: Any, values: dict[str, int]) -> None:
    mapping = {s: values[s.name] for s in d.free_symbols}
    e = d.evaluate(**{s.name: v for s, v in mapping.items()})
    assert e.values == {s.name: v for s, v in mapping.items()}
    assert e.counts == {
        phase: {op: expr.xreplace(mapping) for op, expr in ops.items()} for phase, ops in d.counts.items()
    }
    assert e.quantities == {name: expr.xreplace(mapping) for name, expr in d.quantities.items()}
    for ops in e.counts.values():
        assert all(type(value) is int for value in ops.values())


def test_the_essays_uniform_network_by_hand() -> None:
    # n = 4, L = 5, T = 3: n_mul = (L - 1) n^3 + n^2 = 4 * 64 + 16 = 272; n_g = L n = 20; time_error =
    # n^2 + n^4 (L - 1) = 16 + 256 * 4 = 1040; time_weights = 1040 + 64 = 1104; time_gradient_descent = 3 * 1104.
    e = derive(Network.uniform("n", "L"), model="essay", iterations="T").evaluate(n=4, L=5, T=3)
    assert e.quantities == {
        "n_mul": 272,
        "n_g": 20,
        "time_forward": 292,
        "time_error": 1040,
        "time_weights": 1104,
        "time_gradient_descent": 3312,
    }
    assert e.counts == {"forward": {"mul": 272, "act": 20}}
    assert sympy.Integer(e.quantities["n_mul"]) == derive(Network([4] * 6), model="essay").quantities["n_mul"]
