"""Networks built from complexa.nn layers: derive equals measure on every phase and op, the numerics equal the
textbook numpy steps, the dense network is its Linear and activation layers, and counts by layer add up."""

from __future__ import annotations

import naive  # tests/naive.py, on sys.path as pytest puts tests/ there
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import ComplexaError, Network, derive, measure, nn, params
from complexa.reference.kinds.linear import CHUNK
from complexa.strategies import layer_stacks, networks


def as_ints(counts: dict[str, dict[str, sympy.Expr]]) -> dict[str, dict[str, int]]:
    return {phase: {op: int(value) for op, value in ops.items()} for phase, ops in counts.items()}


@settings(max_examples=220, deadline=None)
@given(layer_stacks(), st.integers(1, 3), st.integers(0, 2**16))
def test_derive_equals_measure_and_the_numerics_are_the_textbook_steps(network: Network, iterations: int, seed: int):
    m = measure(network, iterations=iterations, seed=seed)
    assert as_ints(derive(network, iterations=iterations).counts) == m.counts
    naive.assert_stack_matches_naive(m)


@settings(max_examples=40, deadline=None)
@given(layer_stacks(max_batch=6))
def test_the_estimate_before_allocating_is_what_is_allocated(network: Network) -> None:
    from complexa.reference._runtime import plan

    m = measure(network)
    allocated = dict(m.allocated)
    optimizer = allocated.pop("optimizer")
    assert plan(network).elements() == allocated
    parameters = int(params(network))
    assert allocated["parameters"] == allocated["gradients"] == parameters
    # Adam keeps two moments per parameter and two running powers per tensor; momentum one buffer; plain SGD none.
    tensors = len(m.state_before)
    expected = {
        "Adam": 2 * parameters + 2 * tensors,
        "SGD": parameters if getattr(network.optimizer, "momentum", 0) else 0,
    }
    assert optimizer == expected.get(type(network.optimizer).__name__, 0)


@settings(max_examples=40, deadline=None)
@given(layer_stacks(max_batch=6))
def test_memory_is_what_measure_allocates(network: Network) -> None:
    from complexa import memory

    derived = memory(network)
    allocated = measure(network).allocated
    for name in ("parameters", "gradients", "activations", "deltas", "optimizer"):
        assert int(getattr(derived, name)) == allocated[name], name


@pytest.mark.parametrize("optimizer", ["sgd", nn.SGD(momentum=0.5), nn.Adam()], ids=repr)
def test_the_memory_of_a_dense_network_is_its_layers(optimizer: object) -> None:
    from complexa import memory

    dense = Network([784, "h", "h", 10], batch="B", optimizer=optimizer)
    layered = Network(list(dense.layers), batch="B", optimizer=optimizer)
    assert memory(dense) == memory(layered).__class__(**{**vars(memory(layered)), "network": dense})
    with pytest.raises(ComplexaError, match="phase = 'inference' is modelled for a dense network"):
        memory(layered, phase="inference")


def test_residuals_before_the_first_parameters_by_hand() -> None:
    # Nothing before layer 2 has parameters: the first residual computes no gradient at all, the second's Linear only
    # its weight and bias gradients, and neither residual adds the gradients of its two paths.
    net = Network(
        [
            nn.LayerNorm(3, elementwise_affine=False),
            nn.Residual(nn.ReLU()),
            nn.Residual(nn.Linear(3, 3), nn.ReLU()),
            nn.Linear(3, 2),
        ],
        batch="B",
    )
    B = sympy.Symbol("B", positive=True, integer=True)
    rows = derive(net).by_layer
    assert {op: v for op, v in rows["2.0"]["backward"].items() if v} == {"mul": 9 * B, "add": 12 * B - 12}
    assert {op: v for op, v in rows["2.1"]["backward"].items() if v} == {"mul": 3 * B, "act_grad": 3 * B}
    for path in ("0", "1", "1.0", "2"):
        assert not any(rows[path]["backward"].values()), path
    for batch in (1, 5):
        concrete = net.xreplace({"B": batch})
        m = measure(concrete, iterations=2)
        assert as_ints(derive(concrete, iterations=2).counts) == m.counts
        naive.assert_stack_matches_naive(m)


