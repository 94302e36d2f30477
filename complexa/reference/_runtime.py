"""A network as it trains: its parameters in one flat array, a node per layer with its buffers, and the step.

Backend-neutral: the nodes call the kernels of a `Backend` (the CPU's here, the device's in `_cuda`) and allocate
through it, so one piece of Python drives both. The parameters, their gradients and the optimizer's state are flat
float64 arrays, each tensor at an offset in torch's ``state_dict()`` order, so the optimizer is one kernel call.

Each kind's node (what it allocates, and which kernels its forward and backward call) lives beside its kernels in
`complexa.reference.kinds`, whose registry `NODES` `plan` reads; importing this module imports numpy only, and `plan`
imports the kernels' modules (numba) when it is called, after `measure` has validated everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from complexa.reference._node import Backend, Node, Tensor, Tensors

__all__ = ["Tensor", "Plan", "Backend", "CpuBackend", "plan"]


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
    aliases: dict[str, str] = field(default_factory=dict)
    """``state_dict()`` names of tied tensors -> the name of the tensor they are (``lm_head.weight`` ->
    ``transformer.wte.weight``): named in the states, stored once."""

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
    """The plan of a concrete network (`complexa.Network`, sizes or layers): each layer's node made by its kind's
    entry in the registry `complexa.reference.kinds.NODES`."""
    from complexa.nn._stack import rows_of
    from complexa.nn.losses import FUSES
    from complexa.reference.kinds import node_for

    rows = {row.path: row for row in rows_of(network, every_copy=True)}
    tensors = Tensors({f"{path}.weight": f"{owner}.weight" for path, owner in network.ties.items()})

    def build(path: str, layer: Any) -> Node:
        row = rows[path]
        return node_for(layer)(path, layer, int(row.width), row.input_grad, tensors, build)

    names = network.names or [str(k) for k in range(len(network.layers))]
    nodes = [build(name, layer) for name, layer in zip(names, network.layers)]
    n_params = sum(t.size for t in tensors)
    offsets = np.array([t.offset for t in tensors] + [n_params], dtype=np.int64)
    optimizer = None if isinstance(network.optimizer, str) else network.optimizer
    return Plan(
        tensors,
        n_params,
        nodes,
        int(network.tokens),
        int(network.output_width),
        network.loss,
        FUSES[network.loss],
        optimizer,
        offsets,
        tensors.ties,
    )


def _rows(array: NDArray[Any], rows: int) -> NDArray[Any]:
    """`array` with one row per token: ints one entry each, floats a row each."""
    return np.ascontiguousarray(array.reshape(rows) if array.dtype.kind == "i" else array.reshape(rows, -1))


class Trainer:
    """A plan's buffers on a backend, and its training step.

    **Arguments:** `plan`; `backend`; `params` (the flat initial parameters, numpy); `inputs` (B, n_0), or int64
    token ids (B,); `targets` (B, n_out) floats, or (B,) int64 classes for cross-entropy (B, seq in place of B for a
    network of sequences); `lr`, plain SGD's rate when the plan's optimizer is
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
        # One row per token: (B, seq, ...) arrays as (B seq, ...); int64 token ids and classes one per row.
        rows = plan.batch
        self.inputs = backend.device(_rows(np.asarray(inputs), rows))
        self.targets = backend.device(_rows(np.asarray(targets), rows))
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

    def allocated(self) -> dict[str, int]:
        """Float64 elements of every buffer as allocated, read off the arrays themselves (`Plan.elements` is the
        estimate made before allocating them)."""
        out = {
            "parameters": int(self.params.size),
            "gradients": int(self.grads.size),
            "activations": int(self.inputs.size),
            "deltas": int(self.dloss.size),
            "scratch": 0,
        }
        for node in self.plan._all():
            for kind, arrays in node.kept.items():
                out[kind] += sum(int(array.size) for array in arrays if array is not None)
        out["optimizer"] = sum(int(state.size) for state in self.state)
        if hasattr(self, "powers"):
            out["optimizer"] += int(self.powers.size)
        return out

    def state_dict(self, flat: Any, aliases: bool = True) -> dict[str, NDArray[np.float64]]:
        """The flat array `flat` (parameters or gradients) by ``state_dict()`` name, as fresh numpy arrays; a tied
        tensor under each of its names with `aliases` (as ``state_dict()``), else once (as ``named_parameters()``)."""
        host = self.backend.host(flat)
        out = {t.name: host[t.offset : t.offset + t.size].reshape(t.shape).copy() for t in self.plan.tensors}
        for alias, name in self.plan.aliases.items() if aliases else ():
            out[alias] = out[name].copy()
        return out
