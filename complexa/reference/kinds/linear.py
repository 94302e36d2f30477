"""Linear's CPU kernels: z = x W^T + b, the input gradient dx = dz W, and dW, db summed over the batch.

A dot product of length m is m mul and m - 1 add: the first product starts the accumulator, and every sum adds its
terms in order. Two shapes of loop do all three products, each counting as it computes:

- `dots` (the forward pass): z[s, i] = W[i] . x[s], two rows of W against four samples at a time, eight running
  sums in registers (the rows left over one at a time, the samples left over one at a time); the bias is added after.
- `combine` (the input gradient and the weight gradient): out[k] = sum_r coef[r, k] rows[r], rows of the result
  built in place, three at a time, from four rows of `rows` at a time (the rows left over one at a time), over a chunk
  of `CHUNK` columns at a time, so that the chunk of `rows` stays in cache while every row of the result is built.
  The input gradient is dx[s] = sum_i dz[s, i] W[i] (coef = dz^T, rows = W: no transposed copy of W); the weight
  gradient dW[i] = sum_s dz[s, i] x[s] (coef = dz, rows = x).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from complexa.reference._node import Backend, Build, Node, Tensor, new_tensor, view
from complexa.reference.kinds._jit import ADD, BACKWARD, FORWARD, MUL, fast_jit, jit

__all__ = ["Kernels", "make", "CHUNK"]

CHUNK = 512
"""Columns `combine` builds at a time: a chunk of W's rows (n x CHUNK float64) stays in the second-level cache."""


class Kernels(NamedTuple):
    forward: Any
    input_grad: Any
    gradients: Any


def contract_jit(function: Any) -> Any:
    """`jit` that lets LLVM fuse each product into the addition it feeds (one rounding fewer), and nothing more."""
    return jit(function, fastmath={"contract"})


