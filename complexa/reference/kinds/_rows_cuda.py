"""The CUDA twins of `_rows`' row loops that the attention kernels share (`attention_cuda`, `llama_cuda`): a softmax
in place, a weighted sum of rows (P v), and the backward's pieces (a row of dS, an element of dq as a row's weighted
sum, an element of dk or dv summed over query heads and rows), device functions built counting or plain (`make`) as
the kernels are, each returning the operations it performed (zeros when not counting) for the calling thread to add
to its own counters; and the kernel of a decode step's attention over a KV cache, GPT's and Llama's.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from numba import cuda

from complexa.reference.kinds._jit import ADD, CMP, DIV, EXP, FORWARD, MUL

__all__ = ["Rows", "make"]


class Rows(NamedTuple):
    softmax: Any
    mix: Any
    scores_backward: Any
    row_sum: Any
    column_sum: Any
    decode: Any


def make(count: bool) -> Rows:
    counting = count

    @cuda.jit(device=True)
    def softmax(row, n):
        # row[:n] = softmax(row[:n]) in place. Returns (adds, divs, exps, cmps).
        n_add = 0
        n_div = 0
        n_exp = 0
        n_cmp = 0
        top = row[0]
        for j in range(1, n):
            if counting:
                n_cmp += 1
            if row[j] > top:
                top = row[j]
        for j in range(n):
            row[j] = math.exp(row[j] - top)
            if counting:
                n_add += 1
                n_exp += 1
        total = row[0]
        for j in range(1, n):
            total += row[j]
            if counting:
                n_add += 1
        for j in range(n):
            row[j] = row[j] / total
            if counting:
                n_div += 1
        return n_add, n_div, n_exp, n_cmp

    @cuda.jit(device=True)
    def mix(weights, n, values, base, v0, out, o0, width):
        # out[o0 : o0 + width] = sum over j < n of weights[j] values[base + j, v0 : v0 + width], the first term
        # starting it. Returns (muls, adds).
        n_mul = 0
        n_add = 0
        w = weights[0]
        for c in range(width):
            out[o0 + c] = w * values[base, v0 + c]
            if counting:
                n_mul += 1
        for j in range(1, n):
            w = weights[j]
            for c in range(width):
                out[o0 + c] += w * values[base + j, v0 + c]
                if counting:
                    n_mul += 1
                    n_add += 1
        return n_mul, n_add

    @cuda.jit(device=True)
    def scores_backward(dy, row, q0, v, base, v0, hd, p, ds, seq, scale):
        # One query's row of dS: ds[j] = dP[j] = dy[row, q0 : q0 + hd] . v[base + j, v0 : v0 + hd], then in place
        # dS = P (dP - sum_j P dP) scale, p the row's probabilities. Returns (muls, adds).
        n_mul = 0
        n_add = 0
        for j in range(seq):
            vj = base + j
            s = dy[row, q0] * v[vj, v0]
            if counting:
                n_mul += 1
            for c in range(1, hd):
                s += dy[row, q0 + c] * v[vj, v0 + c]
                if counting:
                    n_mul += 1
                    n_add += 1
            ds[j] = s
        s = p[0] * ds[0]
        if counting:
            n_mul += 1
        for j in range(1, seq):
            s += p[j] * ds[j]
            if counting:
                n_mul += 1
                n_add += 1
        for j in range(seq):
            ds[j] = p[j] * (ds[j] - s) * scale
            if counting:
                n_mul += 2
                n_add += 1
        return n_mul, n_add

    @cuda.jit(device=True)
    def row_sum(a, n, x, base, col):
        # sum over j < n of a[j] x[base + j, col], the first term starting it (an element of dq = dS k). Returns
        # (sum, muls, adds).
        n_mul = 0
        n_add = 0
        acc = a[0] * x[base, col]
        if counting:
            n_mul += 1
        for j in range(1, n):
            acc += a[j] * x[base + j, col]
            if counting:
                n_mul += 1
                n_add += 1
        return acc, n_mul, n_add

    @cuda.jit(device=True)
    def column_sum(a, b, h0, h1, m, x, base, seq, hd, c):
        # sum over the query heads h0 .. h1 - 1 and rows i < seq of a[b, h, i, m] x[base + i, h hd + c], in that
        # order, the first term starting it (an element of dv = P^T dy or dk = dS^T q, a key/value head's over the
        # query heads that read it). Returns (sum, muls, adds).
        n_mul = 0
        n_add = 0
        acc = a[b, h0, 0, m] * x[base, h0 * hd + c]
        if counting:
            n_mul += 1
        for i in range(1, seq):
            acc += a[b, h0, i, m] * x[base + i, h0 * hd + c]
            if counting:
                n_mul += 1
                n_add += 1
        for h in range(h0 + 1, h1):
            for i in range(seq):
                acc += a[b, h, i, m] * x[base + i, h * hd + c]
                if counting:
                    n_mul += 1
                    n_add += 1
        return acc, n_mul, n_add

    @cuda.jit
    def decode(q, k_cache, v_cache, length, heads, scale, masked, rows, y, counts):
        # A decode step's attention, GPT's and Llama's, as `_rows.decode`: one (sample, query head) a thread, its
        # query over key/value head h // (H / K)'s `length` cached keys, the mask (zeros) added where `masked`, its
        # scores in its own row of the (B, H, slots) scratch `rows`, its output columns its own.
        n_mul = 0
        n_add = 0
        n_div = 0
        n_exp = 0
        n_cmp = 0
        kv_heads = k_cache.shape[1]
        hd = k_cache.shape[3]
        group = heads // kv_heads
        for t in range(cuda.grid(1), q.shape[0] * heads, cuda.gridsize(1)):
            b = t // heads
            h = t % heads
            g = h // group
            q0 = h * hd
            scores = rows[b, h]
            for j in range(length):
                s = q[b, q0] * k_cache[b, g, j, 0]
                if counting:
                    n_mul += 1
                for c in range(1, hd):
                    s += q[b, q0 + c] * k_cache[b, g, j, c]
                    if counting:
                        n_mul += 1
                        n_add += 1
                s *= scale
                if counting:
                    n_mul += 1
                if masked:
                    s += 0.0
                    if counting:
                        n_add += 1
                scores[j] = s
            adds, divs, exps, cmps = softmax(scores, length)
            muls, adds_pv = mix(scores, length, v_cache[b, g], 0, 0, y[b], q0, hd)
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

    return Rows(softmax, mix, scores_backward, row_sum, column_sum, decode)
