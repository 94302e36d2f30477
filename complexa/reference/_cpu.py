"""CPU kernels: a real float64 training step (forward, backward, SGD update) that counts its own operations.

Each counter is incremented inside the loop that performs the operation it counts, never computed from a formula:
that is what makes these counts a check on the derivation rather than a second copy of it. The counting and the
plain kernels come from one source, `_make_kernels(count)`; `count` is a closure constant, so numba compiles the plain
kernels with every counting branch removed, and the benchmark compares the two.

The conventions, shared with the derivation (see `complexa.reference.measure`):

- a dot product of length m is m mul and m - 1 add: the first product initialises the accumulator;
- an act_grad reuses the stored activation (sigmoid a(1 - a), tanh 1 - a^2) or the stored pre-activation (relu
  z > 0); it counts as one act_grad and its internal arithmetic is not counted as mul or add;
- the loss value is not computed here at all: `measure` computes it, uncounted, for reporting.

Kernels never validate their arguments: `measure` has, in plain Python, before any of them runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from complexa.reference._layout import IDENTITY, Buffers, activate, derivative

__all__ = ["Kernels", "COUNTING", "PLAIN", "CACHED", "train"]

FORWARD, BACKWARD, UPDATE = 0, 1, 2
MUL, ADD, ACT, ACT_GRAD = 0, 1, 2, 3
MSE, BCE = 0, 1


def _jit(function: Callable[..., Any], **options: Any) -> Any:
    """`njit(cache=True)`, or plain `njit` when numba has nowhere writable to cache.

    numba raises at decoration when no cache locator is writable: neither the package's ``__pycache__``, nor the
    user's cache directory, nor ``NUMBA_CACHE_DIR`` (a read-only install with a read-only HOME). Its locator for a
    package inside a zip file does not check, and fails at the first call instead, so the chosen directory is
    checked here too. Importing complexa must not fail for either: the kernels then compile in every process.
    """
    try:
        dispatcher = njit(cache=True, **options)(function)
    except RuntimeError:
        return njit(**options)(function)
    # numba internals, read defensively: should they move, caching stays on, as numba chose.
    locator = getattr(getattr(getattr(dispatcher, "_cache", None), "_impl", None), "locator", None)
    try:
        if locator is not None:
            locator.ensure_cache_path()
    except OSError:
        return njit(**options)(function)
    return dispatcher


def _fast_jit(function: Callable[..., Any]) -> Any:
    """`_jit` that lets LLVM reorder a dot product's additions (and fuse each product into its addition), so it can
    split the sum across SIMD lanes.

    Only the rounding changes, as it does from one BLAS to another (the tests compare with numpy to rtol 1e-12); the
    operations counted are the ones the source performs.
    """
    return _jit(function, fastmath={"reassoc", "contract"})


# One source for g and g' (complexa.reference._layout), compiled here for the CPU and in _cuda for the device.
_activate = _jit(activate)
_derivative = _jit(derivative)


class Kernels(NamedTuple):
    """One set of compiled kernels; `train` runs whole steps, the others are its phases."""

    forward: Any
    backward: Any
    update: Any
    train: Any


def _make_kernels(count: bool) -> Kernels:
    """The kernels, counting when `count` is true; numba sees `counting` as a constant and prunes the dead branch."""
    counting = count

    @_fast_jit
    def forward(params, sizes, w_off, b_off, u_off, acts, zs, activation, bias, counts):
        # acts[:, layer 0] holds the inputs already; every later layer is written here, output layer included.
        n_mul = 0
        n_add = 0
        n_act = 0
        batch = acts.shape[0]
        for k in range(1, sizes.shape[0]):
            n = sizes[k]
            m = sizes[k - 1]
            weights = params[w_off[k] : w_off[k] + n * m].reshape((n, m))
            biases = params[b_off[k] : b_off[k] + n]
            below = u_off[k - 1]
            here = u_off[k]
            zhere = here - sizes[0]  # zs has no columns for the input layer
            # Four samples at a time share each row of W as it is loaded; the samples left over go one at a time.
            # Every sum is still its own m products and m - 1 additions, counted as they are done.
            quads = batch - batch % 4
            for s in range(0, quads, 4):
                x0 = acts[s, below : below + m]
                x1 = acts[s + 1, below : below + m]
                x2 = acts[s + 2, below : below + m]
                x3 = acts[s + 3, below : below + m]
                for i in range(n):
                    w = weights[i]
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
                    if bias:
                        z0 += biases[i]
                        z1 += biases[i]
                        z2 += biases[i]
                        z3 += biases[i]
                        if counting:
                            n_add += 4
                    zs[s, zhere + i] = z0
                    zs[s + 1, zhere + i] = z1
                    zs[s + 2, zhere + i] = z2
                    zs[s + 3, zhere + i] = z3
            for s in range(quads, batch):
                x = acts[s, below : below + m]
                for i in range(n):
                    w = weights[i]
                    z0 = w[0] * x[0]
                    if counting:
                        n_mul += 1
                    for j in range(1, m):
                        z0 += w[j] * x[j]
                        if counting:
                            n_mul += 1
                            n_add += 1
                    if bias:
                        z0 += biases[i]
                        if counting:
                            n_add += 1
                    zs[s, zhere + i] = z0
            for s in range(batch):
                z = zs[s, zhere : zhere + n]
                a = acts[s, here : here + n]
                for i in range(n):
                    if activation == IDENTITY:
                        a[i] = z[i]
                    else:
                        a[i] = _activate(z[i], activation)
                        if counting:
                            n_act += 1
        if counting:
            counts[FORWARD, MUL] += n_mul
            counts[FORWARD, ADD] += n_add
            counts[FORWARD, ACT] += n_act

    @_jit
    def backward(params, grads, sizes, w_off, b_off, u_off, acts, zs, deltas, targets, activation, loss, bias, counts):
        n_mul = 0
        n_add = 0
        n_grad = 0
        batch = acts.shape[0]
        last = sizes.shape[0] - 1
        first = sizes[0]  # zs and deltas have no columns for the input layer

        # Output delta: (a_L - y) * g'(z_L); just a_L - y for bce on sigmoid, and for identity (g' = 1).
        n = sizes[last]
        for s in range(batch):
            a = acts[s, u_off[last] : u_off[last] + n]
            z = zs[s, u_off[last] - first : u_off[last] - first + n]
            d = deltas[s, u_off[last] - first : u_off[last] - first + n]
            y = targets[s]
            for i in range(n):
                d[i] = a[i] - y[i]
                if counting:
                    n_add += 1
                if loss == MSE and activation != IDENTITY:
                    d[i] *= _derivative(z[i], a[i], activation)
                    if counting:
                        n_mul += 1
                        n_grad += 1

        # Hidden deltas, k = L-1..1: (W_{k+1}^T delta_{k+1}) * g'(z_k). Unit j's dot product runs over the units i of
        # the layer above, in order; with i outermost the innermost loop runs along a row of W_{k+1}, contiguous.
        for k in range(last - 1, 0, -1):
            n = sizes[k]
            above = sizes[k + 1]
            weights = params[w_off[k + 1] : w_off[k + 1] + above * n].reshape((above, n))
            for s in range(batch):
                d_above = deltas[s, u_off[k + 1] - first : u_off[k + 1] - first + above]
                d = deltas[s, u_off[k] - first : u_off[k] - first + n]
                d_i = d_above[0]
                for j in range(n):
                    d[j] = weights[0, j] * d_i
                    if counting:
                        n_mul += 1
                for i in range(1, above):
                    d_i = d_above[i]
                    for j in range(n):
                        d[j] += weights[i, j] * d_i
                        if counting:
                            n_mul += 1
                            n_add += 1
                if activation != IDENTITY:
                    a = acts[s, u_off[k] : u_off[k] + n]
                    z = zs[s, u_off[k] - first : u_off[k] - first + n]
                    for j in range(n):
                        d[j] *= _derivative(z[j], a[j], activation)
                        if counting:
                            n_mul += 1
                            n_grad += 1

        # Gradients, summed over the batch: dW_k = sum_s delta_k a_{k-1}^T, db_k = sum_s delta_k; sample 0
        # initialises each sum, so a weight costs B mul and B - 1 add, a bias B - 1 add.
        for k in range(1, last + 1):
            n = sizes[k]
            m = sizes[k - 1]
            g_weights = grads[w_off[k] : w_off[k] + n * m].reshape((n, m))
            g_biases = grads[b_off[k] : b_off[k] + n]
            below = u_off[k - 1]
            here = u_off[k]
            for i in range(n):
                g = g_weights[i]
                d0 = deltas[0, here - first + i]
                x0 = acts[0, below : below + m]
                for j in range(m):
                    g[j] = d0 * x0[j]
                    if counting:
                        n_mul += 1
                # Then four samples per pass over the row, added in sample order, and the samples left over.
                rest = 1 + (batch - 1) // 4 * 4
                for s in range(1, rest, 4):
                    d0 = deltas[s, here - first + i]
                    d1 = deltas[s + 1, here - first + i]
                    d2 = deltas[s + 2, here - first + i]
                    d3 = deltas[s + 3, here - first + i]
                    x0 = acts[s, below : below + m]
                    x1 = acts[s + 1, below : below + m]
                    x2 = acts[s + 2, below : below + m]
                    x3 = acts[s + 3, below : below + m]
                    for j in range(m):
                        g[j] = (((g[j] + d0 * x0[j]) + d1 * x1[j]) + d2 * x2[j]) + d3 * x3[j]
                        if counting:
                            n_mul += 4
                            n_add += 4
                for s in range(rest, batch):
                    d0 = deltas[s, here - first + i]
                    x0 = acts[s, below : below + m]
                    for j in range(m):
                        g[j] += d0 * x0[j]
                        if counting:
                            n_mul += 1
                            n_add += 1
            if bias:
                for i in range(n):
                    g_biases[i] = deltas[0, here - first + i]
                for s in range(1, batch):
                    for i in range(n):
                        g_biases[i] += deltas[s, here - first + i]
                        if counting:
                            n_add += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add
            counts[BACKWARD, ACT_GRAD] += n_grad

    @_jit
    def update(params, grads, lr, counts):
        n_mul = 0
        n_add = 0
        for p in range(params.shape[0]):
            params[p] -= lr * grads[p]
            if counting:
                n_mul += 1
                n_add += 1
        if counting:
            counts[UPDATE, MUL] += n_mul
            counts[UPDATE, ADD] += n_add

    def train(
        params,
        grads,
        sizes,
        w_off,
        b_off,
        u_off,
        acts,
        zs,
        deltas,
        targets,
        activation,
        loss,
        bias,
        lr,
        iterations,
        counts,
    ):
        # A Python loop, not a jitted one: a jitted caller closes over the phase dispatchers, whose pickled form
        # changes from process to process, so numba's cache would miss on it every time and recompile for a second.
        for _ in range(iterations):
            forward(params, sizes, w_off, b_off, u_off, acts, zs, activation, bias, counts)
            backward(
                params, grads, sizes, w_off, b_off, u_off, acts, zs, deltas, targets, activation, loss, bias, counts
            )
            update(params, grads, lr, counts)

    return Kernels(forward, backward, update, train)


COUNTING = _make_kernels(True)
"""The kernels `measure` runs: they do the arithmetic and count it."""
PLAIN = _make_kernels(False)
"""The same kernels with counting compiled out; only the benchmark runs them."""
CACHED = type(getattr(COUNTING.forward, "_cache", None)).__name__ not in ("NullCache", "NoneType")
"""Whether the kernels are cached on disk in this process (False after the fallback to plain `njit`)."""


def train(buffers: Buffers, iterations: int, counts: NDArray[np.int64], *, count: bool = True) -> None:
    """Run `iterations` training steps on `buffers` in place, adding what they do to `counts` when `count`."""
    kernels = COUNTING if count else PLAIN
    layout = buffers.layout
    kernels.train(
        buffers.params,
        buffers.grads,
        layout.sizes,
        layout.weight_offsets,
        layout.bias_offsets,
        layout.unit_offsets,
        buffers.acts,
        buffers.zs,
        buffers.deltas,
        buffers.targets,
        buffers.activation,
        buffers.loss,
        layout.bias,
        buffers.lr,
        iterations,
        counts,
    )
