"""FLOP conventions, parameters and memory: hand-computed values, agreement with the exact model, symbolic forms
that evaluate to the concrete ones. The bad inputs are in the one table of tests/test_errors.py, the comparison with
PyTorch itself in tests/test_torch_crosscheck.py."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import ComplexaError, Network, big_o, derive
from complexa._flops import CONVENTIONS, DTYPES, FLOP_PHASES, Memory, flops, flops_table, memory, params
from complexa._parse import symbol

B, L, n, h = (symbol(s) for s in ("B", "L", "n", "h"))

# --- values worked out by hand ---------------------------------------------------------------------------------

# [2, 3, 1], B = 2: 9 weights (6 + 3), 4 biases, 4 units past the input.
# exact forward: 2 * (9 mul + 9 add + 4 act) = 44. Training adds the backward pass (mul 2*(1 + 3 + 3) + 18 = 32,
# add 2*1 + 9 + 4 = 15, act_grad 8) and the update (13 mul, 13 add): 44 + 55 + 26 = 125.
# torch forward: 2 * B * 9 = 36; backward: weight gradients 36, the input gradient of layer 2 only, 2 * 2 * 3 = 12.
# fvcore: B * 9 = 18. ptflops: B * (9 + 4) = 26.
HAND = [
    (Network([2, 3, 1], batch=2), {"exact": (44, 125), "torch": (36, 84), "fvcore": (18, None), "ptflops": (26, None)}),
    # Without biases ptflops is fvcore. exact: forward 18 mul, 10 add, 8 act = 36; backward 32 mul, 11 add,
    # 8 act_grad (relu's g' still counts) = 51; update 9 + 9 = 18.
    (
        Network([2, 3, 1], batch=2, bias=False, activation="relu"),
        {"exact": (36, 105), "torch": (36, 84), "fvcore": (18, None), "ptflops": (18, None)},
    ),
    # One layer: torch's backward has no input gradient at all, only the weight gradient (2 * 3 * 4 * 2 = 48).
    (
        Network([4, 2], batch=3, activation="identity"),
        {"exact": (48, 48 + 6 + 24 + 20 + 20), "torch": (48, 96), "fvcore": (24, None),
         "ptflops": (30, None)},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("network", "expected"), HAND, ids=[repr(net) for net, _ in HAND])
def test_hand_computed(network: Network, expected: dict[str, tuple[int, int | None]]) -> None:
    rows = {convention: (forward, training) for convention, forward, training in flops_table(network)}
    assert rows == expected
    for convention, (forward, training) in expected.items():
        assert flops(network, convention=convention) == forward
        if training is not None:
            assert flops(network, convention=convention, phase="training") == training


def test_one_layer_exact_by_hand() -> None:
    # [4, 2], B = 3, identity, bias: forward 3 * (8 mul + 2*(3 + 1) add) = 48; output delta 3 * 2 add; weight
    # gradient 3 * 8 mul and 2 * 8 add; bias gradient 2 * 2 add; update 10 mul and 10 add.
    d = derive(Network([4, 2], batch=3, activation="identity")).evaluate()
    assert sum(d.counts["forward"].values()) == 48
    assert sum(sum(ops.values()) for ops in d.counts.values()) == 48 + 6 + 24 + 16 + 4 + 20


# --- the exact convention is the exact model ------------------------------------------------------------------

NETWORKS = [
    Network([2, 3, 1]),
    Network([784, "h", "h", 10], batch="B"),
    Network(["n_0", "n_1", "n_2"], batch="B", bias=False, activation="relu"),
    Network([3, "2*h + 1", 2], loss="bce"),
    Network([5, "h", 4], activation="identity", batch=7),
    Network.uniform("n", "L", batch="B"),
    Network.uniform("n", "L", activation="tanh", bias=False),
]


@pytest.mark.parametrize("network", NETWORKS, ids=repr)
def test_exact_is_every_counted_operation_of_derive(network: Network) -> None:
    counts = derive(network).counts
    assert flops(network) == sympy.expand(sum(counts["forward"].values()))
    every = sum(sum(ops.values()) for ops in counts.values())
    assert flops(network, phase="training") == sympy.expand(every)


n_0, n_1, n_2 = (symbol(f"n_{k}") for k in range(3))
PARAMS = [
    13,  # 3 * (2 + 1) + 1 * (3 + 1)
    h**2 + 796 * h + 10,  # h * (784 + 1) + h * (h + 1) + 10 * (h + 1)
    n_0 * n_1 + n_1 * n_2,  # no biases
    12 * h + 8,  # (2h + 1) * (3 + 1) + 2 * (2h + 1 + 1)
    10 * h + 4,  # h * (5 + 1) + 4 * (h + 1)
    L * n**2 + L * n,  # L layers of n * (n + 1)
    L * n**2,  # no biases
]


@pytest.mark.parametrize(("network", "expected"), list(zip(NETWORKS, PARAMS)), ids=[repr(net) for net in NETWORKS])
def test_params_by_hand_are_the_update_count(network: Network, expected: sympy.Expr) -> None:
    assert params(network) == expected
    # The update is one multiplication and one addition per parameter (docs/counting.md).
    assert derive(network).counts["update"] == {"mul": expected, "add": expected, "act": 0, "act_grad": 0}


# --- symbolic forms ---------------------------------------------------------------------------------------------


def test_uniform_closed_forms() -> None:
    net = Network.uniform("n", "L", batch="B")
    assert flops(net, convention="torch") == 2 * B * L * n**2
    assert flops(net, convention="torch", phase="training") == 6 * B * L * n**2 - 2 * B * n**2
    assert flops(net, convention="fvcore") == B * L * n**2
    assert flops(net, convention="ptflops") == sympy.expand(B * L * n * (n + 1))
    assert params(net) == L * n**2 + L * n
    m = memory(net)
    assert (m.parameters, m.gradients) == (L * n**2 + L * n, L * n**2 + L * n)
    assert m.activations == sympy.expand(B * (n + 2 * L * n))
    assert m.deltas == B * L * n


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("phase", FLOP_PHASES)
def test_symbolic_depth_agrees_with_every_concrete_depth(convention: str, phase: str) -> None:
    if phase == "training" and convention in ("fvcore", "ptflops"):
        # Forward-only tools: refused alike for a symbolic and a concrete depth.
        for network in (Network.uniform("n", "L", batch="B"), Network(["n"] * 3, batch="B")):
            with pytest.raises(ComplexaError, match=f"convention = '{convention}' with phase = 'training'"):
                flops(network, convention=convention, phase=phase)
        return
    general = flops(Network.uniform("n", "L", batch="B"), convention=convention, phase=phase)
    for depth in (1, 2, 5):
        concrete = flops(Network(["n"] * (depth + 1), batch="B"), convention=convention, phase=phase)
        assert general.xreplace({L: depth}).expand() == concrete


sizes = st.lists(st.integers(1, 6), min_size=2, max_size=5)


@settings(max_examples=40, deadline=None)
@given(sizes, st.integers(1, 4), st.booleans(), st.sampled_from(["sigmoid", "relu", "identity"]))
def test_symbolic_sizes_evaluate_to_the_concrete_counts(
    values: list[int], batch: int, bias: bool, activation: str
) -> None:
    names = [f"n_{k}" for k in range(len(values))]
    general = Network(names, batch="B", bias=bias, activation=activation)
    concrete = Network(values, batch=batch, bias=bias, activation=activation)
    mapping = {symbol(name): value for name, value in zip(names, values)} | {B: batch}
    for convention, forward, training in flops_table(general):
        assert forward.xreplace(mapping) == flops(concrete, convention=convention)
        if training is not None:
            assert training.xreplace(mapping) == flops(concrete, convention=convention, phase="training")
    assert params(general).xreplace(mapping) == params(concrete)
    for phase in ("inference", "training"):
        assert memory(general, phase=phase).bytes.xreplace(mapping) == memory(concrete, phase=phase).bytes


def test_big_o_of_each_convention() -> None:
    net = Network([784, "h", "h", 10], batch="B")
    for convention, forward, training in flops_table(net):
        assert big_o(forward) == big_o(B * h**2), convention
        if training is not None:
            assert big_o(training) == big_o(B * h**2), convention
    assert big_o(params(net)) == big_o(h**2)


# --- parameters and memory --------------------------------------------------------------------------------------


def test_memory_by_hand() -> None:
    # [2, 3, 1], B = 2: 13 parameters; activations 2 * (2 + 2 * (3 + 1)) = 20 for training, 2 * (2 + 4) = 12 for
    # inference; deltas 2 * (3 + 1) = 8 for training.
    m = memory(Network([2, 3, 1], batch=2))
    assert (m.parameters, m.activations, m.gradients, m.deltas, m.elements, m.bytes) == (13, 20, 13, 8, 54, 54 * 8)
    m = memory(Network([2, 3, 1], batch=2, bias=False), phase="inference", dtype="float16")
    assert (m.parameters, m.activations, m.gradients, m.deltas, m.elements, m.bytes) == (9, 12, 0, 0, 21, 42)


# [784, h, 10], batch B, training: parameters h (784 + 1) + 10 (h + 1) = 795 h + 10, as many gradients;
# activations B (784 + 2 (h + 10)) = 2 B h + 804 B; deltas B (h + 10). Elements: 3 B h + 814 B + 1590 h + 20.
BYTES = {
    "float64": 24 * B * h + 6512 * B + 12720 * h + 160,  # 8 bytes an element
    "float32": 12 * B * h + 3256 * B + 6360 * h + 80,
    "float16": 6 * B * h + 1628 * B + 3180 * h + 40,
    "bfloat16": 6 * B * h + 1628 * B + 3180 * h + 40,
}


@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_by_hand(dtype: str) -> None:
    m = memory(Network([784, "h", 10], batch="B"), dtype=dtype)
    assert (m.parameters, m.activations, m.gradients, m.deltas) == (
        795 * h + 10,
        2 * B * h + 804 * B,
        795 * h + 10,
        B * h + 10 * B,
    )
    assert m.elements == 3 * B * h + 814 * B + 1590 * h + 20
    assert m.bytes == BYTES[dtype]


def test_memory_big_o_and_str() -> None:
    m = memory(Network([784, "h", 10], batch="B"), phase="inference")
    assert isinstance(m, Memory)
    assert m.big_o()["activations"] == big_o(B * h)
    assert str(m).splitlines() == [
        "parameters: 795*h + 10",
        "activations: B*h + 794*B",
        "gradients: 0",
        "deltas: 0",
        "optimizer: 0",
        "elements: B*h + 794*B + 795*h + 10",
        "bytes (float64): 8*B*h + 6352*B + 6360*h + 80",
    ]


@pytest.mark.parametrize(
    "network",
    [Network([2, 3, 1], batch=2), Network([3, 5, 4, 2], batch=3, bias=False, activation="relu"), Network([1, 1])],
    ids=repr,
)
def test_memory_matches_what_the_reference_allocates(network: Network) -> None:
    from complexa.reference import measure

    m = memory(network, phase="training", dtype="float64")
    assert measure(network).allocated == {
        "parameters": m.parameters,
        "activations": m.activations,
        "gradients": m.gradients,
        "deltas": m.deltas,
        "optimizer": 0,  # plain SGD keeps no state
        "scratch": 0,  # the kernels keep nothing beyond the model's arrays
    }
