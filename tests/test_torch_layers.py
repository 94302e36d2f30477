"""Stacks of layers against PyTorch: `Network.to_torch`'s modules and names, `flops(convention="torch")` against
``FlopCounterMode``, and `measure`'s numbers against a PyTorch training run (`assert_matches_torch`). Skipped
cleanly without torch."""

from __future__ import annotations

import pickle
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from complexa import ACTIVATIONS, LOSSES, ComplexaError, Network, measure, nn  # noqa: E402
from complexa._flops import flops, params  # noqa: E402
from complexa.nn._torch import load_state, torch_loss, torch_optimizer  # noqa: E402

CLOSE = {"rtol": 1e-10, "atol": 1e-12}

# --- hypothesis: small concrete stacks of every kind ---------------------------------------------------------------

WIDTHS = st.integers(1, 6)
ACTIVATION_LAYERS = st.sampled_from([nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.GELU(), nn.GELU("tanh"), nn.Identity()])


def layer_norms(width: int) -> st.SearchStrategy[nn.Layer]:
    return st.builds(nn.LayerNorm, st.just(width), st.sampled_from([1e-5, 1e-3, 0.5]), st.booleans())


def linears(fan_in: int, fan_out: int) -> st.SearchStrategy[nn.Layer]:
    return st.builds(nn.Linear, st.just(fan_in), st.just(fan_out), st.booleans())


def keeping(width: int, depth: int = 0) -> st.SearchStrategy[nn.Layer]:
    """A layer that keeps `width`; Residuals nest at most two deep."""
    options = [ACTIVATION_LAYERS, layer_norms(width), linears(width, width)]
    if depth < 2:
        body = st.lists(st.deferred(lambda: keeping(width, depth + 1)), min_size=1, max_size=3)
        options.append(body.map(lambda layers: nn.Residual(*layers)))
    return st.one_of(options)


def optimizers(loss: str) -> st.SearchStrategy[object]:
    # Adam's step lr m / (sqrt(v) + eps) moves by up to lr dg / (4 eps) for an error dg in a gradient near zero, and
    # gradients near zero carry rounding errors of 1e-16 of their terms (a saturated softmax's p - 1, LayerNorm's
    # backward on inputs of small spread): eps from 1e-3 keeps two right computations within 1e-12 of each other.
    # Adam's default eps is checked on a well-conditioned stack, in test_measure_with_adams_defaults_matches_torch.
    # torch's binary_cross_entropy differentiates through the sigmoid, (a - y) / max(a (1 - a), 1e-12) * a (1 - a),
    # which is a - y only while the sigmoid is far from saturation (to 1e-10 for logits within about 10); complexa's
    # fused gradient is a - y exactly. A learning rate of 0.5 takes logits past 100 in three steps, so not for bce.
    lrs = st.sampled_from([0.01, 0.1] if loss == "bce" else [0.01, 0.1, 0.5])
    betas = st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.0)])
    return st.one_of(
        st.just("sgd"),
        st.builds(nn.SGD, lrs, st.sampled_from([0.0, 0.5, 0.9])),
        st.builds(nn.Adam, lrs, betas, st.sampled_from([1e-3, 0.1])),
    )


@st.composite
def stacks(draw: st.DrawFn) -> Network:
    """A stack that starts with a Linear or a LayerNorm, then up to five Linears (changing the width) and layers
    that keep it; ``bce`` ends it with a Sigmoid."""
    width = draw(WIDTHS)
    start = draw(st.sampled_from(["linear", "norm"]))
    first = draw(linears(width, width := draw(WIDTHS)) if start == "linear" else layer_norms(width))
    layers = [first]
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            layers.append(draw(linears(width, width := draw(WIDTHS))))
        else:
            layers.append(draw(keeping(width)))
    loss = draw(st.sampled_from(LOSSES))
    if loss == "bce" and not isinstance(layers[-1], nn.Sigmoid):
        layers.append(nn.Sigmoid())
    return Network(layers, batch=draw(st.integers(1, 5)), loss=loss, optimizer=draw(optimizers(loss)))


def data(network: Network, generator: Any) -> tuple[Any, Any]:
    """Inputs (B, n_0) that do not require grad, and targets for the network's loss."""
    batch, n_in, n_out = int(network.batch), int(network.input_width), int(network.output_width)
    inputs = torch.rand(batch, n_in, dtype=torch.float64, generator=generator) * 2 - 1
    if network.loss == "cross_entropy":
        return inputs, torch.randint(0, n_out, (batch,), generator=generator)
    return inputs, torch.rand(batch, n_out, dtype=torch.float64, generator=generator) * 0.9 + 0.05


