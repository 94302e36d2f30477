"""complexa's conventions against the tools themselves, on random MLPs: PyTorch's FlopCounterMode and parameter
counts and ptflops (all three in CI), and fvcore where it is installed. Skipped cleanly without torch."""

from __future__ import annotations

import io
import warnings
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from complexa import ACTIVATIONS, Network  # noqa: E402
from complexa._flops import flops, memory, params  # noqa: E402

MODULES = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}


def torch_model(network: Network) -> Any:
    """The network as PyTorch writes it: Linear then the activation, for every layer, the output included."""
    sizes = [int(size) for size in network.sizes]
    layers: list[Any] = []
    for fan_in, fan_out in pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out, bias=network.bias), MODULES[network.activation]()]
    return nn.Sequential(*layers)


def batch_of(network: Network, requires_grad: bool = False) -> Any:
    return torch.rand(int(network.batch), int(network.sizes[0]), requires_grad=requires_grad)


def train_step(model: Any, network: Network, inputs: Any) -> None:
    """One step as a PyTorch user writes it: forward, the loss, ``loss.backward()``, the optimizer's step."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    outputs = model(inputs)
    targets = torch.rand_like(outputs) * 0.9 + 0.05
    if network.loss == "bce":
        loss = nn.functional.binary_cross_entropy(outputs, targets, reduction="sum")
    else:
        loss = 0.5 * ((outputs - targets) ** 2).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


@st.composite
def mlps(draw: st.DrawFn) -> Network:
    sizes = draw(st.lists(st.integers(1, 9), min_size=2, max_size=6))
    activation = draw(st.sampled_from(ACTIVATIONS))
    loss = draw(st.sampled_from(["mse", "bce"])) if activation == "sigmoid" else "mse"
    return Network(sizes, batch=draw(st.integers(1, 6)), bias=draw(st.booleans()), activation=activation, loss=loss)


@settings(max_examples=30, deadline=None)
@given(mlps())
def test_forward_matches_flop_counter_mode(network: Network) -> None:
    model = torch_model(network)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(batch_of(network))
    assert counter.get_total_flops() == flops(network, convention="torch")


@settings(max_examples=30, deadline=None)
@given(mlps())
def test_training_step_matches_flop_counter_mode(network: Network) -> None:
    model = torch_model(network)
    with FlopCounterMode(display=False) as counter:
        train_step(model, network, batch_of(network))
    assert counter.get_total_flops() == flops(network, convention="torch", phase="training")


def test_an_input_that_requires_grad_costs_the_first_layers_input_gradient() -> None:
    # The convention follows the usual case, data that does not require grad. When it does, PyTorch also computes
    # the gradient with respect to the input: one more product of the first layer's size, 2 B n_0 n_1.
    network = Network([5, 7, 4, 3], batch=6)
    with FlopCounterMode(display=False) as counter:
        train_step(torch_model(network), network, batch_of(network, requires_grad=True))
    assert counter.get_total_flops() == flops(network, convention="torch", phase="training") + 2 * 6 * 5 * 7


@settings(max_examples=30, deadline=None)
@given(mlps())
def test_params_match_torch(network: Network) -> None:
    assert sum(p.numel() for p in torch_model(network).parameters()) == params(network)


@settings(max_examples=20, deadline=None)
@given(mlps().filter(lambda net: net.activation != "identity"))
def test_torch_keeps_every_activation_but_no_pre_activation(network: Network) -> None:
    # What docs/flops.md says PyTorch saves for the backward pass: the input and every a_k, which sigmoid, tanh and
    # relu take their derivatives from; no z_k. complexa's training layout keeps the z_k as well.
    model = torch_model(network)
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: Any) -> Any:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            saved[storage.data_ptr()] = storage.nbytes() // tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(batch_of(network))
    assert sum(saved.values()) == memory(network, phase="inference").activations
    training = memory(network, phase="training").activations
    assert training - sum(saved.values()) == network.batch * sum(network.sizes[1:])


# --- fvcore (by hand) and ptflops (in CI): run where they are installed -----------------------------------------

FIXED = [
    Network([2, 3, 1]),
    Network([5, 7, 4, 3], batch=6),
    Network([5, 7, 4, 3], batch=6, bias=False, activation="tanh"),
    Network([3, 8, 2], batch=4, activation="relu"),
    Network([4, 4], batch=2, activation="identity"),
]


@pytest.mark.parametrize("network", FIXED, ids=repr)
def test_fvcore(network: Network) -> None:
    fvcore_nn = pytest.importorskip("fvcore.nn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fvcore warns about every op it skips, the activations included
        analysis = fvcore_nn.FlopCountAnalysis(torch_model(network), batch_of(network))
        analysis.unsupported_ops_warnings(False)
        total = analysis.total()
    assert total == flops(network, convention="fvcore")


@pytest.mark.parametrize("network", FIXED, ids=repr)
@pytest.mark.parametrize("backend", ["aten", "pytorch"])
def test_ptflops(network: Network, backend: str) -> None:
    ptflops = pytest.importorskip("ptflops")
    inputs = batch_of(network)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        macs, _ = ptflops.get_model_complexity_info(
            torch_model(network),
            (int(network.sizes[0]),),
            input_constructor=lambda _: {"input": inputs},
            as_strings=False,
            print_per_layer_stat=False,
            backend=backend,
            ost=io.StringIO(),
        )
    expected = flops(network, convention="ptflops")
    if backend == "pytorch" and network.activation == "relu":
        # The legacy backend counts every ReLU output twice, once by its nn.ReLU hook and once by its F.relu hook.
        expected += 2 * network.batch * sum(network.sizes[1:])
    assert macs == expected
