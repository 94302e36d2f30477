"""GPT's CUDA kernels: the arithmetic of `complexa.reference.kinds.attention`, counted as it counts.

embed and position take one (row, column) per thread. embed_gradients takes one (token-table row, column) per thread,
which scans the rows in order and adds those of its token: several rows may share a token, and the sums stay
deterministic, in the CPU's order, without atomics on the data. position_gradients takes one (position, column) per
thread, summing over the samples from the first.

forward takes one (sample, head, query row) per thread: its scores, softmax and output row, as the CPU does them.
backward runs in two launches. The first takes one (sample, head, row) per thread for dP = dy v^T and, on the same
row, the softmax's backward dS = P (dP - sum P dP) scale, and one (sample, head, key, column) per thread for
dv = P^T dy; the second takes one (sample, head, row, column) per thread for dq = dS k and for dk = dS^T q, which read
dS across rows. dS needs a (T, T) block per sample and head where the CPU reuses one: the host function keeps a
(B, H, T, T) scratch array for each `dp` it is handed, made at the first call and released with that `dp` (the
node's), so the signatures stay the CPU's and `dp` itself is not written.

Inference: store takes one (sample, token, column of the key and value) per thread, a copy. decode takes one (sample,
head) per thread: its query's scores over the cache, softmax and output, as the CPU does them; each thread keeps its
scores in a (B, H, capacity) scratch array kept for the `scores` buffer it is handed, as backward's dS.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np
from numba import cuda

from complexa.reference._cuda import launch
from complexa.reference.kinds import _rows_cuda as rows
from complexa.reference.kinds._jit import ADD, BACKWARD, CMP, DIV, EXP, FORWARD, MUL
from complexa.reference.kinds.attention import Kernels

__all__ = ["make"]

_SCRATCH: dict[int, Any] = {}
"""id(dp) -> the (B, H, T, T) device array that backward keeps dS in; an entry goes when its `dp` does."""


def _scratch(dp: Any, shape: tuple[int, ...]) -> Any:
    key = id(dp)
    found = _SCRATCH.get(key)
    if found is None:
        weakref.finalize(dp, _SCRATCH.pop, key, None)
    if found is None or found.shape != shape:
        found = _SCRATCH[key] = cuda.device_array(shape, dtype=np.float64)
    return found


def make(count: bool) -> Kernels:
    counting = count
    softmax, mix, scores_backward, row_sum, column_sum, decode_kernel = rows.make(count)

    @cuda.jit
    def embed_kernel(ids, table, y, counts):
        # A gather: no arithmetic.
        n = y.shape[1]
        for t in range(cuda.grid(1), y.shape[0] * n, cuda.gridsize(1)):
            r = t // n
            c = t % n
            y[r, c] = table[ids[r], c]

    @cuda.jit
    def embed_gradients_kernel(ids, dy, g_table, zero, counts):
        n_add = 0
        n = g_table.shape[1]
        for t in range(cuda.grid(1), g_table.shape[0] * n, cuda.gridsize(1)):
            v = t // n
            c = t % n
            acc = 0.0 if zero else g_table[v, c]
            for r in range(ids.shape[0]):
                if ids[r] == v:
                    acc += dy[r, c]
                    if counting:
                        n_add += 1
            g_table[v, c] = acc
        if counting:
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def position_kernel(x, table, y, counts):
        n_add = 0
        seq = table.shape[0]
        n = x.shape[1]
        for t in range(cuda.grid(1), x.shape[0] * n, cuda.gridsize(1)):
            r = t // n
            c = t % n
            y[r, c] = x[r, c] + table[r % seq, c]
            if counting:
                n_add += 1
        if counting:
            cuda.atomic.add(counts, (FORWARD, ADD), n_add)

    @cuda.jit
    def position_gradients_kernel(dy, g_table, counts):
        n_add = 0
        seq, n = g_table.shape
        for t in range(cuda.grid(1), seq * n, cuda.gridsize(1)):
            p = t // n
            c = t % n
            acc = dy[p, c]
            for r in range(p + seq, dy.shape[0], seq):
                acc += dy[r, c]
                if counting:
                    n_add += 1
            g_table[p, c] = acc
        if counting:
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def forward_kernel(qkv, heads, scale, causal, probs, y, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_exp = 0
        n_cmp = 0
        batch, _, seq, _ = probs.shape
        d = y.shape[1]
        hd = d // heads
        for t in range(cuda.grid(1), batch * heads * seq, cuda.gridsize(1)):
            b = t // (heads * seq)
            h = t // seq % heads
            i = t % seq
            base = b * seq
            q0 = h * hd
            k0 = d + q0
            v0 = 2 * d + q0
            qi = base + i
            for j in range(seq):
                kj = base + j
                s = qkv[qi, q0] * qkv[kj, k0]
                if counting:
                    n_mul += 1
                for c in range(1, hd):
                    s += qkv[qi, q0 + c] * qkv[kj, k0 + c]
                    if counting:
                        n_mul += 1
                        n_add += 1
                s *= scale
                if counting:
                    n_mul += 1
                if causal:
                    if counting:
                        n_cmp += 1
                    if j > i:
                        s = -math.inf
                probs[b, h, i, j] = s
            adds, divs, exps, cmps = softmax(probs[b, h, i], seq)
            muls, adds_pv = mix(probs[b, h, i], seq, qkv, base, v0, y[qi], q0, hd)
            if counting:
                n_mul += muls
                n_add += adds + adds_pv
                n_div += divs
                n_exp += exps
                n_cmp += cmps
        if counting:
            cuda.atomic.add(counts, (FORWARD, MUL), n_mul)
            cuda.atomic.add(counts, (FORWARD, ADD), n_add)
            cuda.atomic.add(counts, (FORWARD, DIV), n_div)
            cuda.atomic.add(counts, (FORWARD, EXP), n_exp)
            cuda.atomic.add(counts, (FORWARD, CMP), n_cmp)

    @cuda.jit
    def scores_backward_kernel(qkv, dy, probs, heads, scale, dqkv, ds, counts):
        # Threads 0..B H T - 1 take a row of dS each (dP = dy v^T, then the softmax's backward on it); the threads
        # after them an element of dv each (B H T hd of them).
        n_mul = 0
        n_add = 0
        batch, _, seq, _ = probs.shape
        d = dy.shape[1]
        hd = d // heads
        n_rows = batch * heads * seq
        for t in range(cuda.grid(1), n_rows + n_rows * hd, cuda.gridsize(1)):
            if t < n_rows:
                b = t // (heads * seq)
                h = t // seq % heads
                i = t % seq
                base = b * seq
                q0 = h * hd
                muls, adds = scores_backward(
                    dy, base + i, q0, qkv, base, 2 * d + q0, hd, probs[b, h, i], ds[b, h, i], seq, scale
                )
            else:  # dv[j] = sum_i P[i, j] dy[i]
                u = t - n_rows
                c = u % hd
                j = u // hd % seq
                h = u // (hd * seq) % heads
                b = u // (hd * seq * heads)
                base = b * seq
                acc, muls, adds = column_sum(probs, b, h, h + 1, j, dy, base, seq, hd, c)
                dqkv[base + j, 2 * d + h * hd + c] = acc
            if counting:
                n_mul += muls
                n_add += adds
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def qk_backward_kernel(qkv, heads, ds, dqkv, counts):
        # Threads 0..B H T hd - 1 take an element of dq each (dS k), the threads after them one of dk (dS^T q).
        n_mul = 0
        n_add = 0
        batch, _, seq, _ = ds.shape
        d = dqkv.shape[1] // 3
        hd = d // heads
        n_elements = batch * heads * seq * hd
        for t in range(cuda.grid(1), 2 * n_elements, cuda.gridsize(1)):
            u = t % n_elements
            c = u % hd
            m = u // hd % seq
            h = u // (hd * seq) % heads
            b = u // (hd * seq * heads)
            base = b * seq
            q0 = h * hd
            if t < n_elements:  # dq[m] = sum_j dS[m, j] k[j]
                acc, muls, adds = row_sum(ds[b, h, m], seq, qkv, base, d + q0 + c)
                dqkv[base + m, q0 + c] = acc
            else:  # dk[m] = sum_i dS[i, m] q[i]
                acc, muls, adds = column_sum(ds, b, h, h + 1, m, qkv, base, seq, hd, c)
                dqkv[base + m, d + q0 + c] = acc
            if counting:
                n_mul += muls
                n_add += adds
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def store_kernel(qkv, heads, start, k_cache, v_cache):
        # Copies, no arithmetic: token i of each sequence's rows into the cache at start + i.
        batch, _, _, hd = k_cache.shape
        d = heads * hd
        seq = qkv.shape[0] // batch
        for t in range(cuda.grid(1), qkv.shape[0] * d, cuda.gridsize(1)):
            r = t // d
            h = t % d // hd
            c = t % hd
            b = r // seq
            i = r % seq
            k_cache[b, h, start + i, c] = qkv[r, d + h * hd + c]
            v_cache[b, h, start + i, c] = qkv[r, 2 * d + h * hd + c]

    def embed(ids, table, y, counts):
        launch(embed_kernel, y.shape[0] * y.shape[1], ids, table, y, counts)

    def embed_gradients(ids, dy, g_table, zero, counts):
        launch(embed_gradients_kernel, g_table.shape[0] * g_table.shape[1], ids, dy, g_table, zero, counts)

    def position(x, table, y, counts):
        launch(position_kernel, x.shape[0] * x.shape[1], x, table, y, counts)

    def position_gradients(dy, g_table, counts):
        launch(position_gradients_kernel, g_table.shape[0] * g_table.shape[1], dy, g_table, counts)

    def forward(qkv, heads, scale, causal, probs, y, counts):
        launch(forward_kernel, probs.shape[0] * heads * probs.shape[2], qkv, heads, scale, causal, probs, y, counts)

    def backward(qkv, dy, probs, heads, scale, dqkv, dp, counts):
        # dp, the CPU's one (T, T) block, is not written: dS needs a block per sample and head here (`_scratch`).
        ds = _scratch(dp, probs.shape)
        rows = probs.shape[0] * heads * probs.shape[2]
        elements = dy.shape[0] * dy.shape[1]  # B T H hd
        launch(scores_backward_kernel, rows + elements, qkv, dy, probs, heads, scale, dqkv, ds, counts)
        launch(qk_backward_kernel, 2 * elements, qkv, heads, ds, dqkv, counts)

    def store(qkv, heads, start, k_cache, v_cache):
        launch(store_kernel, qkv.shape[0] * k_cache.shape[1] * k_cache.shape[3], qkv, heads, start, k_cache, v_cache)

    def decode(qkv, k_cache, v_cache, length, heads, scale, scores, y, counts):
        rows = _scratch(scores, (k_cache.shape[0], heads, k_cache.shape[2]))
        work = qkv.shape[0] * heads
        launch(decode_kernel, work, qkv, k_cache, v_cache, length, heads, scale, False, rows, y, counts)

    return Kernels(embed, embed_gradients, position, position_gradients, forward, backward, store, decode)