# --- to_torch -------------------------------------------------------------------------------------------------------

MIXED = Network([nn.Linear(4, 3), nn.ReLU(), nn.LayerNorm(3), nn.Residual(nn.Linear(3, 3), nn.GELU()), nn.Linear(3, 2)])


def test_state_dict_names_and_layouts() -> None:
    state = MIXED.to_torch().state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "3.0.weight", "3.0.bias", "4.weight", "4.bias"]
    shapes = [(3, 4), (3,), (3,), (3,), (3, 3), (3,), (2, 3), (2,)]
    assert [tuple(tensor.shape) for tensor in state.values()] == shapes
    assert all(tensor.dtype == torch.float64 for tensor in state.values())
    assert sum(tensor.numel() for tensor in state.values()) == params(MIXED) == 41


def test_modules_carry_every_argument() -> None:
    layers = [
        nn.LayerNorm(3, eps=0.25, elementwise_affine=False),
        nn.Linear(3, 5, bias=False),
        nn.GELU("tanh"),
        nn.Residual(nn.Tanh(), nn.Residual(nn.Identity(), nn.Linear(5, 5)), nn.Sigmoid()),
    ]
    module = Network(layers).to_torch()
    assert (module[0].eps, module[0].elementwise_affine, module[0].weight, module[0].bias) == (0.25, False, None, None)
    assert (module[1].in_features, module[1].out_features, module[1].bias) == (3, 5, None)
    assert module[2].approximate == "tanh"
    assert [type(m).__name__ for m in module[3]] == ["Tanh", "TorchResidual", "Sigmoid"]
    assert list(module.state_dict()) == ["1.weight", "3.1.1.weight", "3.1.1.bias"]


def test_a_residual_adds_its_input() -> None:
    module = Network([nn.Linear(2, 3), nn.Residual(nn.Linear(3, 3), nn.Tanh())]).to_torch()
    x = torch.rand(4, 2, dtype=torch.float64)
    with torch.no_grad():
        h = module[0](x)
        expected = h + torch.tanh(module[1][0](h))
        assert torch.equal(module(x), expected)


def test_a_dense_network_is_its_layers() -> None:
    module = Network([5, 4, 3], activation="tanh", bias=False).to_torch()
    assert [type(m).__name__ for m in module] == ["Linear", "Tanh", "Linear", "Tanh"]
    assert list(module.state_dict()) == ["0.weight", "2.weight"]


def test_the_module_pickles() -> None:
    module = MIXED.to_torch()
    again = pickle.loads(pickle.dumps(module))
    assert type(again[3]) is type(module[3])
    x = torch.rand(2, 4, dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(again(x), module(x))


@pytest.mark.parametrize(
    ("network", "names"),
    [
        (Network([nn.Linear(4, "h"), nn.ReLU(), nn.Linear("h", "g")]), "(g, h)"),
        (Network([nn.Linear(4, "n"), nn.Residual(nn.LayerNorm("n"), nn.Linear("n", "n"))], batch="B"), "(n)"),
        (Network([3, "h", 2]), "(h)"),
        (Network.uniform("n", "L"), "(L, n)"),
    ],
    ids=repr,
)
def test_symbols_are_refused_in_one_line(network: Network, names: str) -> None:
    with pytest.raises(ComplexaError) as info:
        network.to_torch()
    message = str(info.value)
    assert "\n" not in message and names in message and "Network.xreplace" in message
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_a_symbolic_batch_is_no_part_of_the_module() -> None:
    assert list(Network([nn.Linear(4, 3)], batch="B").to_torch().state_dict()) == ["0.weight", "0.bias"]


def test_without_torch_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ComplexaError) as info:
        MIXED.to_torch()
    assert str(info.value).endswith("pip install 'complexa[torch]'") and "\n" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_load_state_copies_and_checks() -> None:
    module = MIXED.to_torch()
    state = {name: np.full(tuple(t.shape), 0.5 + k) for k, (name, t) in enumerate(module.state_dict().items())}
    load_state(module, state)
    for name, tensor in module.state_dict().items():
        assert_allclose(tensor.numpy(), state[name], rtol=0, atol=0)
    with pytest.raises(ComplexaError, match="state names"):
        load_state(module, {**state, "9.weight": np.zeros(1)})
    with pytest.raises(ComplexaError, match=r"state\['0.weight'\] has shape \(4, 3\)"):
        load_state(module, {**state, "0.weight": np.zeros((4, 3))})