def test_plain_sgd_with_its_own_rate() -> None:
    net = Network([nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)], batch=3, optimizer=nn.SGD(lr=0.05))
    m = measure(net, lr=0.9)  # measure's lr is for "sgd" only
    naive.assert_stack_matches_naive(m)
    np.testing.assert_allclose(
        m.state_after["0.weight"], m.state_before["0.weight"] - 0.05 * m.gradients["0.weight"], rtol=1e-12
    )


@pytest.mark.parametrize(
    "wanted",
    [
        lambda net: any(isinstance(layer, nn.Residual) for layer in net.layers),
        lambda net: any(
            isinstance(layer, nn.Residual) and any(isinstance(c, nn.Residual) for c in layer.layers)
            for layer in net.layers
        ),
        lambda net: any(isinstance(layer, nn.LayerNorm) and not layer.elementwise_affine for layer in net.layers),
        lambda net: any(
            isinstance(layer, nn.Linear) and not layer.bias and layer.in_features != layer.out_features
            for layer in net.layers
        ),
        lambda net: isinstance(net.layers[0], nn.LayerNorm),
        lambda net: isinstance(net.layers[0], nn.Linear),
        lambda net: isinstance(net.optimizer, nn.Adam),
        lambda net: isinstance(net.optimizer, nn.SGD) and net.optimizer.momentum > 0,
        lambda net: net.optimizer == "sgd",
        lambda net: net.batch == 33,
        *(lambda net, loss=loss: net.loss == loss for loss in ("mse", "bce", "cross_entropy")),
        *(
            lambda net, kind=kind: any(layer.kind == kind for layer in net.layers)
            for kind in ("Sigmoid", "Tanh", "ReLU", "GELU", "Identity")
        ),
        lambda net: any(isinstance(layer, nn.GELU) and layer.approximate == "tanh" for layer in net.layers),
    ],
)
def test_layer_stacks_draws_every_kind_and_option(wanted: object) -> None:
    from hypothesis import find

    find(layer_stacks(), wanted, settings=settings(max_examples=2000, database=None))  # type: ignore[arg-type]


def test_a_nested_residual_with_nothing_to_train_before_it() -> None:
    # Nothing before the inner residual has parameters: its backward stops where the gradient does.
    net = Network([nn.LayerNorm(2, elementwise_affine=False), nn.Residual(nn.Residual(nn.Sigmoid()), nn.Linear(2, 2))])
    m = measure(net, iterations=2)
    assert as_ints(derive(net, iterations=2).counts) == m.counts
    naive.assert_stack_matches_naive(m)


@pytest.mark.parametrize("batch", naive.KERNEL_BATCHES)
def test_every_kernel_path_of_every_kind(batch: int) -> None:
    # Every kind, loss and optimizer at batches that reach each remainder of the four-sample loops.
    stacks = [
        Network(
            [nn.Linear(5, 4), nn.ReLU(), nn.LayerNorm(4), nn.Residual(nn.Linear(4, 4), nn.GELU()), nn.Linear(4, 3)],
            batch=batch,
            loss="cross_entropy",
            optimizer=nn.Adam(lr=0.01),
        ),
        Network(
            [
                nn.LayerNorm(33, elementwise_affine=False),
                nn.Linear(33, 6, bias=False),
                nn.Tanh(),
                nn.Residual(nn.LayerNorm(6), nn.GELU(approximate="tanh"), nn.Identity()),
                nn.Linear(6, 2),
                nn.Sigmoid(),
            ],
            batch=batch,
            loss="bce",
            optimizer=nn.SGD(lr=0.1, momentum=0.9),
        ),
        # Wider than one chunk of Linear's combine (CHUNK columns), with rows left over by its threes and terms
        # left over by its fours: the gradients of W (7 x 520) and the input gradient of the 520 features.
        Network([nn.Linear(3, CHUNK + 8), nn.Tanh(), nn.Linear(CHUNK + 8, 7)], batch=batch, loss="cross_entropy"),
    ]
    for network in stacks:
        m = measure(network, iterations=3, seed=batch)
        assert as_ints(derive(network, iterations=3).counts) == m.counts
        naive.assert_stack_matches_naive(m)


