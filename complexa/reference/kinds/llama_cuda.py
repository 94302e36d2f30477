"""Llama's CUDA kernels: the arithmetic of `complexa.reference.kinds.llama`, counted as it counts.

rms_forward and rms_input_grad take one row per thread, since their sums run along the row; rms_input_grad keeps
g = dy w in the thread's own row of dx until it overwrites it with the result (the CPU's one scratch row would be
shared by every thread). rms_gradients takes one feature per thread, summing over the rows from the first. The
SwiGLU product and its backward take one element per thread; RoPE one (row, head, pair) per thread.

forward takes one (sample, head, query row) per thread: its scores, mask, softmax and output row, as the CPU does
them. backward runs in two launches. The first takes one (sample, head, row) per thread for dP = dy v^T and the
softmax's backward on that row, and one (sample, kv head, key, column) per thread for dv, summed over the kv head's
query heads and their rows in the CPU's order; the second one (sample, head, row, column) per thread for dq = dS k and
one (sample, kv head, key, column) for dk = dS^T q, summed as dv. dS needs a (T, T) block per sample and head where
the CPU reuses one: a (B, H, T, T) scratch array kept for each `dp`, as `attention_cuda` keeps it.

Inference: store takes one (sample, token, kv column) per thread, a copy; slide one (sample, kv head, column) per
thread, which moves that column's tokens oldest first (no other thread touches them); decode one (sample, query head)
per thread, its scores over its kv head's cache kept in a (B, H, slots) scratch array, its output columns its own.
"""

from __future__ import annotations

import math

from numba import cuda

from complexa.reference._cuda import launch
from complexa.reference.kinds import _rows_cuda as rows
from complexa.reference.kinds._jit import ADD, BACKWARD, CMP, DIV, EXP, FORWARD, MUL, SQRT
from complexa.reference.kinds.attention_cuda import _scratch
from complexa.reference.kinds.llama import Kernels

__all__ = ["make"]