def test_losses_sum_over_the_batch() -> None:
    outputs = torch.tensor([[0.2, 0.7], [0.9, 0.4]], dtype=torch.float64)
    targets = torch.tensor([[0.1, 0.5], [0.5, 0.5]], dtype=torch.float64)
    layers: list[nn.Layer] = [nn.Linear(2, 2), nn.Sigmoid()]
    mse = torch_loss(Network(layers))(outputs, targets)
    assert mse.item() == pytest.approx(0.5 * (0.01 + 0.04 + 0.16 + 0.01))
    bce = torch_loss(Network(layers, loss="bce"))(outputs, targets)
    p, y = outputs.numpy(), targets.numpy()
    assert bce.item() == pytest.approx(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum())
    classes = torch.tensor([1, 0])
    ce = torch_loss(Network(layers, loss="cross_entropy"))(outputs, classes)
    z = outputs.numpy()
    assert ce.item() == pytest.approx(-sum(z[i, c] - np.log(np.exp(z[i]).sum()) for i, c in enumerate([1, 0])))


def test_optimizers() -> None:
    weights = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))]
    layers: list[nn.Layer] = [nn.Linear(2, 2)]
    plain = torch_optimizer(Network(layers), weights, 0.3)
    assert type(plain) is torch.optim.SGD and plain.defaults["lr"] == 0.3 and plain.defaults["momentum"] == 0
    sgd = torch_optimizer(Network(layers, optimizer=nn.SGD(lr=0.2, momentum=0.9)), weights, 0.3)
    assert (sgd.defaults["lr"], sgd.defaults["momentum"]) == (0.2, 0.9)
    adam = torch_optimizer(Network(layers, optimizer=nn.Adam(lr=0.01, betas=(0.5, 0.6), eps=1e-4)), weights, 0.3)
    assert type(adam) is torch.optim.Adam
    assert (adam.defaults["lr"], adam.defaults["betas"], adam.defaults["eps"]) == (0.01, (0.5, 0.6), 1e-4)
    assert adam.defaults["foreach"] is False


@settings(max_examples=40, deadline=None)
@given(stacks())
def test_params_match_torch(network: Network) -> None:
    assert sum(p.numel() for p in network.to_torch().parameters()) == params(network)


# --- flops(convention="torch") against FlopCounterMode ---------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(stacks())
def test_forward_matches_flop_counter_mode(network: Network) -> None:
    module = network.to_torch()
    inputs, _ = data(network, torch.Generator().manual_seed(0))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(inputs)
    assert counter.get_total_flops() == flops(network, convention="torch")


