"""LayerNorm's CPU kernels, over the last dimension, counted as `complexa.nn.norm` derives them.

forward, per sample of n: mean = (sum x) / n; xc = x - mean; var = (sum xc^2) / n; rstd = 1 / sqrt(var + eps);
xhat = xc rstd, kept with rstd; y = xhat w + b with the affine parameters. input_grad: g = dy w (affine); s1 = sum g,
s2 = sum g xhat; dx = (g - s1 / n - xhat s2 / n) rstd. gradients: dw = sum over the batch of dy xhat, db = sum dy.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from complexa.reference._node import Backend, Build, Node, Tensor, new_tensor, view
from complexa.reference.kinds._jit import ADD, BACKWARD, DIV, FORWARD, MUL, SQRT, jit

__all__ = ["Kernels", "make"]


class Kernels(NamedTuple):
    forward: Any
    input_grad: Any
    gradients: Any


def make(count: bool) -> Kernels:
    counting = count

    @jit
    def forward(x, weight, bias, affine, eps, xhat, rstd, y, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_sqrt = 0
        n = x.shape[1]
        for s in range(x.shape[0]):
            row = x[s]
            total = row[0]
            for j in range(1, n):
                total += row[j]
                if counting:
                    n_add += 1
            mean = total / n
            if counting:
                n_div += 1
            h = xhat[s]
            for j in range(n):
                h[j] = row[j] - mean
                if counting:
                    n_add += 1
            squares = h[0] * h[0]
            if counting:
                n_mul += 1
            for j in range(1, n):
                squares += h[j] * h[j]
                if counting:
                    n_mul += 1
                    n_add += 1
            var = squares / n
            if counting:
                n_div += 1
            r = 1.0 / math.sqrt(var + eps)
            if counting:
                n_add += 1
                n_sqrt += 1
                n_div += 1
            rstd[s] = r
            for j in range(n):
                h[j] *= r
                if counting:
                    n_mul += 1
            out = y[s]
            if affine:
                for j in range(n):
                    out[j] = h[j] * weight[j] + bias[j]
                    if counting:
                        n_mul += 1
                        n_add += 1
            else:
                for j in range(n):
                    out[j] = h[j]
        if counting:
            counts[FORWARD, MUL] += n_mul
            counts[FORWARD, ADD] += n_add
            counts[FORWARD, DIV] += n_div
            counts[FORWARD, SQRT] += n_sqrt

    @jit
    def input_grad(dy, weight, affine, xhat, rstd, g, dx, counts):
        # g is a scratch row per sample: dy w with the affine parameters, else dy itself.
        n_mul = 0
        n_add = 0
        n_div = 0
        n = dy.shape[1]
        for s in range(dy.shape[0]):
            h = xhat[s]
            if affine:
                for j in range(n):
                    g[j] = dy[s, j] * weight[j]
                    if counting:
                        n_mul += 1
            else:
                for j in range(n):
                    g[j] = dy[s, j]
            s1 = g[0]
            s2 = g[0] * h[0]
            if counting:
                n_mul += 1
            for j in range(1, n):
                s1 += g[j]
                s2 += g[j] * h[j]
                if counting:
                    n_add += 2
                    n_mul += 1
            m1 = s1 / n
            m2 = s2 / n
            if counting:
                n_div += 2
            r = rstd[s]
            out = dx[s]
            for j in range(n):
                out[j] = (g[j] - m1 - h[j] * m2) * r
                if counting:
                    n_mul += 2
                    n_add += 2
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add
            counts[BACKWARD, DIV] += n_div

    @jit
    def gradients(dy, xhat, g_weight, g_bias, counts):
        n_mul = 0
        n_add = 0
        n = dy.shape[1]
        for j in range(n):
            g_weight[j] = dy[0, j] * xhat[0, j]
            g_bias[j] = dy[0, j]
            if counting:
                n_mul += 1
        for s in range(1, dy.shape[0]):
            for j in range(n):
                g_weight[j] += dy[s, j] * xhat[s, j]
                g_bias[j] += dy[s, j]
                if counting:
                    n_mul += 1
                    n_add += 2
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    return Kernels(forward, input_grad, gradients)


# --- the node: this kind as the runtime trains it (`complexa.reference._runtime`) ----------------------------------
class LayerNormNode(Node):
    def __init__(
        self, path: str, width: int, grad: bool, n: int, eps: float, w: Tensor | None, b: Tensor | None
    ) -> None:
        super().__init__(path, width, grad)
        self.n, self.eps, self.w, self.b = n, eps, w, b

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.layernorm
        self.weight, self.bias = view(params, self.w), view(params, self.b)
        self.g_weight, self.g_bias = view(grads, self.w), view(grads, self.b)
        self.xhat = backend.empty((batch, self.n))
        self.rstd = backend.empty((batch,))
        self.y = backend.empty((batch, self.n))
        self.row = backend.empty((self.n,)) if self.input_grad else None  # g = dy w, one sample at a time
        self.dx = backend.empty((batch, self.n)) if self.input_grad else None
        self.kept = {"activations": [self.xhat, self.rstd, self.y], "deltas": [self.row, self.dx]}

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


def node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> LayerNormNode:
    n = int(layer.normalized_shape)
    affine = layer.elementwise_affine
    scale = new_tensor(tensors, f"{path}.weight", (n,)) if affine else None
    shift = new_tensor(tensors, f"{path}.bias", (n,)) if affine else None
    return LayerNormNode(path, width, input_grad, n, layer.eps, scale, shift)
