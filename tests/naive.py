"""A slow, readable numpy training step: the numerics oracle the reference kernels are compared to.

It follows the textbook equations and nothing else: no counters, no flat buffers, no loop order chosen for speed.
Every array is float64; a layer's parameters are ``(W, b)`` with ``W`` of shape (n_k, n_{k-1}) and ``b`` of shape
(n_k,), or ``None`` when the network has no bias. Samples are rows: activations have shape (B, n_k).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pytest
from numpy.typing import NDArray

from complexa import Network

if TYPE_CHECKING:
    from complexa import Measurement

Array = NDArray[np.float64]
Params = list[tuple[Array, Array | None]]


def activate(z: Array, activation: str) -> Array:
    """g(z), elementwise."""
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.maximum(z, 0.0)
    return z.copy()


def derivative(z: Array, a: Array, activation: str) -> Array:
    """g'(z), written the way the kernels reuse the stored activation a = g(z)."""
    if activation == "sigmoid":
        return a * (1.0 - a)
    if activation == "tanh":
        return 1.0 - a * a
    if activation == "relu":
        return (z > 0.0).astype(np.float64)
    return np.ones_like(z)


def loss_value(outputs: Array, targets: Array, loss: str) -> float:
    """The loss summed over the batch: 1/2 sum (a - y)^2, or the binary cross-entropy."""
    if loss == "mse":
        return float(0.5 * np.sum((outputs - targets) ** 2))
    return float(-np.sum(targets * np.log(outputs) + (1.0 - targets) * np.log(1.0 - outputs)))


@dataclass
class Step:
    """What one training step produced: outputs and loss before the update, the gradients, the updated parameters."""

    outputs: Array
    loss: float
    gradients: Params
    params: Params


def train_step(params: Params, inputs: Array, targets: Array, *, activation: str, loss: str, lr: float) -> Step:
    """One step of plain SGD on the summed (not averaged) loss; `params` is left untouched."""
    # Forward: keep every z and a, the backward pass needs them.
    activations = [inputs]
    pre_activations: list[Array] = []
    for W, b in params:
        z = activations[-1] @ W.T
        if b is not None:
            z = z + b
        pre_activations.append(z)
        activations.append(activate(z, activation))
    outputs = activations[-1]

    # Backward: the output delta, then each hidden delta from the layer above it.
    if loss == "bce":
        delta = outputs - targets
    else:
        delta = (outputs - targets) * derivative(pre_activations[-1], outputs, activation)
    gradients: Params = [(np.empty(0), None)] * len(params)
    for k in reversed(range(len(params))):
        W, b = params[k]
        gradients[k] = (delta.T @ activations[k], delta.sum(axis=0) if b is not None else None)
        if k > 0:
            delta = (delta @ W) * derivative(pre_activations[k - 1], activations[k], activation)

    # Update.
    updated: Params = []
    for (W, b), (dW, db) in zip(params, gradients):
        updated.append((W - lr * dW, None if b is None or db is None else b - lr * db))
    return Step(outputs, loss_value(outputs, targets, loss), gradients, updated)


def train(
    params: Params, inputs: Array, targets: Array, *, activation: str, loss: str, lr: float, iterations: int
) -> list[Step]:
    """`iterations` steps on the same batch; one `Step` per iteration."""
    steps = []
    for _ in range(iterations):
        step = train_step(params, inputs, targets, activation=activation, loss=loss, lr=lr)
        steps.append(step)
        params = step.params
    return steps


# --- networks and checks the tests share -------------------------------------------------------------------------

# The CPU kernels take four samples at a time and the rest one at a time: the forward pass from sample 0 (B // 4
# groups, then B % 4 samples left over), the gradient sums from sample 1, since sample 0 starts each sum
# ((B - 1) // 4 groups, then (B - 1) % 4 left over). These batches reach every remainder 0..3 of both loops after
# one group and after many: B = 4 is one forward group and no gradient group, 5 one of each, 32 and 33 eight. Under
# the CUDA simulator, whose launches have 16 threads, the larger batches also take the grid-stride loops round
# several times.
KERNEL_BATCHES = [4, 5, 6, 7, 8, 9, 32, 33]


def kernel_paths(batch: int) -> list[Network]:
    """Networks of `batch` samples: every activation, both losses, with and without biases, and an input of 33 units,
    wider than a vectorised loop along a row of weights."""
    return [
        Network([3, 5, 4, 2], batch=batch),
        Network([3, 5, 4, 2], batch=batch, activation="tanh", bias=False),
        Network([33, 9, 2], batch=batch, activation="relu"),
        Network([3, 5, 33, 34, 2], batch=batch, activation="tanh"),  # input gradients of Linears wider than 32
        Network([2, 6, 1], batch=batch, loss="bce"),
        Network([4, 1, 3], batch=batch, activation="identity"),
    ]