@settings(max_examples=60, deadline=None)
@given(networks(), st.sampled_from(["sgd", nn.SGD(lr=0.1, momentum=0.5), nn.Adam()]))
def test_the_dense_network_is_its_layers(dense: Network, optimizer: object) -> None:
    dense = Network(list(dense.sizes), **{**dense.options(), "optimizer": optimizer})  # type: ignore[arg-type]
    layered = Network(list(dense.layers), batch=dense.batch, loss=dense.loss, optimizer=optimizer)
    assert layered.is_stack and not dense.is_stack
    assert derive(dense, iterations=2).counts == derive(layered, iterations=2).counts
    assert derive(dense).quantities == derive(layered).quantities
    assert measure(dense, iterations=2).counts == measure(layered, iterations=2).counts
    assert params(dense) == params(layered)


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_a_symbolic_dense_network_is_its_layers(depth: int) -> None:
    for optimizer in ("sgd", nn.SGD(momentum=0.9), nn.Adam()):
        uniform = derive(Network.uniform("n", "L", batch="B", activation="tanh", optimizer=optimizer), iterations="T")
        layered = Network([*Network.uniform("n", depth, activation="tanh").layers], batch="B", optimizer=optimizer)
        at_depth = {L: depth for L in uniform.free_symbols if L.name == "L"}
        for phase, ops in derive(layered, iterations="T").counts.items():
            for op, value in ops.items():
                assert sympy.expand(uniform.counts[phase][op].xreplace(at_depth) - value) == 0, (phase, op)


@settings(max_examples=40, deadline=None)
@given(layer_stacks(max_batch=4))
def test_counts_by_layer_add_up_to_the_counts(network: Network) -> None:
    d = derive(network, iterations=2)
    rows = d.by_layer
    assert "loss" in rows and all(path in rows for path in ("0",))
    for phase, ops in d.counts.items():
        for op, value in ops.items():
            assert sympy.expand(sum((row[phase][op] for row in rows.values()), sympy.Integer(0)) - value) == 0


def test_by_layer_of_a_symbolic_stack_by_hand() -> None:
    net = Network(
        [
            nn.Linear(784, "h"),
            nn.ReLU(),
            nn.LayerNorm("h"),
            nn.Residual(nn.Linear("h", "h"), nn.GELU()),
            nn.Linear("h", 10),
        ],
        batch="B",
        loss="cross_entropy",
        optimizer=nn.Adam(lr=1e-3),
    )
    d = derive(net)
    B, h = sympy.symbols("B h", positive=True, integer=True)
    assert list(d.by_layer) == ["0", "1", "2", "3", "3.0", "3.1", "4", "loss"]
    # The first Linear computes no input gradient: its backward is the weight and bias gradients only.
    assert d.by_layer["0"]["backward"]["mul"] == 784 * B * h
    assert d.by_layer["0"]["backward"]["add"] == sympy.expand((B - 1) * (784 * h + h))
    # LayerNorm(h), per sample: forward 2h mul + h affine mul, 3h - 1 add + h affine add, 3 div, 1 sqrt.
    assert d.by_layer["2"]["forward"] == {
        "mul": 3 * B * h,
        "add": 4 * B * h - B,
        "div": 3 * B,
        "sqrt": B,
        "exp": 0,
        "cmp": 0,
        "act": 0,
        "act_grad": 0,
    }
    # The residual's own additions, forward and backward.
    assert d.by_layer["3"]["forward"]["add"] == B * h and d.by_layer["3"]["backward"]["add"] == B * h
    # Softmax over 10 classes and p - onehot: 9 cmp, 10 + 9 + 1 add, 10 exp, 10 div per sample.
    assert d.by_layer["loss"]["backward"] == {
        "mul": 0,
        "add": 20 * B,
        "div": 10 * B,
        "sqrt": 0,
        "exp": 10 * B,
        "cmp": 9 * B,
        "act": 0,
        "act_grad": 0,
    }
    # Adam on the 784 h + h parameters of layer 0, in two tensors.
    assert d.by_layer["0"]["update"]["sqrt"] == 785 * h + 2


