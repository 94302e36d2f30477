"""Linear's CPU kernels: z = x W^T + b, the input gradient dx = dz W, and dW, db summed over the batch.

A dot product of length m is m mul and m - 1 add: the first product starts the accumulator. The forward pass and the
input gradient are dot products (`dots`): one row of W (of its transpose, for the input gradient) against four
samples at a time, and the samples left over one at a time; the bias is added after. The weight gradient starts
from sample 0 and then adds four samples per pass over two rows, and the samples left over. Every sum is still its
own products and additions, counted as they are done.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from complexa.reference._node import Backend, Build, Node, Tensor, new_tensor, view
from complexa.reference.kinds._jit import ADD, BACKWARD, FORWARD, MUL, fast_jit, jit

__all__ = ["Kernels", "make"]


class Kernels(NamedTuple):
    forward: Any
    input_grad: Any
    gradients: Any


@jit
def _transpose(a, out):
    """a.T into `out`, in 32 x 32 tiles so that reads and writes both stay in cache."""
    n, m = a.shape
    for i0 in range(0, n, 32):
        for j0 in range(0, m, 32):
            for i in range(i0, min(i0 + 32, n)):
                for j in range(j0, min(j0 + 32, m)):
                    out[j, i] = a[i, j]


def make(count: bool) -> Kernels:
    counting = count

    @fast_jit
    def dots(a, rows, z, counts, phase):
        # z[s, i] = rows[i] . a[s], each a dot product of length m started from its first product. One row at a time
        # is loaded and used for every sample, four samples at a time (the samples left over one at a time), so the
        # row stays in the nearest cache while the samples stream past it, and four sums share each element loaded.
        n_mul = 0
        n_add = 0
        batch = a.shape[0]
        n, m = rows.shape
        quads = batch - batch % 4
        for i in range(n):
            w = rows[i]
            for s in range(0, quads, 4):
                x0 = a[s]
                x1 = a[s + 1]
                x2 = a[s + 2]
                x3 = a[s + 3]
                z0 = w[0] * x0[0]
                z1 = w[0] * x1[0]
                z2 = w[0] * x2[0]
                z3 = w[0] * x3[0]
                if counting:
                    n_mul += 4
                for j in range(1, m):
                    z0 += w[j] * x0[j]
                    z1 += w[j] * x1[j]
                    z2 += w[j] * x2[j]
                    z3 += w[j] * x3[j]
                    if counting:
                        n_mul += 4
                        n_add += 4
                z[s, i] = z0
                z[s + 1, i] = z1
                z[s + 2, i] = z2
                z[s + 3, i] = z3
            for s in range(quads, batch):
                x0 = a[s]
                z0 = w[0] * x0[0]
                if counting:
                    n_mul += 1
                for j in range(1, m):
                    z0 += w[j] * x0[j]
                    if counting:
                        n_mul += 1
                        n_add += 1
                z[s, i] = z0
        if counting:
            counts[phase, MUL] += n_mul
            counts[phase, ADD] += n_add

    @jit
    def forward(x, weights, biases, bias, z, counts):
        dots(x, weights, z, counts, FORWARD)
        if bias:
            n_add = 0
            for s in range(z.shape[0]):
                for i in range(z.shape[1]):
                    z[s, i] += biases[i]
                    if counting:
                        n_add += 1
            if counting:
                counts[FORWARD, ADD] += n_add

    @jit
    def input_grad(dz, weights, transposed, dx, counts):
        # dx[s, j] = sum_i W[i, j] dz[s, i]: the dot products of dz's rows with W's columns, taken as rows of W's
        # transpose, copied into the (m, n) scratch `transposed` (copying moves numbers and computes nothing).
        _transpose(weights, transposed)
        dots(dz, transposed, dx, counts, BACKWARD)

    @jit
    def gradients(dz, x, bias, g_weights, g_biases, counts):
        # dW = sum_s dz[s] x[s]^T, db = sum_s dz[s]; sample 0 starts each sum, then four samples per pass over two
        # rows of dW at once (a row left over alone), then the samples left over.
        n_mul = 0
        n_add = 0
        batch = x.shape[0]
        n, m = g_weights.shape
        rest = 1 + (batch - 1) // 4 * 4
        pairs = n - n % 2
        for i in range(0, pairs, 2):
            g = g_weights[i]
            h = g_weights[i + 1]
            d0 = dz[0, i]
            e0 = dz[0, i + 1]
            x0 = x[0]
            for j in range(m):
                g[j] = d0 * x0[j]
                h[j] = e0 * x0[j]
                if counting:
                    n_mul += 2
            for s in range(1, rest, 4):
                d0 = dz[s, i]
                d1 = dz[s + 1, i]
                d2 = dz[s + 2, i]
                d3 = dz[s + 3, i]
                e0 = dz[s, i + 1]
                e1 = dz[s + 1, i + 1]
                e2 = dz[s + 2, i + 1]
                e3 = dz[s + 3, i + 1]
                x0 = x[s]
                x1 = x[s + 1]
                x2 = x[s + 2]
                x3 = x[s + 3]
                for j in range(m):
                    g[j] = (((g[j] + d0 * x0[j]) + d1 * x1[j]) + d2 * x2[j]) + d3 * x3[j]
                    h[j] = (((h[j] + e0 * x0[j]) + e1 * x1[j]) + e2 * x2[j]) + e3 * x3[j]
                    if counting:
                        n_mul += 8
                        n_add += 8
            for s in range(rest, batch):
                d0 = dz[s, i]
                e0 = dz[s, i + 1]
                x0 = x[s]
                for j in range(m):
                    g[j] += d0 * x0[j]
                    h[j] += e0 * x0[j]
                    if counting:
                        n_mul += 2
                        n_add += 2
        for i in range(pairs, n):
            g = g_weights[i]
            d0 = dz[0, i]
            x0 = x[0]
            for j in range(m):
                g[j] = d0 * x0[j]
                if counting:
                    n_mul += 1
            for s in range(1, rest, 4):
                d0 = dz[s, i]
                d1 = dz[s + 1, i]
                d2 = dz[s + 2, i]
                d3 = dz[s + 3, i]
                x0 = x[s]
                x1 = x[s + 1]
                x2 = x[s + 2]
                x3 = x[s + 3]
                for j in range(m):
                    g[j] = (((g[j] + d0 * x0[j]) + d1 * x1[j]) + d2 * x2[j]) + d3 * x3[j]
                    if counting:
                        n_mul += 4
                        n_add += 4
            for s in range(rest, batch):
                d0 = dz[s, i]
                x0 = x[s]
                for j in range(m):
                    g[j] += d0 * x0[j]
                    if counting:
                        n_mul += 1
                        n_add += 1
        if bias:
            for i in range(n):
                g_biases[i] = dz[0, i]
            for s in range(1, batch):
                for i in range(n):
                    g_biases[i] += dz[s, i]
                    if counting:
                        n_add += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    return Kernels(forward, input_grad, gradients)


# --- the node: this kind as the runtime trains it (`complexa.reference._runtime`) ----------------------------------
class LinearNode(Node):
    def __init__(self, path: str, width: int, grad: bool, n: int, w: Tensor, b: Tensor | None) -> None:
        super().__init__(path, width, grad)
        self.n, self.w, self.b = n, w, b

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.linear
        self.weights, self.biases = view(params, self.w), view(params, self.b)
        self.g_weights, self.g_biases = view(grads, self.w), view(grads, self.b)
        self.z = backend.empty((batch, self.n))
        self.dx = backend.empty((batch, self.width)) if self.input_grad else None
        # W^T, which the CPU's input gradient reads row by row; copied there every step.
        self.transposed = backend.empty((self.width, self.n)) if self.input_grad else None
        self.kept = {"activations": [self.z], "deltas": [self.dx], "scratch": [self.transposed]}

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


def node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> LinearNode:
    m, n = int(layer.in_features), int(layer.out_features)
    w = new_tensor(tensors, f"{path}.weight", (n, m))
    b = new_tensor(tensors, f"{path}.bias", (n,)) if layer.bias else None
    return LinearNode(path, width, input_grad, n, w, b)