def assert_params_close(actual: Params, expected: Params) -> None:
    assert len(actual) == len(expected)
    for (w, b), (w_expected, b_expected) in zip(actual, expected):
        # Summation orders differ (BLAS versus the kernels' loops): equal to rounding, so a tiny absolute floor for
        # entries that cancel to about zero.
        np.testing.assert_allclose(w, w_expected, rtol=1e-12, atol=1e-14)
        if b is None or b_expected is None:
            assert b is None and b_expected is None
        else:
            np.testing.assert_allclose(b, b_expected, rtol=1e-12, atol=1e-14)


def assert_matches_naive(m: Measurement) -> None:
    """Outputs, loss, first gradients and final parameters of `m` equal this module's numpy step, to rounding."""
    if m.network.loss == "cross_entropy":  # the textbook dense step above knows mse and bce only
        assert_stack_matches_naive(m)
        return
    steps = train(
        m.params_before,
        m.inputs,
        m.targets,
        activation=m.network.activation,
        loss=m.network.loss,
        lr=m.lr,
        iterations=m.iterations,
    )
    np.testing.assert_allclose(m.outputs, steps[0].outputs, rtol=1e-12, atol=1e-14)
    assert m.loss == pytest.approx(steps[0].loss, rel=1e-12, abs=1e-14)
    assert_params_close(m.param_gradients, steps[0].gradients)
    assert_params_close(m.params_after, steps[-1].params)


# --- stacks of complexa.nn layers ----------------------------------------------------------------------------------
# The same oracle for any stack: each kind's forward and backward written from its equations with numpy's whole-array
# operations, the losses, and torch.optim's SGD (with momentum) and Adam. States are dicts named as state_dict().

State = dict[str, Array]


def _gelu(z: Array, approximate: str) -> tuple[Array, Array]:
    """GELU and its derivative."""
    from math import erf, pi, sqrt

    if approximate == "tanh":
        c = sqrt(2.0 / pi)
        t = np.tanh(c * (z + 0.044715 * z**3))
        return 0.5 * z * (1.0 + t), 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t**2) * c * (1.0 + 3 * 0.044715 * z**2)
    phi = 0.5 * (1.0 + np.vectorize(erf)(z / sqrt(2.0)))
    return z * phi, phi + z * np.exp(-0.5 * z**2) / sqrt(2.0 * pi)


def _forward(layers: list[object], prefix: str, x: Array, state: State, tape: list[tuple[object, ...]]) -> Array:
    from complexa import nn

    for k, layer in enumerate(layers):
        name = f"{prefix}{k}"
        if isinstance(layer, nn.Linear):
            y = x @ state[f"{name}.weight"].T + (state[f"{name}.bias"] if layer.bias else 0.0)
            tape.append(("linear", name, layer, x))
        elif isinstance(layer, nn.GELU):
            y, slope = _gelu(x, layer.approximate)
            tape.append(("act", name, slope))
        elif isinstance(layer, nn.Activation):
            kind = layer.kind
            if kind == "Sigmoid":
                with np.errstate(over="ignore"):  # exp(-x) = inf for x < -709: y = 0, as the kernels give
                    y = 1.0 / (1.0 + np.exp(-x))
                slope = y * (1.0 - y)
            elif kind == "Tanh":
                y = np.tanh(x)
                slope = 1.0 - y * y
            elif kind == "ReLU":
                y = np.maximum(x, 0.0)
                slope = (x > 0).astype(np.float64)
            else:
                y, slope = x.copy(), np.ones_like(x)
            tape.append(("act", name, slope))
        elif isinstance(layer, nn.LayerNorm):
            mean = x.mean(axis=1, keepdims=True)
            var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
            rstd = 1.0 / np.sqrt(var + layer.eps)
            xhat = (x - mean) * rstd
            y = xhat * state[f"{name}.weight"] + state[f"{name}.bias"] if layer.elementwise_affine else xhat
            tape.append(("norm", name, layer, xhat, rstd))
        else:  # Residual
            start = len(tape)
            y = x + _forward(list(layer.layers), f"{name}.", x, state, tape)
            tape.insert(start, ("residual", name))
        x = y
    return x