def make(count: bool) -> Kernels:
    counting = count

    @fast_jit
    def dots(a, rows, z, counts, phase):
        # z[s, i] = rows[i] . a[s], each a dot product of length m started from its first product. Two rows at a time
        # against four samples at a time: eight sums share every element loaded; the samples left over take the two
        # rows one sample at a time, and a row left over takes every sample as the single rows did.
        n_mul = 0
        n_add = 0
        batch = a.shape[0]
        n, m = rows.shape
        quads = batch - batch % 4
        pairs = n - n % 2
        for i in range(0, pairs, 2):
            w = rows[i]
            v = rows[i + 1]
            for s in range(0, quads, 4):
                x0 = a[s]
                x1 = a[s + 1]
                x2 = a[s + 2]
                x3 = a[s + 3]
                z0 = w[0] * x0[0]
                z1 = w[0] * x1[0]
                z2 = w[0] * x2[0]
                z3 = w[0] * x3[0]
                y0 = v[0] * x0[0]
                y1 = v[0] * x1[0]
                y2 = v[0] * x2[0]
                y3 = v[0] * x3[0]
                if counting:
                    n_mul += 8
                for j in range(1, m):
                    z0 += w[j] * x0[j]
                    z1 += w[j] * x1[j]
                    z2 += w[j] * x2[j]
                    z3 += w[j] * x3[j]
                    y0 += v[j] * x0[j]
                    y1 += v[j] * x1[j]
                    y2 += v[j] * x2[j]
                    y3 += v[j] * x3[j]
                    if counting:
                        n_mul += 8
                        n_add += 8
                z[s, i] = z0
                z[s + 1, i] = z1
                z[s + 2, i] = z2
                z[s + 3, i] = z3
                z[s, i + 1] = y0
                z[s + 1, i + 1] = y1
                z[s + 2, i + 1] = y2
                z[s + 3, i + 1] = y3
            for s in range(quads, batch):
                x0 = a[s]
                z0 = w[0] * x0[0]
                y0 = v[0] * x0[0]
                if counting:
                    n_mul += 2
                for j in range(1, m):
                    z0 += w[j] * x0[j]
                    y0 += v[j] * x0[j]
                    if counting:
                        n_mul += 2
                        n_add += 2
                z[s, i] = z0
                z[s, i + 1] = y0
        for i in range(pairs, n):
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

    @contract_jit
    def combine(coef, rows, out, counts, phase):
        # out[k] = sum_r coef[r, k] rows[r], each element's sum in the order of r, started from its first product:
        # three rows of `out` at a time (the rows left over one at a time), built from four rows of `rows` per pass
        # (the terms left over one at a time). A chunk of columns at a time, as slices: a loop from 0 over a slice is
        # one LLVM vectorizes (a loop from j0 keeps numba's check for negative indices, which stops it).
        n_mul = 0
        n_add = 0
        terms = rows.shape[0]
        n, m = out.shape
        rest = 1 + (terms - 1) // 4 * 4
        triples = n - n % 3
        for j0 in range(0, m, CHUNK):
            j1 = min(j0 + CHUNK, m)
            for k in range(0, triples, 3):
                f = out[k, j0:j1]
                g = out[k + 1, j0:j1]
                h = out[k + 2, j0:j1]
                c0 = coef[0, k]
                d0 = coef[0, k + 1]
                e0 = coef[0, k + 2]
                x0 = rows[0, j0:j1]
                for j in range(f.shape[0]):
                    f[j] = c0 * x0[j]
                    g[j] = d0 * x0[j]
                    h[j] = e0 * x0[j]
                    if counting:
                        n_mul += 3
                for r in range(1, rest, 4):
                    c0 = coef[r, k]
                    c1 = coef[r + 1, k]
                    c2 = coef[r + 2, k]
                    c3 = coef[r + 3, k]
                    d0 = coef[r, k + 1]
                    d1 = coef[r + 1, k + 1]
                    d2 = coef[r + 2, k + 1]
                    d3 = coef[r + 3, k + 1]
                    e0 = coef[r, k + 2]
                    e1 = coef[r + 1, k + 2]
                    e2 = coef[r + 2, k + 2]
                    e3 = coef[r + 3, k + 2]
                    x0 = rows[r, j0:j1]
                    x1 = rows[r + 1, j0:j1]
                    x2 = rows[r + 2, j0:j1]
                    x3 = rows[r + 3, j0:j1]
                    for j in range(f.shape[0]):
                        f[j] = (((f[j] + c0 * x0[j]) + c1 * x1[j]) + c2 * x2[j]) + c3 * x3[j]
                        g[j] = (((g[j] + d0 * x0[j]) + d1 * x1[j]) + d2 * x2[j]) + d3 * x3[j]
                        h[j] = (((h[j] + e0 * x0[j]) + e1 * x1[j]) + e2 * x2[j]) + e3 * x3[j]
                        if counting:
                            n_mul += 12
                            n_add += 12
                for r in range(rest, terms):
                    c0 = coef[r, k]
                    d0 = coef[r, k + 1]
                    e0 = coef[r, k + 2]
                    x0 = rows[r, j0:j1]
                    for j in range(f.shape[0]):
                        f[j] += c0 * x0[j]
                        g[j] += d0 * x0[j]
                        h[j] += e0 * x0[j]
                        if counting:
                            n_mul += 3
                            n_add += 3
            for k in range(triples, n):
                f = out[k, j0:j1]
                c0 = coef[0, k]
                x0 = rows[0, j0:j1]
                for j in range(f.shape[0]):
                    f[j] = c0 * x0[j]
                    if counting:
                        n_mul += 1
                for r in range(1, rest, 4):
                    c0 = coef[r, k]
                    c1 = coef[r + 1, k]
                    c2 = coef[r + 2, k]
                    c3 = coef[r + 3, k]
                    x0 = rows[r, j0:j1]
                    x1 = rows[r + 1, j0:j1]
                    x2 = rows[r + 2, j0:j1]
                    x3 = rows[r + 3, j0:j1]
                    for j in range(f.shape[0]):
                        f[j] = (((f[j] + c0 * x0[j]) + c1 * x1[j]) + c2 * x2[j]) + c3 * x3[j]
                        if counting:
                            n_mul += 4
                            n_add += 4
                for r in range(rest, terms):
                    c0 = coef[r, k]
                    x0 = rows[r, j0:j1]
                    for j in range(f.shape[0]):
                        f[j] += c0 * x0[j]
                        if counting:
                            n_mul += 1
                            n_add += 1
        if counting:
            counts[phase, MUL] += n_mul
            counts[phase, ADD] += n_add

    @jit
    def add_bias(z, biases, counts):
        n_add = 0
        for s in range(z.shape[0]):
            for i in range(z.shape[1]):
                z[s, i] += biases[i]
                if counting:
                    n_add += 1
        if counting:
            counts[FORWARD, ADD] += n_add

    @jit
    def bias_gradients(dz, g_biases, counts):
        # db = sum_s dz[s], sample 0 starting the sum.
        n_add = 0
        for i in range(g_biases.shape[0]):
            g_biases[i] = dz[0, i]
        for s in range(1, dz.shape[0]):
            for i in range(g_biases.shape[0]):
                g_biases[i] += dz[s, i]
                if counting:
                    n_add += 1
        if counting:
            counts[BACKWARD, ADD] += n_add

    # The three entry points are plain Python calling the compiled loops: a compiled function that called `dots` or
    # `combine` would hold them in its closure, and numba keys its on-disk cache on the closure's pickled contents,
    # which for a compiled function differ in every process, so it would compile afresh in every process.
    def forward(x, weights, biases, bias, z, counts):
        """z = x W^T, then the bias."""
        dots(x, weights, z, counts, FORWARD)
        if bias:
            add_bias(z, biases, counts)

    def input_grad(dz, weights, dx, counts):
        """dx[s] = sum_i dz[s, i] W[i]: the rows of W combined, dz's transpose (a view) giving the coefficients."""
        combine(dz.T, weights, dx, counts, BACKWARD)

    def gradients(dz, x, bias, g_weights, g_biases, counts):
        """dW[i] = sum_s dz[s, i] x[s], and db."""
        combine(dz, x, g_weights, counts, BACKWARD)
        if bias:
            bias_gradients(dz, g_biases, counts)

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
        self.kept = {"activations": [self.z], "deltas": [self.dx]}

    def output(self) -> Any:
        return self.z

    def elements(self, batch: int) -> tuple[int, int]:
        return batch * self.n, batch * self.width if self.input_grad else 0

    def forward(self, x: Any, counts: Any) -> Any:
        self.x = x
        self.k.forward(x, self.weights, self.biases, self.b is not None, self.z, counts)
        return self.z

    def backward(self, dz: Any, counts: Any) -> Any:
        self.k.gradients(dz, self.x, self.b is not None, self.g_weights, self.g_biases, counts)
        if self.dx is not None:
            self.k.input_grad(dz, self.weights, self.dx, counts)
        return self.dx


def node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> LinearNode:
    m, n = int(layer.in_features), int(layer.out_features)
    w = new_tensor(tensors, f"{path}.weight", (n, m))
    b = new_tensor(tensors, f"{path}.bias", (n,)) if layer.bias else None
    return LinearNode(path, width, input_grad, n, w, b)