@settings(max_examples=40, deadline=None)
@given(stacks())
def test_training_matches_flop_counter_mode(network: Network) -> None:
    # The forward pass and loss.backward() with the network's loss; the optimizer's step has no matrix product.
    module = network.to_torch()
    inputs, targets = data(network, torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as counter:
        loss = torch_loss(network)(module(inputs), targets)
        if loss.requires_grad:  # a stack without parameters has nothing to differentiate
            loss.backward()
    assert counter.get_total_flops() == flops(network, convention="torch", phase="training")


# --- measure against a PyTorch training run ---------------------------------------------------------------------


def assert_matches_torch(measurement: Any) -> None:
    """Train `measurement.network` in PyTorch from `measurement.state_before`, on its inputs and targets, for its
    iterations, and assert that the first step's outputs, loss and gradients and the final state are `measurement`'s
    (rtol 1e-10, atol 1e-12)."""
    m = measurement
    network = m.network
    module = network.to_torch()
    load_state(module, m.state_before)
    parameters = dict(module.named_parameters())
    optimizer = torch_optimizer(network, parameters.values(), m.lr) if parameters else None
    loss_of = torch_loss(network)
    inputs, targets = torch.tensor(m.inputs), torch.tensor(m.targets)
    assert inputs.dtype == (torch.int64 if isinstance(network.layers[0], nn.Embedding) else torch.float64)
    assert targets.dtype == (torch.int64 if network.loss == "cross_entropy" else torch.float64)
    for step in range(m.iterations):
        if optimizer is not None:
            optimizer.zero_grad()
        outputs = module(inputs)
        loss = loss_of(outputs, targets)
        if loss.requires_grad:
            loss.backward()
        if step == 0:
            assert_allclose(outputs.detach().numpy(), m.outputs, **CLOSE)
            assert_allclose(loss.item(), m.loss, **CLOSE)
            assert sorted(m.gradients) == sorted(parameters)
            for name, parameter in parameters.items():
                assert_allclose(parameter.grad.numpy(), m.gradients[name], err_msg=name, **CLOSE)
        if optimizer is not None:
            optimizer.step()
    state = module.state_dict()
    assert sorted(m.state_after) == sorted(state)
    for name, tensor in state.items():
        assert_allclose(tensor.numpy(), m.state_after[name], err_msg=name, **CLOSE)


def _by_hand(lr: float, iterations: int) -> SimpleNamespace:
    """A measurement of Linear(3, 2) with mse and plain SGD, computed with numpy: the helper's own check."""
    rng = np.random.default_rng(7)
    weight, bias = rng.uniform(-1, 1, (2, 3)), rng.uniform(-0.1, 0.1, 2)
    inputs, targets = rng.uniform(-1, 1, (4, 3)), rng.uniform(0.05, 0.95, (4, 2))
    before = {"0.weight": weight.copy(), "0.bias": bias.copy()}
    first: dict[str, Any] = {}
    for step in range(iterations):
        outputs = inputs @ weight.T + bias
        delta = outputs - targets
        grads = {"0.weight": delta.T @ inputs, "0.bias": delta.sum(axis=0)}
        if step == 0:
            first = {"outputs": outputs, "loss": 0.5 * float((delta**2).sum()), "gradients": grads}
        weight, bias = weight - lr * grads["0.weight"], bias - lr * grads["0.bias"]
    return SimpleNamespace(
        network=Network([nn.Linear(3, 2)], batch=4),
        iterations=iterations,
        lr=lr,
        inputs=inputs,
        targets=targets,
        state_before=before,
        state_after={"0.weight": weight, "0.bias": bias},
        **first,
    )


def test_assert_matches_torch_accepts_a_right_measurement_and_refuses_a_wrong_one() -> None:
    assert_matches_torch(_by_hand(0.1, 3))
    wrong = _by_hand(0.1, 3)
    wrong.gradients["0.bias"] = wrong.gradients["0.bias"] * (1 + 1e-8)
    with pytest.raises(AssertionError, match=r"0\.bias"):
        assert_matches_torch(wrong)
    late = _by_hand(0.1, 3)
    late.iterations = 2  # the final state is that of three steps
    with pytest.raises(AssertionError):
        assert_matches_torch(late)


def _normalises_one_feature(layers: tuple[nn.Layer, ...]) -> bool:
    return any(
        (isinstance(layer, nn.LayerNorm) and layer.normalized_shape == 1 and layer.elementwise_affine)
        or _normalises_one_feature(layer.children())
        for layer in layers
    )


# A Residual whose body's first layers compute no input gradient, one of them a Residual.
NESTED = Network([nn.LayerNorm(2, elementwise_affine=False), nn.Residual(nn.Residual(nn.Sigmoid()), nn.Linear(2, 2))])


@settings(max_examples=40, deadline=None)
@given(stacks(), st.integers(1, 3), st.integers(0, 2**16))
@example(network=NESTED, iterations=2, seed=0)
def test_measure_matches_torch(network: Network, iterations: int, seed: int) -> None:
    # LayerNorm(1)'s weight has a gradient of exactly 0 (x - mean is 0), which torch's kernel computes as rounding
    # noise, of the size of |x| |dy| / sqrt(eps) times 1e-16; as training diverges that noise outgrows 1e-10 of the
    # weight, and Adam, dividing a gradient by its own size plus eps, makes a step of up to lr of it. Both sides are
    # right to rounding; a comparison of that weight says nothing, so such stacks are left out.
    assume(not _normalises_one_feature(network.layers))
    assert_matches_torch(measure(network, iterations=iterations, seed=seed))


def test_measure_with_adams_defaults_matches_torch() -> None:
    network = Network(MIXED.layers, batch=3, optimizer=nn.Adam())
    for seed in range(3):
        assert_matches_torch(measure(network, iterations=3, seed=seed))


@st.composite
def dense(draw: st.DrawFn) -> Network:
    activation = draw(st.sampled_from(ACTIVATIONS))
    loss = draw(st.sampled_from(LOSSES if activation == "sigmoid" else ["mse", "cross_entropy"]))
    sizes = draw(st.lists(WIDTHS, min_size=2, max_size=4))
    options = {"batch": draw(st.integers(1, 5)), "bias": draw(st.booleans()), "optimizer": draw(optimizers(loss))}
    return Network(sizes, activation=activation, loss=loss, **options)


@settings(max_examples=20, deadline=None)
@given(dense(), st.integers(1, 3), st.integers(0, 2**16))
def test_measure_of_a_dense_network_matches_torch(network: Network, iterations: int, seed: int) -> None:
    assert_matches_torch(measure(network, iterations=iterations, seed=seed, lr=0.05))
