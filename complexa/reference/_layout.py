"""The flat float64 buffers both backends train in, and the integer codes their kernels branch on.

A network's parameters live in one flat array: for each layer k = 1..L, W_k row-major (n_k, n_{k-1}), then b_k (n_k)
when the network has biases. Activations are a (B, U) array, U = n_0 + ... + n_L, with layer k in the columns
``unit_offsets[k] : unit_offsets[k] + n_k``; pre-activations and deltas exist for layers 1..L only, so they are
(B, U - n_0) arrays with layer k at ``unit_offsets[k] - n_0``. One flat layout lets a kernel take the whole
network as a handful of arrays, with no typed lists to build on every call.

This module imports numpy only: `measure` sizes and validates with it before any kernel is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "IDENTITY",
    "RELU",
    "SIGMOID",
    "TANH",
    "ACTIVATION_CODES",
    "LOSS_CODES",
    "OPS",
    "PHASES",
    "Buffers",
    "Layout",
    "activate",
    "derivative",
]

PHASES = ("forward", "backward", "update")
"""Rows of a counts array, in order."""
OPS = ("mul", "add", "act", "act_grad")
"""Columns of a counts array, in order."""
SIGMOID, TANH, RELU, IDENTITY = 0, 1, 2, 3
ACTIVATION_CODES = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU, "identity": IDENTITY}
"""What the kernels receive for `Network.activation`."""
LOSS_CODES = {"mse": 0, "bce": 1}
"""What the kernels receive for `Network.loss`."""


def activate(z: float, activation: int) -> float:
    """g(z) for an activation code; plain Python, compiled by each backend (numba's CPU and CUDA targets)."""
    if activation == SIGMOID:
        return 1.0 / (1.0 + math.exp(-z))
    if activation == TANH:
        return math.tanh(z)
    if activation == RELU:
        return z if z > 0.0 else 0.0
    return z


def derivative(z: float, a: float, activation: int) -> float:
    """g'(z) from the stored pre-activation z and activation a = g(z); compiled by each backend, one act_grad."""
    if activation == SIGMOID:
        return a * (1.0 - a)
    if activation == TANH:
        return 1.0 - a * a
    if activation == RELU:
        return 1.0 if z > 0.0 else 0.0
    return 1.0


@dataclass(frozen=True)
class Layout:
    """Where each layer's weights, biases and units sit in the flat buffers."""

    sizes: NDArray[np.int64]
    """n_0..n_L."""
    weight_offsets: NDArray[np.int64]
    """Index of W_k[0, 0] in the flat parameters; entry 0 is unused."""
    bias_offsets: NDArray[np.int64]
    """Index of b_k[0] in the flat parameters; entry 0 is unused, and all are unused without biases."""
    unit_offsets: NDArray[np.int64]
    """Column of unit 0 of layer k in the (B, U) activation buffers."""
    n_params: int
    n_units: int
    bias: bool

    @classmethod
    def of(cls, sizes: list[int], bias: bool) -> Layout:
        """The layout of a network with layer sizes `sizes` = [n_0, ..., n_L]."""
        weight_offsets = np.zeros(len(sizes), dtype=np.int64)
        bias_offsets = np.zeros(len(sizes), dtype=np.int64)
        offset = 0
        for k in range(1, len(sizes)):
            weight_offsets[k] = offset
            offset += sizes[k] * sizes[k - 1]
            bias_offsets[k] = offset
            if bias:
                offset += sizes[k]
        unit_offsets = np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(np.int64)
        return cls(
            np.asarray(sizes, dtype=np.int64), weight_offsets, bias_offsets, unit_offsets, offset, sum(sizes), bias
        )

    def unflatten(self, flat: NDArray[np.float64]) -> list[tuple[NDArray[np.float64], NDArray[np.float64] | None]]:
        """(W_k, b_k) for k = 1..L as fresh arrays; b_k is None without biases."""
        layers = []
        for k in range(1, len(self.sizes)):
            n, m = int(self.sizes[k]), int(self.sizes[k - 1])
            w, b = int(self.weight_offsets[k]), int(self.bias_offsets[k])
            weights = flat[w : w + n * m].reshape(n, m).copy()
            layers.append((weights, flat[b : b + n].copy() if self.bias else None))
        return layers

    def flatten(self, layers: list[tuple[NDArray[np.float64], NDArray[np.float64] | None]]) -> NDArray[np.float64]:
        """The flat parameters of (W_k, b_k) for k = 1..L; the inverse of `unflatten`."""
        parts = [part.ravel() for weights, biases in layers for part in (weights, biases) if part is not None]
        return np.concatenate(parts) if parts else np.empty(0)

    def layer(self, buffer: NDArray[np.float64], k: int) -> NDArray[np.float64]:
        """Layer k's columns of a (B, U) buffer, as a copy."""
        start = int(self.unit_offsets[k])
        return buffer[:, start : start + int(self.sizes[k])].copy()


@dataclass
class Buffers:
    """Everything one training run reads and writes, as host arrays a backend updates in place."""

    layout: Layout
    params: NDArray[np.float64]
    """The flat parameters, updated by every step."""
    grads: NDArray[np.float64]
    """The flat gradients of the latest step."""
    acts: NDArray[np.float64]
    """(B, U) activations; layer 0 holds the inputs."""
    zs: NDArray[np.float64]
    """(B, U - n_0) pre-activations of layers 1..L."""
    deltas: NDArray[np.float64]
    """(B, U - n_0) deltas of layers 1..L."""
    targets: NDArray[np.float64]
    """(B, n_L)."""
    activation: int
    loss: int
    lr: float

    @classmethod
    def start(
        cls,
        layout: Layout,
        params: NDArray[np.float64],
        inputs: NDArray[np.float64],
        targets: NDArray[np.float64],
        *,
        activation: str,
        loss: str,
        lr: float,
    ) -> Buffers:
        """Fresh buffers for training from flat `params` on (B, n_0) `inputs` and (B, n_L) `targets`."""
        acts = np.zeros((inputs.shape[0], layout.n_units))
        acts[:, : inputs.shape[1]] = inputs
        return cls(
            layout=layout,
            params=params,
            grads=np.zeros_like(params),
            acts=acts,
            zs=np.zeros((inputs.shape[0], layout.n_units - inputs.shape[1])),
            deltas=np.zeros((inputs.shape[0], layout.n_units - inputs.shape[1])),
            targets=targets,
            activation=ACTIVATION_CODES[activation],
            loss=LOSS_CODES[loss],
            lr=lr,
        )
