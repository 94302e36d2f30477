"""Residual's CPU kernels: y = x + body(x), one add per unit; dx = dy + the body's dx, one add per unit."""

from __future__ import annotations

from typing import Any, NamedTuple

from complexa.reference._node import Backend, Build, Node, Tensor
from complexa.reference.kinds._jit import ADD, BACKWARD, FORWARD, jit

__all__ = ["Kernels", "make"]


class Kernels(NamedTuple):
    forward: Any
    input_grad: Any


def make(count: bool) -> Kernels:
    counting = count

    @jit
    def forward(x, body, y, counts):
        n_add = 0
        for s in range(x.shape[0]):
            for i in range(x.shape[1]):
                y[s, i] = x[s, i] + body[s, i]
                if counting:
                    n_add += 1
        if counting:
            counts[FORWARD, ADD] += n_add

    @jit
    def input_grad(dy, body_dx, dx, counts):
        n_add = 0
        for s in range(dy.shape[0]):
            for i in range(dy.shape[1]):
                dx[s, i] = dy[s, i] + body_dx[s, i]
                if counting:
                    n_add += 1
        if counting:
            counts[BACKWARD, ADD] += n_add

    return Kernels(forward, input_grad)


# --- the node: this kind as the runtime trains it (`complexa.reference._runtime`) ----------------------------------
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
        self.kept = {"activations": [self.y], "deltas": [self.dy, self.dx]}

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


def node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> ResidualNode:
    body = [build(f"{path}.{k}", child) for k, child in enumerate(layer.layers)]
    return ResidualNode(path, width, input_grad, body)
