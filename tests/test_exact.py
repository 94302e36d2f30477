"""The exact model: hand-computed counts for small networks, and properties that could fail."""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import ACTIVATIONS, Network, derive
from complexa._parse import symbol

h, B, T, L, n = (symbol(s) for s in ("h", "B", "T", "L", "n"))


def counts(network: Network, iterations: int = 1) -> dict[str, dict[str, int]]:
    return derive(network, iterations=iterations).evaluate().counts


def test_hand_computed_sigmoid_mse_with_bias() -> None:
    # [2, 3, 1], batch 1. forward: 3*2 + 1*3 = 9 mul; adds 3*(1 + 1) + 1*(2 + 1) = 9; 4 activations.
    # error: output 1 add, 1 mul, 1 act_grad; hidden layer 1: 3 dot products of length 1 (3 mul, 0 add), then 3 mul
    # and 3 act_grad. gradients: 9 mul, 0 add (batch 1). update: 9 weights + 4 biases = 13 mul and 13 add.
    assert counts(Network([2, 3, 1])) == {
        "forward": {"mul": 9, "add": 9, "act": 4, "act_grad": 0},
        "backward": {"mul": 1 + 3 + 3 + 9, "add": 1, "act": 0, "act_grad": 4},
        "update": {"mul": 13, "add": 13, "act": 0, "act_grad": 0},
    }


def test_hand_computed_relu_without_bias_batch_2() -> None:
    # forward adds: 2 * (3*(2-1) + 1*(3-1)) = 10. gradients: 2 mul and 1 add per weight (9 weights).
    assert counts(Network([2, 3, 1], batch=2, bias=False, activation="relu")) == {
        "forward": {"mul": 18, "add": 10, "act": 8, "act_grad": 0},
        "backward": {"mul": 2 * (1 + 3 + 3) + 18, "add": 2 * 1 + 9, "act": 0, "act_grad": 8},
        "update": {"mul": 9, "add": 9, "act": 0, "act_grad": 0},
    }


def test_identity_activation_has_no_activation_work() -> None:
    c = counts(Network([2, 3, 1], activation="identity"))
    assert c["forward"]["act"] == 0 and c["backward"]["act_grad"] == 0
    assert c["backward"]["mul"] == 3 + 9  # only W^T delta and the weight gradients


def test_bce_output_delta_is_one_subtraction() -> None:
    mse = counts(Network([2, 3, 1]))
    bce = counts(Network([2, 3, 1], loss="bce"))
    assert mse["backward"]["mul"] - bce["backward"]["mul"] == 1
    assert mse["backward"]["act_grad"] - bce["backward"]["act_grad"] == 1
    assert mse["backward"]["add"] == bce["backward"]["add"]


def test_single_layer_and_width_one() -> None:
    assert counts(Network([1, 1])) == {
        "forward": {"mul": 1, "add": 1, "act": 1, "act_grad": 0},
        "backward": {"mul": 2, "add": 1, "act": 0, "act_grad": 1},
        "update": {"mul": 2, "add": 2, "act": 0, "act_grad": 0},
    }


def test_iterations_multiply_every_count() -> None:
    one, five = counts(Network([3, 4, 2])), counts(Network([3, 4, 2]), iterations=5)
    assert five == {p: {op: 5 * v for op, v in ops.items()} for p, ops in one.items()}


def test_symbolic_network_quantities() -> None:
    d = derive(Network([784, "h", "h", 10]))
    assert d.quantities["n_mul"] == h**2 + 794 * h
    assert d.quantities["n_g"] == 2 * h + 10
    assert d.counts["update"]["mul"] == h**2 + 796 * h + 10


def test_uniform_symbolic_depth_is_a_closed_form() -> None:
    d = derive(Network.uniform("n", "L", batch="B"), iterations="T")
    assert d.counts["forward"]["mul"] == B * L * T * n**2
    assert d.quantities["n_mul"] == B * L * n**2
    assert d.big_o(L="n", T="n")["n_mul"].expr == B * n**3
    for depth in (1, 2, 5):
        symbolic = d.evaluate(n=3, L=depth, B=2, T=2)
        concrete = derive(Network([3] * (depth + 1), batch=2), iterations=2).evaluate()
        assert (symbolic.counts, symbolic.quantities) == (concrete.counts, concrete.quantities)