def make(count: bool) -> Kernels:
    counting = count
    softmax, mix, scores_backward, row_sum, column_sum, decode_kernel = rows.make(count)

    @cuda.jit
    def rms_forward_kernel(x, weight, eps, xhat, rstd, y, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_sqrt = 0
        n = x.shape[1]
        for s in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
            squares = x[s, 0] * x[s, 0]
            if counting:
                n_mul += 1
            for j in range(1, n):
                squares += x[s, j] * x[s, j]
                if counting:
                    n_mul += 1
                    n_add += 1
            mean = squares / n
            r = 1.0 / math.sqrt(mean + eps)
            if counting:
                n_div += 2
                n_add += 1
                n_sqrt += 1
            rstd[s] = r
            for j in range(n):
                h = x[s, j] * r
                xhat[s, j] = h
                y[s, j] = weight[j] * h
                if counting:
                    n_mul += 2
        if counting:
            cuda.atomic.add(counts, (FORWARD, MUL), n_mul)
            cuda.atomic.add(counts, (FORWARD, ADD), n_add)
            cuda.atomic.add(counts, (FORWARD, DIV), n_div)
            cuda.atomic.add(counts, (FORWARD, SQRT), n_sqrt)

    @cuda.jit
    def rms_input_grad_kernel(dy, weight, xhat, rstd, dx, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n = dy.shape[1]
        for s in range(cuda.grid(1), dy.shape[0], cuda.gridsize(1)):
            g = dx[s]  # this thread's row: g = dy w, then the result
            for j in range(n):
                g[j] = dy[s, j] * weight[j]
                if counting:
                    n_mul += 1
            total = g[0] * xhat[s, 0]
            if counting:
                n_mul += 1
            for j in range(1, n):
                total += g[j] * xhat[s, j]
                if counting:
                    n_mul += 1
                    n_add += 1
            m = total / n
            if counting:
                n_div += 1
            r = rstd[s]
            for j in range(n):
                g[j] = (g[j] - xhat[s, j] * m) * r
                if counting:
                    n_mul += 2
                    n_add += 1
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)
            cuda.atomic.add(counts, (BACKWARD, DIV), n_div)

    @cuda.jit
    def rms_gradients_kernel(dy, xhat, g_weight, counts):
        n_mul = 0
        n_add = 0
        for j in range(cuda.grid(1), dy.shape[1], cuda.gridsize(1)):
            acc = dy[0, j] * xhat[0, j]
            if counting:
                n_mul += 1
            for s in range(1, dy.shape[0]):
                acc += dy[s, j] * xhat[s, j]
                if counting:
                    n_mul += 1
                    n_add += 1
            g_weight[j] = acc
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def glu_forward_kernel(a, u, h, counts):
        n_mul = 0
        n = a.shape[1]
        for t in range(cuda.grid(1), a.shape[0] * n, cuda.gridsize(1)):
            s = t // n
            j = t % n
            h[s, j] = a[s, j] * u[s, j]
            if counting:
                n_mul += 1
        if counting:
            cuda.atomic.add(counts, (FORWARD, MUL), n_mul)

    @cuda.jit
    def glu_backward_kernel(dh, a, u, da, du, counts):
        n_mul = 0
        n = dh.shape[1]
        for t in range(cuda.grid(1), dh.shape[0] * n, cuda.gridsize(1)):
            s = t // n
            j = t % n
            du[s, j] = dh[s, j] * a[s, j]
            da[s, j] = dh[s, j] * u[s, j]
            if counting:
                n_mul += 2
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)

    @cuda.jit
    def rope_kernel(x, cos, sin, heads, y, backward, counts):
        # forward: y = the rotation of x; backward (y is x, in place): its transpose.
        n_mul = 0
        n_add = 0
        seq, hd = cos.shape
        h2 = hd // 2
        pairs = heads * h2
        for t in range(cuda.grid(1), x.shape[0] * pairs, cuda.gridsize(1)):
            r = t // pairs
            h = t // h2 % heads
            c = t % h2
            lo_at = h * hd + c
            hi_at = lo_at + h2
            p = r % seq
            lo = x[r, lo_at]
            hi = x[r, hi_at]
            if backward:
                y[r, lo_at] = lo * cos[p, c] + hi * sin[p, c + h2]
                y[r, hi_at] = hi * cos[p, c + h2] - lo * sin[p, c]
            else:
                y[r, lo_at] = lo * cos[p, c] - hi * sin[p, c]
                y[r, hi_at] = hi * cos[p, c + h2] + lo * sin[p, c + h2]
            if counting:
                n_mul += 4
                n_add += 2
        if counting:
            phase = BACKWARD if backward else FORWARD
            cuda.atomic.add(counts, (phase, MUL), n_mul)
            cuda.atomic.add(counts, (phase, ADD), n_add)

    @cuda.jit
    def forward_kernel(q, k, v, heads, kv_heads, scale, causal, window, probs, y, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_exp = 0
        n_cmp = 0
        batch, _, seq, _ = probs.shape
        hd = q.shape[1] // heads
        group = heads // kv_heads
        for t in range(cuda.grid(1), batch * heads * seq, cuda.gridsize(1)):
            b = t // (heads * seq)
            h = t // seq % heads
            i = t % seq
            base = b * seq
            q0 = h * hd
            k0 = h // group * hd
            qi = base + i
            for j in range(seq):
                kj = base + j
                s = q[qi, q0] * k[kj, k0]
                if counting:
                    n_mul += 1
                for c in range(1, hd):
                    s += q[qi, q0 + c] * k[kj, k0 + c]
                    if counting:
                        n_mul += 1
                        n_add += 1
                s *= scale
                if counting:
                    n_mul += 1
                if causal:
                    s += -math.inf if j > i or (window > 0 and j <= i - window) else 0.0
                    if counting:
                        n_add += 1
                probs[b, h, i, j] = s
            adds, divs, exps, cmps = softmax(probs[b, h, i], seq)
            muls, adds_pv = mix(probs[b, h, i], seq, v, base, k0, y[qi], q0, hd)
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
    def scores_backward_kernel(v, dy, probs, heads, kv_heads, scale, dv, ds, counts):
        # Threads 0..B H T - 1 take a row of dS each; the threads after them an element of dv each (B K T hd), summed
        # over the H / K query heads that read its key/value head.
        n_mul = 0
        n_add = 0
        batch, _, seq, _ = probs.shape
        hd = dy.shape[1] // heads
        group = heads // kv_heads
        n_rows = batch * heads * seq
        for t in range(cuda.grid(1), n_rows + batch * kv_heads * seq * hd, cuda.gridsize(1)):
            if t < n_rows:
                b = t // (heads * seq)
                h = t // seq % heads
                i = t % seq
                base = b * seq
                k0 = h // group * hd
                muls, adds = scores_backward(
                    dy, base + i, h * hd, v, base, k0, hd, probs[b, h, i], ds[b, h, i], seq, scale
                )
            else:
                u = t - n_rows
                c = u % hd
                j = u // hd % seq
                g = u // (hd * seq) % kv_heads
                b = u // (hd * seq * kv_heads)
                base = b * seq
                h = g * group
                acc, muls, adds = column_sum(probs, b, h, h + group, j, dy, base, seq, hd, c)
                dv[base + j, g * hd + c] = acc
            if counting:
                n_mul += muls
                n_add += adds
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def qk_backward_kernel(q, k, heads, kv_heads, ds, dq, dk, counts):
        # Threads 0..B H T hd - 1 take an element of dq each (dS k), the threads after them one of dk (B K T hd).
        n_mul = 0
        n_add = 0
        batch, _, seq, _ = ds.shape
        hd = dq.shape[1] // heads
        group = heads // kv_heads
        n_q = batch * heads * seq * hd
        for t in range(cuda.grid(1), n_q + batch * kv_heads * seq * hd, cuda.gridsize(1)):
            if t < n_q:  # dq[m] = sum_j dS[m, j] k[j]
                c = t % hd
                m = t // hd % seq
                h = t // (hd * seq) % heads
                b = t // (hd * seq * heads)
                base = b * seq
                acc, muls, adds = row_sum(ds[b, h, m], seq, k, base, h // group * hd + c)
                dq[base + m, h * hd + c] = acc
            else:  # dk[m] = sum over the group's heads h and rows i of dS_h[i, m] q_h[i]
                u = t - n_q
                c = u % hd
                m = u // hd % seq
                g = u // (hd * seq) % kv_heads
                b = u // (hd * seq * kv_heads)
                base = b * seq
                h = g * group
                acc, muls, adds = column_sum(ds, b, h, h + group, m, q, base, seq, hd, c)
                dk[base + m, g * hd + c] = acc
            if counting:
                n_mul += muls
                n_add += adds
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    def rms_forward(x, weight, eps, xhat, rstd, y, counts):
        launch(rms_forward_kernel, x.shape[0], x, weight, eps, xhat, rstd, y, counts)

    def rms_input_grad(dy, weight, xhat, rstd, g, dx, counts):
        # g, the CPU's scratch row, is not used: each thread keeps its g in its row of dx.
        launch(rms_input_grad_kernel, dy.shape[0], dy, weight, xhat, rstd, dx, counts)

    def rms_gradients(dy, xhat, g_weight, counts):
        launch(rms_gradients_kernel, dy.shape[1], dy, xhat, g_weight, counts)

    def glu_forward(a, u, h, counts):
        launch(glu_forward_kernel, a.shape[0] * a.shape[1], a, u, h, counts)

    def glu_backward(dh, a, u, da, du, counts):
        launch(glu_backward_kernel, dh.shape[0] * dh.shape[1], dh, a, u, da, du, counts)

    def rope_forward(x, cos, sin, heads, y, counts):
        launch(rope_kernel, x.shape[0] * heads * (cos.shape[1] // 2), x, cos, sin, heads, y, False, counts)

    def rope_backward(d, cos, sin, heads, counts):
        launch(rope_kernel, d.shape[0] * heads * (cos.shape[1] // 2), d, cos, sin, heads, d, True, counts)

    def forward(q, k, v, heads, kv_heads, scale, causal, window, probs, y, counts):
        work = probs.shape[0] * heads * probs.shape[2]
        launch(forward_kernel, work, q, k, v, heads, kv_heads, scale, causal, window, probs, y, counts)

    def backward(q, k, v, dy, probs, heads, kv_heads, scale, dq, dk, dv, dp, counts):
        # dp, the CPU's one (T, T) block, is not written: dS needs a block per sample and head here.
        ds = _scratch(dp, probs.shape)
        rows = probs.shape[0] * heads * probs.shape[2]
        launch(
            scores_backward_kernel,
            rows + dv.shape[0] * dv.shape[1],
            v,
            dy,
            probs,
            heads,
            kv_heads,
            scale,
            dv,
            ds,
            counts,
        )
        launch(
            qk_backward_kernel,
            dq.shape[0] * dq.shape[1] + dk.shape[0] * dk.shape[1],
            q,
            k,
            heads,
            kv_heads,
            ds,
            dq,
            dk,
            counts,
        )

    @cuda.jit
    def store_kernel(k, v, first, start, k_cache, v_cache):
        # Copies, no arithmetic: one (sample, token, kv column) a thread, tokens first .. n - 1 from slot start on.
        batch, kv_heads, _, hd = k_cache.shape
        width = kv_heads * hd
        seq = k.shape[0] // batch
        kept = seq - first
        for t in range(cuda.grid(1), batch * kept * width, cuda.gridsize(1)):
            b = t // (kept * width)
            i = first + t // width % kept
            g = t % width // hd
            c = t % hd
            k_cache[b, g, start + i - first, c] = k[b * seq + i, g * hd + c]
            v_cache[b, g, start + i - first, c] = v[b * seq + i, g * hd + c]

    @cuda.jit
    def slide_kernel(k_cache, v_cache, shift, keep):
        # One (sample, kv head, column) a thread, moving its column's tokens oldest first: a slot is read before
        # any thread writes it, as each column is one thread's.
        batch, kv_heads, _, hd = k_cache.shape
        for t in range(cuda.grid(1), batch * kv_heads * hd, cuda.gridsize(1)):
            b = t // (kv_heads * hd)
            g = t // hd % kv_heads
            c = t % hd
            for j in range(keep):
                k_cache[b, g, j, c] = k_cache[b, g, j + shift, c]
                v_cache[b, g, j, c] = v_cache[b, g, j + shift, c]

    def store(k, v, first, start, k_cache, v_cache):
        work = k_cache.shape[0] * (k.shape[0] // k_cache.shape[0] - first) * k.shape[1]
        launch(store_kernel, work, k, v, first, start, k_cache, v_cache)

    def slide(k_cache, v_cache, shift, keep):
        launch(slide_kernel, k_cache.shape[0] * k_cache.shape[1] * k_cache.shape[3], k_cache, v_cache, shift, keep)

    def decode(q, k_cache, v_cache, length, heads, scale, masked, scores, y, counts):
        # Each thread's scores in a (B, H, slots) scratch array kept for the `scores` buffer, as attention_cuda's.
        rows = _scratch(scores, (k_cache.shape[0], heads, k_cache.shape[2]))
        launch(decode_kernel, q.shape[0] * heads, q, k_cache, v_cache, length, heads, scale, masked, rows, y, counts)

    return Kernels(
        rms_forward,
        rms_input_grad,
        rms_gradients,
        glu_forward,
        glu_backward,
        rope_forward,
        rope_backward,
        forward,
        backward,
        store,
        slide,
        decode,
    )