def _run_backward(
    layers: list[object], prefix: str, tape: dict[str, tuple[object, ...]], d: Array, state: State, grads: State
) -> Array:
    from complexa import nn

    for k in reversed(range(len(layers))):
        layer, name = layers[k], f"{prefix}{k}"
        entry = tape.get(name, ())
        if isinstance(layer, nn.Linear):
            x = entry[3]
            grads[f"{name}.weight"] = d.T @ x
            if layer.bias:
                grads[f"{name}.bias"] = d.sum(axis=0)
            d = d @ state[f"{name}.weight"]
        elif isinstance(layer, nn.Activation):
            d = d * entry[2]
        elif isinstance(layer, nn.LayerNorm):
            xhat, rstd = entry[3], entry[4]
            g = d * state[f"{name}.weight"] if layer.elementwise_affine else d
            if layer.elementwise_affine:
                grads[f"{name}.weight"] = (d * xhat).sum(axis=0)
                grads[f"{name}.bias"] = d.sum(axis=0)
            d = (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True)) * rstd
        else:
            d = d + _run_backward(list(layer.layers), f"{name}.", tape, d, state, grads)
    return d


def stack_step(network: Network, state: State, inputs: Array, targets: Array) -> tuple[Array, float, State]:
    """The outputs, loss and gradients of one step of a stack."""
    tape_list: list[tuple[object, ...]] = []
    outputs = _forward(list(network.layers), "", inputs, state, tape_list)
    tape = {entry[1]: entry for entry in tape_list if entry[0] != "residual"}
    if network.loss == "cross_entropy":
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        rows = np.arange(len(targets))
        loss = float(-np.sum(np.log(p[rows, targets])))
        d = p.copy()
        d[rows, targets] -= 1.0
    elif network.loss == "bce":
        loss = float(-np.sum(targets * np.log(outputs) + (1.0 - targets) * np.log(1.0 - outputs)))
        d = outputs - targets  # the gradient at the final sigmoid's input: d/dz of bce(sigmoid(z))
    else:
        loss = float(0.5 * np.sum((outputs - targets) ** 2))
        d = outputs - targets
    grads: State = {}
    layers = list(network.layers)
    _run_backward(layers[:-1] if network.loss == "bce" else layers, "", tape, d, state, grads)
    return outputs, loss, grads


def train_stack(
    network: Network, state: State, inputs: Array, targets: Array, lr: float, iterations: int
) -> tuple[Array, float, State, State]:
    """`iterations` steps with the network's optimizer: the first step's outputs, loss and gradients, and the final
    state."""
    from complexa import nn

    optimizer = network.optimizer
    state = {k: v.copy() for k, v in state.items()}
    first: tuple[Array, float, State] | None = None
    buffers: State = {}
    m: State = {k: np.zeros_like(v) for k, v in state.items()}
    v2: State = {k: np.zeros_like(v) for k, v in state.items()}
    for t in range(1, iterations + 1):
        # Later steps' losses are not returned; a saturated sigmoid there must not turn log(0)'s warning into an error.
        with np.errstate(divide="ignore", invalid="ignore") if t > 1 else contextlib.nullcontext():
            outputs, loss, grads = stack_step(network, state, inputs, targets)
        first = first or (outputs, loss, grads)
        for name, g in grads.items():
            if isinstance(optimizer, nn.Adam):
                b1, b2 = optimizer.betas
                m[name] = b1 * m[name] + (1 - b1) * g
                v2[name] = b2 * v2[name] + (1 - b2) * g * g
                m_hat, v_hat = m[name] / (1 - b1**t), v2[name] / (1 - b2**t)
                state[name] = state[name] - optimizer.lr * m_hat / (np.sqrt(v_hat) + optimizer.eps)
            elif isinstance(optimizer, nn.SGD) and optimizer.momentum:
                buffers[name] = g.copy() if t == 1 else optimizer.momentum * buffers[name] + g
                state[name] = state[name] - optimizer.lr * buffers[name]
            else:
                rate = optimizer.lr if isinstance(optimizer, nn.SGD) else lr
                state[name] = state[name] - rate * g
    assert first is not None
    return first[0], first[1], first[2], state


def assert_stack_matches_naive(m: Measurement) -> None:
    """Outputs, loss, first gradients and final state of `m` equal the textbook numpy steps of its stack."""
    outputs, loss, grads, state = train_stack(m.network, m.state_before, m.inputs, m.targets, m.lr, m.iterations)
    np.testing.assert_allclose(m.outputs, outputs, rtol=1e-10, atol=1e-12)
    assert m.loss == pytest.approx(loss, rel=1e-10, abs=1e-12)
    assert grads.keys() == m.gradients.keys()
    # Behind a LayerNorm of width 2 the input gradient is zero in exact arithmetic (its output is +-1 whatever comes
    # in), so every gradient before it is rounding noise, which two summation orders do not reproduce: compare each
    # gradient against a floor set by the largest gradient of the network.
    floor = 1e-10 * max([1.0, *(float(np.abs(g).max(initial=0.0)) for g in grads.values())])
    for name in grads:
        np.testing.assert_allclose(m.gradients[name], grads[name], rtol=1e-9, atol=floor)
    for name in state:
        np.testing.assert_allclose(m.state_after[name], state[name], rtol=1e-9, atol=floor)
