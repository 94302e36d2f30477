"""The losses' CPU kernels: the gradient each hands to the last layer (the loss value is not computed here).

``difference``: y_hat - y, one add per output (mse; and bce, where it is the gradient with respect to the final
sigmoid's input). ``softmax_nll``: p = exp(z - max z) / sum exp(z - max z) (n - 1 cmp, n add, n exp, n - 1 add,
n div) and p - onehot(t), one add at the target.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from complexa.reference.kinds._jit import ADD, BACKWARD, CMP, DIV, EXP, jit

__all__ = ["Kernels", "make"]


class Kernels(NamedTuple):
    difference: Any
    softmax_nll: Any


def make(count: bool) -> Kernels:
    counting = count

    @jit
    def difference(outputs, targets, d, counts):
        n_add = 0
        for s in range(outputs.shape[0]):
            for i in range(outputs.shape[1]):
                d[s, i] = outputs[s, i] - targets[s, i]
                if counting:
                    n_add += 1
        if counting:
            counts[BACKWARD, ADD] += n_add

    @jit
    def softmax_nll(logits, classes, d, counts):
        n_add = 0
        n_cmp = 0
        n_exp = 0
        n_div = 0
        n = logits.shape[1]
        for s in range(logits.shape[0]):
            z = logits[s]
            top = z[0]
            for i in range(1, n):
                if z[i] > top:
                    top = z[i]
                if counting:
                    n_cmp += 1
            row = d[s]
            for i in range(n):
                row[i] = math.exp(z[i] - top)
                if counting:
                    n_add += 1
                    n_exp += 1
            total = row[0]
            for i in range(1, n):
                total += row[i]
                if counting:
                    n_add += 1
            for i in range(n):
                row[i] = row[i] / total
                if counting:
                    n_div += 1
            row[classes[s]] -= 1.0
            if counting:
                n_add += 1
        if counting:
            counts[BACKWARD, ADD] += n_add
            counts[BACKWARD, CMP] += n_cmp
            counts[BACKWARD, EXP] += n_exp
            counts[BACKWARD, DIV] += n_div

    return Kernels(difference, softmax_nll)
