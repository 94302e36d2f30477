"""A network as it trains: its parameters in one flat array, a node per layer with its buffers, and the step.

Backend-neutral: the nodes call the kernels of a `Backend` (the CPU's here, the device's in `_cuda`) and allocate
through it, so one piece of Python drives both. The parameters, their gradients and the optimizer's state are flat
float64 arrays, each tensor at an offset in torch's ``state_dict()`` order, so the optimizer is one kernel call.

This module imports numpy only: `measure` sizes and validates with it before any kernel is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Tensor", "Plan", "Backend", "CpuBackend", "plan"]


@dataclass(frozen=True)
class Tensor:
    """One parameter tensor: its ``state_dict()`` name, its shape, and where it sits in the flat arrays."""

    name: str
    shape: tuple[int, ...]
    offset: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Backend:
    """Where the arrays live and which kernels run: `CpuBackend`, or `complexa.reference._cuda.CudaBackend`."""

    kernels: Any

    def empty(self, shape: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def device(self, array: NDArray[Any]) -> Any:
        """`array` where the kernels read it."""
        raise NotImplementedError

    def host(self, array: Any) -> NDArray[Any]:
        """A numpy copy of `array`."""
        raise NotImplementedError

    def copy(self, into: Any, source: Any) -> None:
        raise NotImplementedError

    def counts(self) -> Any:
        """A zeroed (phases, ops) int64 counts array where the kernels add to it."""
        raise NotImplementedError

    def synchronize(self) -> None:
        """Wait until every kernel launched has finished."""


class CpuBackend(Backend):
    def __init__(self, count: bool = True) -> None:
        from complexa.reference import kinds  # numba, only now

        self.kernels = kinds.COUNTING if count else kinds.PLAIN

    def empty(self, shape: tuple[int, ...]) -> Any:
        return np.empty(shape)

    def device(self, array: NDArray[Any]) -> Any:
        return array

    def host(self, array: Any) -> NDArray[Any]:
        return np.array(array)

    def copy(self, into: Any, source: Any) -> None:
        np.copyto(into, source)

    def counts(self) -> Any:
        return np.zeros((3, 8), dtype=np.int64)


@dataclass
class Plan:
    """A network's flat parameter layout and its layers, before any array is allocated."""

    tensors: list[Tensor]
    n_params: int
    nodes: list[Any]
    batch: int
    outputs: int
    loss: str
    fused: bool
    optimizer: Any
    """None for plain SGD with `measure`'s lr, else the `complexa.nn` optimizer."""
    offsets: NDArray[np.int64] = field(repr=False)
    """Tensor k's elements are ``offsets[k]:offsets[k + 1]`` of the flat arrays."""

    def elements(self) -> dict[str, int]:
        """Float64 elements of the training buffers, by kind: parameters, gradients, activations (the inputs and
        every layer's outputs and caches), deltas (every gradient buffer) and optimizer state."""
        out = {"parameters": self.n_params, "gradients": self.n_params, "activations": self.batch * self.inputs}
        out["deltas"] = self.batch * self.outputs
        out["scratch"] = 0
        for node in self._all():
            a, d = node.elements(self.batch)
            out["activations"] += a
            out["deltas"] += d
            out["scratch"] += node.scratch()
        return out

    @property
    def inputs(self) -> int:
        return int(self.nodes[0].width)

    def _all(self) -> list[Any]:
        out: list[Any] = []
        stack = list(self.nodes)
        while stack:
            node = stack.pop(0)
            out.append(node)
            stack[:0] = getattr(node, "body", [])
        return out


def plan(network: Any) -> Plan:
    """The plan of a concrete network (`complexa.Network`, sizes or layers)."""
    from complexa.nn import LayerNorm, Linear, Residual
    from complexa.nn._stack import walk
    from complexa.nn.activations import Activation
    from complexa.nn.losses import FUSES

    rows = {row.path: row for row in walk(network.layers, network.input_width)}
    tensors: list[Tensor] = []

    def node(path: str, layer: Any) -> Any:
        row = rows[path]
        width, grad = int(row.width), row.input_grad
        if isinstance(layer, Linear):
            m, n = int(layer.in_features), int(layer.out_features)
            w = _tensor(tensors, f"{path}.weight", (n, m))
            b = _tensor(tensors, f"{path}.bias", (n,)) if layer.bias else None
            return LinearNode(path, width, grad, n, w, b)
        if isinstance(layer, Activation):
            return ActivationNode(path, width, grad, int(layer.code))
        if isinstance(layer, LayerNorm):
            n = int(layer.normalized_shape)
            affine = layer.elementwise_affine
            scale = _tensor(tensors, f"{path}.weight", (n,)) if affine else None
            shift = _tensor(tensors, f"{path}.bias", (n,)) if affine else None
            return LayerNormNode(path, width, grad, n, layer.eps, scale, shift)
        if isinstance(layer, Residual):
            body = [node(f"{path}.{k}", child) for k, child in enumerate(layer.layers)]
            return ResidualNode(path, width, grad, body)
        raise AssertionError(f"no kernels for {layer!r}")

    nodes = [node(str(k), layer) for k, layer in enumerate(network.layers)]
    n_params = sum(t.size for t in tensors)
    offsets = np.array([t.offset for t in tensors] + [n_params], dtype=np.int64)
    optimizer = None if isinstance(network.optimizer, str) else network.optimizer
    return Plan(
        tensors,
        n_params,
        nodes,
        int(network.batch),
        int(network.output_width),
        network.loss,
        FUSES[network.loss],
        optimizer,
        offsets,
    )