def test_optimizers_by_hand() -> None:
    # One Linear(2, 1) with a bias: three parameters in two tensors, batch 1, T = 3 steps.
    for optimizer, update in [
        ("sgd", {"mul": 9, "add": 9}),
        (nn.SGD(lr=0.1, momentum=0.9), {"mul": 3 + 6 + 6, "add": 15}),  # step 1 copies the gradient into the buffer
        (nn.Adam(), {"mul": 3 * (15 + 4), "add": 3 * (15 + 4), "div": 3 * (6 + 2), "sqrt": 3 * (3 + 2)}),
    ]:
        net = Network([nn.Linear(2, 1)], optimizer=optimizer)
        measured = measure(net, iterations=3).counts["update"]
        assert {op: v for op, v in measured.items() if v} == update
        assert {op: int(v) for op, v in derive(net, iterations=3).counts["update"].items() if v} == update


def test_the_essay_model_is_for_dense_networks() -> None:
    with pytest.raises(ComplexaError, match="the essay models dense networks only"):
        derive(Network([nn.Linear(2, 2)]), model="essay")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Network([nn.Linear(784, "h"), nn.Linear("g", 10)]),
            r"layer 1 \(Linear\(g, 10\)\) takes g inputs, but layer 0 \(Linear\(784, h\)\) gives h",
        ),
        (lambda: Network([nn.ReLU(), nn.Linear(2, 2)]), r"layer 0 \(ReLU\(\)\): a network cannot start with ReLU"),
        (lambda: Network([nn.Linear(3, 4), nn.LayerNorm(3)]), r"layer 1 \(LayerNorm\(3\)\) normalises 3 features"),
        (lambda: Network([nn.Linear(3, 4), nn.Residual(nn.Linear(4, 5))]), r"layer 1 .* must keep the width"),
        (lambda: Network([nn.Linear(3, 4), nn.Residual(nn.Linear(5, 4))]), r"layer 1\.0 \(Linear\(5, 4\)\) takes 5"),
        (lambda: Network([nn.Linear(3, 1)], loss="bce"), r"binary cross-entropy needs sigmoid outputs"),
        (lambda: Network([nn.Linear(3, 1), 4]), r"layers\[1\] = 4: must be a layer of complexa.nn"),
        (lambda: Network([nn.Linear(3, 1)], activation="relu"), r"activation = 'relu': applies to a network given"),
        (lambda: Network([nn.Linear(3, 1)], optimizer="adam"), r"optimizer = 'adam': must be 'sgd'"),
        (lambda: nn.Linear(0, 3), r"Linear\(in_features\) = 0"),
        (lambda: nn.Linear(2, 3, bias="yes"), r"Linear\(bias\) = 'yes': must be True or False"),
        (lambda: nn.LayerNorm(3, eps=-1.0), r"LayerNorm\(eps\) = -1.0"),
        (lambda: nn.LayerNorm((3, 4)), r"normalises over the last dimension only"),
        (lambda: nn.GELU(approximate="fast"), r"GELU\(approximate\) = 'fast'"),
        (lambda: nn.Residual(), r"Residual\(\): give the layers"),
        (lambda: nn.Residual("relu"), r"Residual\(...\)\[0\] = 'relu'"),
        (lambda: nn.SGD(lr=-1.0), r"SGD\(lr\) = -1.0"),
        (lambda: nn.SGD(momentum=1.0), r"SGD\(momentum\) = 1.0"),
        (lambda: nn.Adam(betas=(0.9,)), r"Adam\(betas\)"),
        (lambda: nn.Adam(eps=float("nan")), r"Adam\(eps\) = nan"),
        (lambda: measure(Network([nn.Linear("h", 2)])), r"has symbols \(h\)"),
    ],
)
def test_bad_layers_are_one_line_errors(build: object, message: str) -> None:
    with pytest.raises(ComplexaError, match=message) as caught:
        build()  # type: ignore[operator]
    assert "\n" not in str(caught.value)
