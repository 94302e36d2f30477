"""The losses' CUDA kernels: the arithmetic of `complexa.reference.kinds.loss`.

``difference``: y_hat - y, one output per thread. ``softmax_nll``: one sample per thread, since the max and the sum
run along the sample's row: n - 1 cmp, n add and n exp, n - 1 add, n div, then one add at the target.
"""

from __future__ import annotations

import math

from numba import cuda

from complexa.reference._cuda import launch
from complexa.reference.kinds._jit import ADD, BACKWARD, CMP, DIV, EXP
from complexa.reference.kinds.loss import Kernels

__all__ = ["make"]


def make(count: bool) -> Kernels:
    counting = count

    @cuda.jit
    def difference_kernel(outputs, targets, d, counts):
        n_add = 0
        n = outputs.shape[1]
        for t in range(cuda.grid(1), outputs.shape[0] * n, cuda.gridsize(1)):
            s = t // n
            i = t % n
            d[s, i] = outputs[s, i] - targets[s, i]
            if counting:
                n_add += 1
        if counting:
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def softmax_nll_kernel(logits, classes, d, counts):
        n_add = 0
        n_cmp = 0
        n_exp = 0
        n_div = 0
        n = logits.shape[1]
        for s in range(cuda.grid(1), logits.shape[0], cuda.gridsize(1)):
            top = logits[s, 0]
            for i in range(1, n):
                if logits[s, i] > top:
                    top = logits[s, i]
                if counting:
                    n_cmp += 1
            for i in range(n):
                d[s, i] = math.exp(logits[s, i] - top)
                if counting:
                    n_add += 1
                    n_exp += 1
            total = d[s, 0]
            for i in range(1, n):
                total += d[s, i]
                if counting:
                    n_add += 1
            for i in range(n):
                d[s, i] = d[s, i] / total
                if counting:
                    n_div += 1
            d[s, classes[s]] -= 1.0
            if counting:
                n_add += 1
        if counting:
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)
            cuda.atomic.add(counts, (BACKWARD, CMP), n_cmp)
            cuda.atomic.add(counts, (BACKWARD, EXP), n_exp)
            cuda.atomic.add(counts, (BACKWARD, DIV), n_div)

    def difference(outputs, targets, d, counts):
        launch(difference_kernel, outputs.shape[0] * outputs.shape[1], outputs, targets, d, counts)

    def softmax_nll(logits, classes, d, counts):
        launch(softmax_nll_kernel, logits.shape[0], logits, classes, d, counts)

    return Kernels(difference, softmax_nll)
