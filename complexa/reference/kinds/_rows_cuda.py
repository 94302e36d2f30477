"""The CUDA twins of `_rows`' row loops that the attention kernels share (`attention_cuda`, `llama_cuda`): a softmax
in place, a weighted sum of rows (P v) and one query's attention over a KV cache, device functions built counting or
plain (`make`) as the kernels are. Each returns the operations it performed, zeros when not counting, and the calling
thread adds them to its own counters.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from numba import cuda

__all__ = ["Rows", "make"]


class Rows(NamedTuple):
    softmax: Any
    mix: Any
    attend: Any


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
    def attend(q, q0, keys, values, n, scale, masked, scores, out, o0, width):
        # One query over the first n rows of keys and values, as `_rows.attend`: the scores, scaled, the mask (all
        # zeros) added where `masked`, their softmax in scores[:n], out[o0 : o0 + width] = P v. Returns (muls, adds,
        # divs, exps, cmps).
        n_mul = 0
        n_add = 0
        for j in range(n):
            s = q[q0] * keys[j, 0]
            if counting:
                n_mul += 1
            for c in range(1, width):
                s += q[q0 + c] * keys[j, c]
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
        adds, divs, exps, cmps = softmax(scores, n)
        muls, adds_pv = mix(scores, n, values, 0, 0, out, o0, width)
        if counting:
            n_mul += muls
            n_add += adds + adds_pv
        return n_mul, n_add, divs, exps, cmps

    return Rows(softmax, mix, attend)
