"""The mixture of experts' CUDA kernels: the arithmetic of `complexa.reference.kinds.moe`, counted as it counts.

route and route_backward take one row per thread. experts_forward runs in two launches: one (routed pair, unit of
d_ff) per thread for g, u, silu(g) and h, then one (row, feature) per thread for o over the row's k slots and y.
experts_backward runs in two: one routed pair per thread for do and dw, then one (pair, unit of d_ff) per thread for
dh, du and dg.
experts_input_grad takes one (row, feature) per thread; experts_gradients one weight element per thread, which
scans the routed pairs in the CPU's order and adds those of its expert, from zero: no two threads write one element,
and the sums are the CPU's.
"""

from __future__ import annotations

from numba import cuda

from complexa.reference._cuda import launch
from complexa.reference.kinds import _rows_cuda as rows
from complexa.reference.kinds._jit import ACT, ACT_GRAD, ADD, BACKWARD, CMP, DIV, EXP, FORWARD, MUL
from complexa.reference.kinds.activation import SILU, activate, derivative
from complexa.reference.kinds.moe import Kernels

__all__ = ["make"]

_activate = cuda.jit(device=True)(activate)
_derivative = cuda.jit(device=True)(derivative)


def make(count: bool) -> Kernels:
    counting = count
    softmax = rows.make(count).softmax

    @cuda.jit
    def route_kernel(probs, index, weights, total, counts):
        n_add = 0
        n_div = 0
        n_exp = 0
        n_cmp = 0
        n_experts = probs.shape[1]
        k = index.shape[1]
        for r in range(cuda.grid(1), probs.shape[0], cuda.gridsize(1)):
            adds, divs, exps, cmps = softmax(probs[r], n_experts)
            if counting:
                n_add += adds
                n_div += divs
                n_exp += exps
                n_cmp += cmps
            for p in range(k):
                best = -1
                for e in range(n_experts):
                    taken = False
                    for q in range(p):
                        if int(index[r, q]) == e:
                            taken = True
                    if taken:
                        continue
                    if best < 0:
                        best = e
                    else:
                        if counting:
                            n_cmp += 1
                        if probs[r, e] > probs[r, best]:
                            best = e
                index[r, p] = best
                weights[r, p] = probs[r, best]
            s = weights[r, 0]
            for p in range(1, k):
                s += weights[r, p]
                if counting:
                    n_add += 1
            total[r] = s
            for p in range(k):
                weights[r, p] = weights[r, p] / s
                if counting:
                    n_div += 1
        if counting:
            cuda.atomic.add(counts, (FORWARD, ADD), n_add)
            cuda.atomic.add(counts, (FORWARD, DIV), n_div)
            cuda.atomic.add(counts, (FORWARD, EXP), n_exp)
            cuda.atomic.add(counts, (FORWARD, CMP), n_cmp)

    @cuda.jit
    def route_backward_kernel(probs, index, weights, total, dw, dz, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_experts = probs.shape[1]
        k = index.shape[1]
        for r in range(cuda.grid(1), probs.shape[0], cuda.gridsize(1)):
            s = dw[r, 0] * weights[r, 0]
            if counting:
                n_mul += 1
            for p in range(1, k):
                s += dw[r, p] * weights[r, p]
                if counting:
                    n_mul += 1
                    n_add += 1
            for e in range(n_experts):
                dz[r, e] = 0.0
            for p in range(k):
                dz[r, int(index[r, p])] = (dw[r, p] - s) / total[r]
                if counting:
                    n_add += 1
                    n_div += 1
            t = probs[r, 0] * dz[r, 0]
            if counting:
                n_mul += 1
            for e in range(1, n_experts):
                t += probs[r, e] * dz[r, e]
                if counting:
                    n_mul += 1
                    n_add += 1
            for e in range(n_experts):
                dz[r, e] = probs[r, e] * (dz[r, e] - t)
                if counting:
                    n_mul += 1
                    n_add += 1
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)
            cuda.atomic.add(counts, (BACKWARD, DIV), n_div)

    @cuda.jit
    def hidden_kernel(x, w_gu, index, gu, a, h, counts):
        # One (pair, unit) per thread: g and u of the unit, silu(g), h.
        n_mul = 0
        n_add = 0
        n_act = 0
        k = index.shape[1]
        f = a.shape[1]
        d = x.shape[1]
        for t in range(cuda.grid(1), gu.shape[0] * f, cuda.gridsize(1)):
            j = t // f
            i = t % f
            r = j // k
            e = int(index[r, j % k])
            for half in range(2):
                unit = i + half * f
                s = w_gu[e, unit, 0] * x[r, 0]
                if counting:
                    n_mul += 1
                for c in range(1, d):
                    s += w_gu[e, unit, c] * x[r, c]
                    if counting:
                        n_mul += 1
                        n_add += 1
                gu[j, unit] = s
            a[j, i] = _activate(gu[j, i], SILU)
            h[j, i] = a[j, i] * gu[j, f + i]
            if counting:
                n_act += 1
                n_mul += 1
        if counting:
            cuda.atomic.add(counts, (FORWARD, MUL), n_mul)
            cuda.atomic.add(counts, (FORWARD, ADD), n_add)
            cuda.atomic.add(counts, (FORWARD, ACT), n_act)

    @cuda.jit
    def output_kernel(w_down, index, weights, h, o, y, counts):
        # One (row, feature) per thread: o of each of the row's k pairs, and y over them.
        n_mul = 0
        n_add = 0
        k = index.shape[1]
        f = h.shape[1]
        d = y.shape[1]
        for t in range(cuda.grid(1), y.shape[0] * d, cuda.gridsize(1)):
            r = t // d
            i = t % d
            for p in range(k):
                j = r * k + p
                e = int(index[r, p])
                s = w_down[e, i, 0] * h[j, 0]
                if counting:
                    n_mul += 1
                for c in range(1, f):
                    s += w_down[e, i, c] * h[j, c]
                    if counting:
                        n_mul += 1
                        n_add += 1
                o[j, i] = s
                if p == 0:
                    y[r, i] = s * weights[r, p]
                    if counting:
                        n_mul += 1
                else:
                    y[r, i] += s * weights[r, p]
                    if counting:
                        n_mul += 1
                        n_add += 1
        if counting:
            cuda.atomic.add(counts, (FORWARD, MUL), n_mul)
            cuda.atomic.add(counts, (FORWARD, ADD), n_add)

    @cuda.jit
    def weight_grad_kernel(index, weights, o, dy, dw, do, counts):
        # One routed pair per thread: do = dy w, dw = dy . o.
        n_mul = 0
        n_add = 0
        k = index.shape[1]
        d = dy.shape[1]
        for j in range(cuda.grid(1), o.shape[0], cuda.gridsize(1)):
            r = j // k
            w = weights[r, j % k]
            s = dy[r, 0] * o[j, 0]
            do[j, 0] = dy[r, 0] * w
            if counting:
                n_mul += 2
            for i in range(1, d):
                s += dy[r, i] * o[j, i]
                do[j, i] = dy[r, i] * w
                if counting:
                    n_mul += 2
                    n_add += 1
            dw[r, j % k] = s
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def hidden_grad_kernel(w_down, index, gu, a, do, dh, dgu, counts):
        # One (pair, unit) per thread: dh = W_down^T do, du = dh a, dg = dh u silu'(g).
        n_mul = 0
        n_add = 0
        n_grad = 0
        k = index.shape[1]
        f = a.shape[1]
        d = do.shape[1]
        for t in range(cuda.grid(1), a.shape[0] * f, cuda.gridsize(1)):
            j = t // f
            c = t % f
            e = int(index[j // k, j % k])
            s = w_down[e, 0, c] * do[j, 0]
            if counting:
                n_mul += 1
            for i in range(1, d):
                s += w_down[e, i, c] * do[j, i]
                if counting:
                    n_mul += 1
                    n_add += 1
            dh[j, c] = s
            dgu[j, f + c] = s * a[j, c]
            dgu[j, c] = s * gu[j, f + c] * _derivative(gu[j, c], a[j, c], SILU)
            if counting:
                n_mul += 3
                n_grad += 1
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)
            cuda.atomic.add(counts, (BACKWARD, ACT_GRAD), n_grad)

    @cuda.jit
    def input_grad_kernel(w_gu, index, dgu, dx, counts):
        n_mul = 0
        n_add = 0
        k = index.shape[1]
        units = dgu.shape[1]
        d = dx.shape[1]
        for t in range(cuda.grid(1), dx.shape[0] * d, cuda.gridsize(1)):
            r = t // d
            c = t % d
            acc = 0.0
            for p in range(k):
                j = r * k + p
                e = int(index[r, p])
                start = 0
                if p == 0:
                    acc = dgu[j, 0] * w_gu[e, 0, c]
                    if counting:
                        n_mul += 1
                    start = 1
                for i in range(start, units):
                    acc += dgu[j, i] * w_gu[e, i, c]
                    if counting:
                        n_mul += 1
                        n_add += 1
            dx[r, c] = acc
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    @cuda.jit
    def gradients_kernel(x, index, dgu, do, h, g_gu, g_down, counts):
        # Threads 0..E 2f d - 1 take an element of g_gu each, the threads after them one of g_down (E d f).
        n_mul = 0
        n_add = 0
        n_experts, units, d = g_gu.shape
        f = h.shape[1]
        k = index.shape[1]
        n_gu = n_experts * units * d
        for t in range(cuda.grid(1), n_gu + n_experts * d * f, cuda.gridsize(1)):
            if t < n_gu:
                e = t // (units * d)
                i = t // d % units
                c = t % d
            else:
                u = t - n_gu
                e = u // (d * f)
                i = u // f % d
                c = u % f
            acc = 0.0
            for j in range(index.shape[0] * k):
                r = j // k
                if int(index[r, j % k]) == e:
                    if t < n_gu:
                        acc += dgu[j, i] * x[r, c]
                    else:
                        acc += do[j, i] * h[j, c]
                    if counting:
                        n_mul += 1
                        n_add += 1
            if t < n_gu:
                g_gu[e, i, c] = acc
            else:
                g_down[e, i, c] = acc
        if counting:
            cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
            cuda.atomic.add(counts, (BACKWARD, ADD), n_add)

    def route(probs, index, weights, total, counts):
        launch(route_kernel, probs.shape[0], probs, index, weights, total, counts)

    def route_backward(probs, index, weights, total, dw, dz, counts):
        launch(route_backward_kernel, probs.shape[0], probs, index, weights, total, dw, dz, counts)

    def experts_forward(x, w_gu, w_down, index, weights, gu, a, h, o, y, counts):
        launch(hidden_kernel, a.shape[0] * a.shape[1], x, w_gu, index, gu, a, h, counts)
        launch(output_kernel, y.shape[0] * y.shape[1], w_down, index, weights, h, o, y, counts)

    def experts_backward(w_down, index, weights, gu, a, o, dy, dw, dgu, dh, do, counts):
        launch(weight_grad_kernel, o.shape[0], index, weights, o, dy, dw, do, counts)
        launch(hidden_grad_kernel, a.shape[0] * a.shape[1], w_down, index, gu, a, do, dh, dgu, counts)

    def experts_input_grad(w_gu, index, dgu, dx, counts):
        launch(input_grad_kernel, dx.shape[0] * dx.shape[1], w_gu, index, dgu, dx, counts)

    def experts_gradients(x, index, dgu, do, h, g_gu, g_down, counts):
        work = g_gu.shape[0] * g_gu.shape[1] * g_gu.shape[2] + g_down.shape[0] * g_down.shape[1] * g_down.shape[2]
        launch(gradients_kernel, work, x, index, dgu, do, h, g_gu, g_down, counts)

    return Kernels(route, route_backward, experts_forward, experts_backward, experts_input_grad, experts_gradients)