def _tensor(tensors: list[Tensor], name: str, shape: tuple[int, ...]) -> Tensor:
    offset = tensors[-1].offset + tensors[-1].size if tensors else 0
    tensor = Tensor(name, shape, offset)
    tensors.append(tensor)
    return tensor


def _view(flat: Any, tensor: Tensor | None) -> Any:
    if tensor is None:
        return flat[0:0]  # an empty array of the right type: the kernels never read it
    return flat[tensor.offset : tensor.offset + tensor.size].reshape(tensor.shape)


class Node:
    """One layer as it trains. `forward` takes the input buffer and returns its output buffer; `backward` takes the
    gradient with respect to its output and returns the one with respect to its input (None when not computed)."""

    def __init__(self, path: str, width: int, input_grad: bool) -> None:
        self.path = path
        self.width = width
        self.input_grad = input_grad

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        raise NotImplementedError

    def elements(self, batch: int) -> tuple[int, int]:
        """Float64 elements of its (activations, deltas) buffers."""
        raise NotImplementedError

    def forward(self, x: Any, counts: Any) -> Any:
        raise NotImplementedError

    def backward(self, dy: Any, counts: Any) -> Any:
        raise NotImplementedError

    def output(self) -> Any:
        raise NotImplementedError

    def scratch(self) -> int:
        """Float64 elements of scratch space it keeps (no part of what `complexa.memory` models)."""
        return 0


class LinearNode(Node):
    def __init__(self, path: str, width: int, grad: bool, n: int, w: Tensor, b: Tensor | None) -> None:
        super().__init__(path, width, grad)
        self.n, self.w, self.b = n, w, b

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.linear
        self.weights, self.biases = _view(params, self.w), _view(params, self.b)
        self.g_weights, self.g_biases = _view(grads, self.w), _view(grads, self.b)
        self.z = backend.empty((batch, self.n))
        self.dx = backend.empty((batch, self.width)) if self.input_grad else None
        # W^T, which the CPU's input gradient reads row by row; copied there every step.
        self.transposed = backend.empty((self.width, self.n)) if self.input_grad else None

    def output(self) -> Any:
        return self.z

    def elements(self, batch: int) -> tuple[int, int]:
        return batch * self.n, batch * self.width if self.input_grad else 0

    def scratch(self) -> int:
        return self.width * self.n if self.input_grad else 0

    def forward(self, x: Any, counts: Any) -> Any:
        self.x = x
        self.k.forward(x, self.weights, self.biases, self.b is not None, self.z, counts)
        return self.z

    def backward(self, dz: Any, counts: Any) -> Any:
        self.k.gradients(dz, self.x, self.b is not None, self.g_weights, self.g_biases, counts)
        if self.dx is not None:
            self.k.input_grad(dz, self.weights, self.transposed, self.dx, counts)
        return self.dx


class ActivationNode(Node):
    def __init__(self, path: str, width: int, grad: bool, code: int) -> None:
        super().__init__(path, width, grad)
        self.code = code

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.activation
        self.a = backend.empty((batch, self.width))

    def output(self) -> Any:
        return self.a

    def elements(self, batch: int) -> tuple[int, int]:
        return batch * self.width, 0

    def forward(self, z: Any, counts: Any) -> Any:
        self.z = z
        self.k.forward(z, self.code, self.a, counts)
        return self.a

    def backward(self, d: Any, counts: Any) -> Any:
        if not self.input_grad:
            return None
        self.k.backward(self.z, self.a, self.code, d, counts)  # in place: d becomes the input's gradient
        return d


class LayerNormNode(Node):
    def __init__(
        self, path: str, width: int, grad: bool, n: int, eps: float, w: Tensor | None, b: Tensor | None
    ) -> None:
        super().__init__(path, width, grad)
        self.n, self.eps, self.w, self.b = n, eps, w, b

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.layernorm
        self.weight, self.bias = _view(params, self.w), _view(params, self.b)
        self.g_weight, self.g_bias = _view(grads, self.w), _view(grads, self.b)
        self.xhat = backend.empty((batch, self.n))
        self.rstd = backend.empty((batch,))
        self.y = backend.empty((batch, self.n))
        self.row = backend.empty((self.n,))  # g = dy w, one sample at a time
        self.dx = backend.empty((batch, self.n)) if self.input_grad else None

    def output(self) -> Any:
        return self.y

    def elements(self, batch: int) -> tuple[int, int]:
        return 2 * batch * self.n + batch, (batch * self.n + self.n) if self.input_grad else 0

    def forward(self, x: Any, counts: Any) -> Any:
        affine = self.w is not None
        self.k.forward(x, self.weight, self.bias, affine, self.eps, self.xhat, self.rstd, self.y, counts)
        return self.y

    def backward(self, dy: Any, counts: Any) -> Any:
        if self.w is not None:
            self.k.gradients(dy, self.xhat, self.g_weight, self.g_bias, counts)
        if self.dx is not None:
            self.k.input_grad(dy, self.weight, self.w is not None, self.xhat, self.rstd, self.row, self.dx, counts)
        return self.dx