# --- properties -------------------------------------------------------------------------------------------------

SIZE_TEXT = st.sampled_from(["1", "2", "3", "7", "h", "2*h", "h + 1", "w", "h*w", "3*w + 2"])


@st.composite
def symbolic_networks(draw: st.DrawFn) -> Network:
    sizes = draw(st.lists(SIZE_TEXT, min_size=2, max_size=5))
    return Network(
        sizes,
        batch=draw(st.sampled_from([1, 4, "B"])),
        bias=draw(st.booleans()),
        activation=draw(st.sampled_from(ACTIVATIONS)),
    )


def _all_exprs(network: Network, iterations: object = 1) -> list[sympy.Expr]:
    d = derive(network, iterations=iterations)
    return [v for ops in d.counts.values() for v in ops.values()] + list(d.quantities.values())


@settings(max_examples=60, deadline=None)
@given(symbolic_networks())
def test_counts_are_polynomials_non_negative_for_every_valid_size(network: Network) -> None:
    # Sizes are at least 1: with every symbol s written as 1 + s', a count must have no negative coefficient.
    for expr in _all_exprs(network, iterations="T"):
        symbols = sorted(expr.free_symbols, key=str)
        if not symbols:
            assert expr >= 0
            continue
        shifted = sympy.expand(expr.xreplace({s: 1 + s for s in symbols}))
        assert all(c >= 0 for c in sympy.Poly(shifted, *symbols).coeffs()), expr


@settings(max_examples=60, deadline=None)
@given(symbolic_networks())
def test_forward_and_update_counts_are_the_sum_of_the_layers_counts(network: Network) -> None:
    whole = derive(network).counts
    layers = [
        derive(Network(list(network.sizes[k - 1 : k + 1]), **network.options())).counts
        for k in range(1, len(network.sizes))
    ]  # type: ignore[arg-type]
    for phase in ("forward", "update"):
        for op, value in whole[phase].items():
            assert sympy.expand(value - sympy.Add(*[c[phase][op] for c in layers])) == 0, (phase, op)


@settings(max_examples=60, deadline=None)
@given(symbolic_networks())
def test_forward_counts_scale_linearly_in_the_batch(network: Network) -> None:
    options = {**network.options(), "batch": 1}
    single = derive(Network(list(network.sizes), **options)).counts["forward"]  # type: ignore[arg-type]
    batched = derive(Network(list(network.sizes), **{**options, "batch": "B"})).counts["forward"]  # type: ignore[arg-type]
    for op in single:
        assert sympy.expand(batched[op] - B * single[op]) == 0


@settings(max_examples=40, deadline=None)
@given(symbolic_networks(), st.integers(1, 9), st.integers(1, 9), st.integers(1, 4), st.integers(1, 3))
def test_evaluate_is_the_substitution(network: Network, hv: int, wv: int, bv: int, tv: int) -> None:
    d = derive(network, iterations="T")
    values = {"h": hv, "w": wv, "B": bv, "T": tv}
    given_values = {k: v for k, v in values.items() if k in {s.name for s in d.free_symbols}}
    e = d.evaluate(**given_values)
    mapping = {s: values[s.name] for s in d.free_symbols}
    for phase, ops in d.counts.items():
        for op, expr in ops.items():
            assert expr.xreplace(mapping) == e.counts[phase][op]
    for name, expr in d.quantities.items():
        assert expr.xreplace(mapping) == e.quantities[name]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=2, max_size=5), st.sampled_from(ACTIVATIONS), st.booleans())
def test_adding_a_layer_never_lowers_a_count(sizes: list[int], activation: str, bias: bool) -> None:
    small = counts(Network(sizes, activation=activation, bias=bias))
    big = counts(Network([*sizes, sizes[-1]], activation=activation, bias=bias))
    for phase, ops in small.items():
        for op, value in ops.items():
            assert big[phase][op] >= value
