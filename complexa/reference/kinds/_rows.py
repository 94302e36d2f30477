"""The row loops the CPU attention kernels share (`attention`, `llama`, `moe`): a dot product (a score), a softmax in
place, its backward, a weighted sum of rows (P v), one head's backward pass, and a decode step's attention over a KV
cache (GPT's kernel and Llama's). Built, as the kernels are, counting
or plain (`make`): each returns the operations it performed, zeros when not counting, and the caller adds them to
its own counters; numba compiles them into it.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from complexa.reference.kinds._jit import ADD, CMP, DIV, EXP, FORWARD, MUL, jit

__all__ = ["Rows", "make"]


class Rows(NamedTuple):
    dot: Any
    softmax: Any
    softmax_backward: Any
    mix: Any
    head_backward: Any
    decode: Any


def _inline(function: Any) -> Any:
    """`function` compiled into each kernel that calls it (numba inlines it), as fast as the loop written there."""
    return jit(function, inline="always")


def make(count: bool) -> Rows:
    counting = count

    @_inline
    def dot(a, a0, b, b0, n):
        # sum over c < n of a[a0 + c] b[b0 + c], the first product starting it. Returns (the sum, muls, adds).
        n_mul = 0
        n_add = 0
        s = a[a0] * b[b0]
        if counting:
            n_mul += 1
        for c in range(1, n):
            s += a[a0 + c] * b[b0 + c]
            if counting:
                n_mul += 1
                n_add += 1
        return s, n_mul, n_add

    @_inline
    def softmax(row, n):
        # row[:n] = softmax(row[:n]) in place: the maximum, exp(x - max), their sum, the divisions.
        # Returns (adds, divs, exps, cmps).
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

    @_inline
    def softmax_backward(row, drow, n, scale):
        # drow[:n] = row (drow - sum row drow) scale in place, row the softmax's output, drow its gradient.
        # Returns (muls, adds).
        n_mul = 0
        n_add = 0
        s = row[0] * drow[0]
        if counting:
            n_mul += 1
        for j in range(1, n):
            s += row[j] * drow[j]
            if counting:
                n_mul += 1
                n_add += 1
        for j in range(n):
            drow[j] = row[j] * (drow[j] - s) * scale
            if counting:
                n_mul += 2
                n_add += 1
        return n_mul, n_add

    @_inline
    def mix(weights, n, values, base, v0, out, o0, width, fresh):
        # out[o0 : o0 + width] (+)= sum over j < n of weights[j] values[base + j, v0 : v0 + width]: `fresh`, the
        # first term starts it; else every term adds to what out holds. Returns (muls, adds).
        n_mul = 0
        n_add = 0
        start = 0
        if fresh:
            v = values[base]
            w = weights[0]
            for c in range(width):
                out[o0 + c] = w * v[v0 + c]
                if counting:
                    n_mul += 1
            start = 1
        for j in range(start, n):
            v = values[base + j]
            w = weights[j]
            for c in range(width):
                out[o0 + c] += w * v[v0 + c]
                if counting:
                    n_mul += 1
                    n_add += 1
        return n_mul, n_add

    @_inline
    def head_backward(q, k, v, dy, p, dp, base, q0, k0, v0, width, scale, dq, dk, dv, first):
        # One head of one sample: its rows base .. base + T - 1, P = p (T, T), dp a T x T scratch block; q, k and v
        # at columns q0, k0 and v0 of theirs, dq, dk and dv written at the same. dq = dS k assigns; dk and dv add to
        # what they hold unless `first` (a key/value head shared by query heads: its first assigns). Returns (muls,
        # adds).
        n_mul = 0
        n_add = 0
        seq = p.shape[0]
        # dP = dy v^T
        for i in range(seq):
            g = dy[base + i]
            for j in range(seq):
                s, muls, adds = dot(g, q0, v[base + j], v0, width)
                dp[i, j] = s
                if counting:
                    n_mul += muls
                    n_add += adds
        # dv (+)= P^T dy
        for j in range(seq):
            muls, adds = mix(p[:, j], seq, dy, base, q0, dv[base + j], v0, width, first)
            if counting:
                n_mul += muls
                n_add += adds
        # dS = P (dP - sum P dP), then the scale, in dp
        for i in range(seq):
            muls, adds = softmax_backward(p[i], dp[i], seq, scale)
            if counting:
                n_mul += muls
                n_add += adds
        # dq = dS k
        for i in range(seq):
            muls, adds = mix(dp[i], seq, k, base, k0, dq[base + i], q0, width, True)
            if counting:
                n_mul += muls
                n_add += adds
        # dk (+)= dS^T q
        for j in range(seq):
            muls, adds = mix(dp[:, j], seq, q, base, q0, dk[base + j], k0, width, first)
            if counting:
                n_mul += muls
                n_add += adds
        return n_mul, n_add

    @_inline
    def decode(q, k_cache, v_cache, length, heads, scale, masked, scores, y, counts):
        # A decode step's attention, GPT's and Llama's: one query per sequence, row b of q (head h at columns
        # h hd ..), against the `length` keys cached for it (its own last), (B, K, slots, hd); query head h reads key/
        # value head h // (H / K) (K = H for multi-head attention). Per head: the scores, scaled, plus the mask where
        # `masked` (all zeros: every cached key is visible to the newest query, but transformers' eager path adds
        # it), their softmax in scores[:length], and y[b] at the query's columns = P v.
        n_mul = 0
        n_add = 0
        n_div = 0
        n_exp = 0
        n_cmp = 0
        batch, kv_heads, _, hd = k_cache.shape
        group = heads // kv_heads
        for b in range(batch):
            qi = q[b]
            out = y[b]
            for h in range(heads):
                q0 = h * hd
                g = h // group
                keys = k_cache[b, g]
                for j in range(length):
                    s, muls, adds = dot(qi, q0, keys[j], 0, hd)
                    s *= scale
                    if counting:
                        n_mul += muls + 1
                        n_add += adds
                    if masked:
                        s += 0.0
                        if counting:
                            n_add += 1
                    scores[j] = s
                adds, divs, exps, cmps = softmax(scores, length)
                muls, adds_pv = mix(scores, length, v_cache[b, g], 0, 0, out, q0, hd, True)
                if counting:
                    n_mul += muls
                    n_add += adds + adds_pv
                    n_div += divs
                    n_exp += exps
                    n_cmp += cmps
        if counting:
            counts[FORWARD, MUL] += n_mul
            counts[FORWARD, ADD] += n_add
            counts[FORWARD, DIV] += n_div
            counts[FORWARD, EXP] += n_exp
            counts[FORWARD, CMP] += n_cmp

    return Rows(dot, softmax, softmax_backward, mix, head_backward, decode)
