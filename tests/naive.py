"""A slow, readable numpy training step: the numerics oracle the reference kernels are compared to.

It follows the textbook equations and nothing else: no counters, no flat buffers, no loop order chosen for speed.
Every array is float64; a layer's parameters are ``(W, b)`` with ``W`` of shape (n_k, n_{k-1}) and ``b`` of shape
(n_k,), or ``None`` when the network has no bias. Samples are rows: activations have shape (B, n_k).
"""

from __future__ import annotations

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