class ResidualNode(Node):
    def __init__(self, path: str, width: int, grad: bool, body: list[Node]) -> None:
        super().__init__(path, width, grad)
        self.body = body

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.residual
        self.backend = backend
        for child in self.body:
            child.allocate(backend, batch, params, grads)
        self.y = backend.empty((batch, self.width))
        self.dy = backend.empty((batch, self.width))  # the body may change its gradient in place
        self.dx = backend.empty((batch, self.width)) if self.input_grad else None

    def output(self) -> Any:
        return self.y

    def elements(self, batch: int) -> tuple[int, int]:
        return batch * self.width, batch * self.width * (2 if self.input_grad else 1)

    def forward(self, x: Any, counts: Any) -> Any:
        out = x
        for child in self.body:
            out = child.forward(out, counts)
        self.k.forward(x, out, self.y, counts)
        return self.y

    def backward(self, dy: Any, counts: Any) -> Any:
        self.backend.copy(self.dy, dy)
        d = self.dy
        for child in reversed(self.body):
            d = child.backward(d, counts)
            if d is None:  # nothing before this child, in the body or before the residual, has parameters
                break
        if self.dx is None:
            return None
        self.k.input_grad(dy, d, self.dx, counts)
        return self.dx


class Trainer:
    """A plan's buffers on a backend, and its training step.

    **Arguments:** `plan`; `backend`; `params` (the flat initial parameters, numpy); `inputs` (B, n_0); `targets`
    (B, n_out) floats, or (B,) int64 classes for cross-entropy; `lr`, plain SGD's rate when the plan's optimizer is
    None.
    """

    def __init__(
        self, plan: Plan, backend: Backend, params: NDArray[np.float64], inputs: Any, targets: Any, lr: float
    ) -> None:
        self.plan, self.backend, self.lr = plan, backend, lr
        self.params = backend.device(params)
        self.grads = backend.device(np.zeros(plan.n_params))
        for node in plan.nodes:
            node.allocate(backend, plan.batch, self.params, self.grads)
        self.inputs = backend.device(inputs)
        self.targets = backend.device(targets)
        self.dloss = backend.empty((plan.batch, plan.outputs))
        self.steps = 0
        optimizer = plan.optimizer
        self.state = [backend.device(np.zeros(plan.n_params)) for _ in range(self._slots(optimizer))]
        if optimizer is not None and optimizer.name == "adam":
            self.powers = backend.device(np.ones((len(plan.tensors), 2)))
            self.offsets = backend.device(plan.offsets)

    @staticmethod
    def _slots(optimizer: Any) -> int:
        if optimizer is None:
            return 0
        if optimizer.name == "adam":
            return 2
        return 1 if optimizer.momentum else 0

    def forward(self, counts: Any) -> Any:
        out = self.inputs
        for node in self.plan.nodes:
            out = node.forward(out, counts)
        return out

    def step(self, counts: Any) -> None:
        """One training step: forward, backward, update."""
        plan, k = self.plan, self.backend.kernels
        out = self.forward(counts)
        if plan.loss == "cross_entropy":
            k.loss.softmax_nll(out, self.targets, self.dloss, counts)
        else:
            k.loss.difference(out, self.targets, self.dloss, counts)
        d = self.dloss
        nodes = plan.nodes[:-1] if plan.fused else plan.nodes  # bce's gradient is the final sigmoid's input's
        for node in reversed(nodes):
            d = node.backward(d, counts)
            if d is None:  # no layer before this one has parameters
                break
        self.steps += 1
        optimizer = plan.optimizer
        if optimizer is None:
            k.optim.sgd(self.params, self.grads, self.lr, counts)
        elif optimizer.name == "sgd" and not optimizer.momentum:
            k.optim.sgd(self.params, self.grads, optimizer.lr, counts)
        elif optimizer.name == "sgd":
            k.optim.momentum(
                self.params, self.grads, self.state[0], optimizer.lr, optimizer.momentum, self.steps == 1, counts
            )
        else:
            beta1, beta2 = optimizer.betas
            k.optim.adam(
                self.params,
                self.grads,
                self.state[0],
                self.state[1],
                self.offsets,
                self.powers,
                optimizer.lr,
                beta1,
                beta2,
                1.0 - beta1,
                1.0 - beta2,
                optimizer.eps,
                counts,
            )

    def state_dict(self, flat: Any) -> dict[str, NDArray[np.float64]]:
        """The flat array `flat` (parameters or gradients) by ``state_dict()`` name, as fresh numpy arrays."""
        host = self.backend.host(flat)
        return {t.name: host[t.offset : t.offset + t.size].reshape(t.shape).copy() for t in self.plan.tensors}
