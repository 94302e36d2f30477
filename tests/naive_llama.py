"""Slow, readable reference code for the Llama-style kinds' own rows: every scalar operation done one at a time in
Python and counted as it is done, so that the counts are measured, not computed from the rules they check. The
tests compare the counts with `derive`'s rows and the numbers with torch's autograd (tests/test_llama_naive.py)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

Array = np.ndarray


class Ops:
    """Scalar arithmetic that counts itself."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def mul(self, a: float, b: float) -> float:
        self.counts["mul"] += 1
        return a * b

    def add(self, a: float, b: float) -> float:
        self.counts["add"] += 1
        return a + b

    def sub(self, a: float, b: float) -> float:
        self.counts["add"] += 1
        return a - b

    def div(self, a: float, b: float) -> float:
        self.counts["div"] += 1
        return a / b

    def exp(self, a: float) -> float:
        self.counts["exp"] += 1
        return math.exp(a)

    def sqrt(self, a: float) -> float:
        self.counts["sqrt"] += 1
        return math.sqrt(a)

    def greater(self, a: float, b: float) -> bool:
        self.counts["cmp"] += 1
        return a > b

    def total(self, values: list[float]) -> float:
        out = values[0]
        for v in values[1:]:
            out = self.add(out, v)
        return out

    def dot(self, a: list[float], b: list[float]) -> float:
        return self.total([self.mul(x, y) for x, y in zip(a, b)])

    def softmax(self, z: list[float]) -> list[float]:
        m = z[0]
        for v in z[1:]:
            if self.greater(v, m):
                m = v
        e = [self.exp(self.sub(v, m)) for v in z]
        s = self.total(e)
        return [self.div(v, s) for v in e]

    def softmax_backward(self, p: list[float], dp: list[float]) -> list[float]:
        s = self.dot(p, dp)
        return [self.mul(pi, self.sub(di, s)) for pi, di in zip(p, dp)]


# --- RMSNorm ---------------------------------------------------------------------------------------------------------
def rmsnorm(
    fo: Ops, bo: Ops, x: Array, w: Array, eps: float, dy: Array, input_grad: bool
) -> tuple[Array, Array, Array]:
    """y, dx (zeros unless `input_grad`) and dw for rows `x`; the forward counted in `fo`, the backward in `bo`."""
    rows, n = x.shape
    y, dx, xhat, rstd = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x), np.zeros(rows)
    for r in range(rows):
        ms = fo.div(fo.dot(list(x[r]), list(x[r])), n)
        rstd[r] = fo.div(1.0, fo.sqrt(fo.add(ms, eps)))
        for i in range(n):
            xhat[r, i] = fo.mul(x[r, i], rstd[r])
            y[r, i] = fo.mul(w[i], xhat[r, i])
    if input_grad:
        for r in range(rows):
            g = [bo.mul(dy[r, i], w[i]) for i in range(n)]
            m = bo.div(bo.dot(g, list(xhat[r])), n)
            for i in range(n):
                dx[r, i] = bo.mul(bo.sub(g[i], bo.mul(xhat[r, i], m)), rstd[r])
    dw = np.array([bo.dot(list(dy[:, i]), list(xhat[:, i])) for i in range(n)])
    return y, dx, dw


# --- attention -------------------------------------------------------------------------------------------------------
def rope_table(seq: int, hd: int, theta: float) -> tuple[Array, Array]:
    inv = [1.0 / theta ** (2 * i / hd) for i in range(hd // 2)]
    angles = np.array([[p * f for f in inv + inv] for p in range(seq)])
    return np.cos(angles), np.sin(angles)


def rotate(o: Ops, x: Array, cos: Array, sin: Array) -> Array:
    half = len(x) // 2
    out = np.zeros_like(x)
    for i in range(half):
        out[i] = o.sub(o.mul(x[i], cos[i]), o.mul(x[i + half], sin[i]))
        out[i + half] = o.add(o.mul(x[i + half], cos[i + half]), o.mul(x[i], sin[i + half]))
    return out


def unrotate(o: Ops, dx: Array, cos: Array, sin: Array) -> Array:
    """The gradient before the rotation from the one after it (the transposed rotation)."""
    half = len(dx) // 2
    out = np.zeros_like(dx)
    for i in range(half):
        out[i] = o.add(o.mul(dx[i], cos[i]), o.mul(dx[i + half], sin[i + half]))
        out[i + half] = o.sub(o.mul(dx[i + half], cos[i + half]), o.mul(dx[i], sin[i]))
    return out


def attention(
    fo: Ops, bo: Ops, q: Array, k: Array, v: Array, dy: Array, theta: float, causal: bool, window: int | None
) -> tuple[Array, Array, Array, Array]:
    """One sample's attention from its projections q (T, H, hd), k and v (T, K, hd): y (T, H, hd) and the gradients
    of q, k and v (before RoPE), as transformers' eager attention computes them: every score, the additive mask."""
    T, H, hd = q.shape
    K = k.shape[1]
    group = H // K
    cos, sin = rope_table(T, hd, theta)
    scale = hd**-0.5
    qr = np.array([[rotate(fo, q[t, h], cos[t], sin[t]) for h in range(H)] for t in range(T)])
    kr = np.array([[rotate(fo, k[t, g], cos[t], sin[t]) for g in range(K)] for t in range(T)])

    def visible(t: int, s: int) -> bool:
        return not causal or (s <= t and (window is None or s > t - window))

    P = np.zeros((H, T, T))
    y = np.zeros_like(q)
    for h in range(H):
        g = h // group
        for t in range(T):
            scores = [fo.mul(fo.dot(list(qr[t, h]), list(kr[s, g])), scale) for s in range(T)]
            if causal:
                scores = [fo.add(z, 0.0 if visible(t, s) else -math.inf) for s, z in enumerate(scores)]
            P[h, t] = fo.softmax(scores)
            for j in range(hd):
                y[t, h, j] = fo.dot(list(P[h, t]), list(v[:, g, j]))
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    dS = np.zeros((H, T, T))
    for h in range(H):
        g = h // group
        for t in range(T):
            dP = [bo.dot(list(dy[t, h]), list(v[s, g])) for s in range(T)]
            dS[h, t] = [bo.mul(z, scale) for z in bo.softmax_backward(list(P[h, t]), dP)]
    for g in range(K):
        heads = range(g * group, (g + 1) * group)
        for s in range(T):
            for j in range(hd):
                dv[s, g, j] = bo.total([bo.mul(P[h, t, s], dy[t, h, j]) for h in heads for t in range(T)])
    dqr = np.zeros_like(q)
    for h in range(H):
        for t in range(T):
            for j in range(hd):
                dqr[t, h, j] = bo.dot(list(dS[h, t]), list(kr[:, h // group, j]))
    dkr = np.zeros_like(k)
    for g in range(K):
        heads = range(g * group, (g + 1) * group)
        for s in range(T):
            for j in range(hd):
                dkr[s, g, j] = bo.total([bo.mul(dS[h, t, s], qr[t, h, j]) for h in heads for t in range(T)])
    for t in range(T):
        for h in range(H):
            dq[t, h] = unrotate(bo, dqr[t, h], cos[t], sin[t])
        for g in range(K):
            dk[t, g] = unrotate(bo, dkr[t, g], cos[t], sin[t])
    return y, dq, dk, dv


# --- the router and the experts ---------------------------------------------------------------------------------------
def router(o: Ops, x: Array, W: Array, top_k: int) -> tuple[list[list[int]], Array, list[tuple[Array, ...]]]:
    """Each row's top-k experts (best first), their renormalised weights, and what the backward needs."""
    chosen, weights, saved = [], np.zeros((len(x), top_k)), []
    for r in range(len(x)):
        logits = [o.dot(list(W[e]), list(x[r])) for e in range(len(W))]
        p = o.softmax(logits)
        left, picks = list(range(len(p))), []
        for _ in range(top_k):
            best = left[0]
            for e in left[1:]:
                if o.greater(p[e], p[best]):
                    best = e
            picks.append(best)
            left.remove(best)
        s = o.total([p[e] for e in picks])
        weights[r] = [o.div(p[e], s) for e in picks]
        chosen.append(picks)
        saved.append((np.array(p), np.array(s)))
    return chosen, weights, saved


def router_backward(
    o: Ops, x: Array, W: Array, chosen: list[list[int]], weights: Array, saved: list[tuple[Array, ...]], dw: Array,
    input_grad: bool,
) -> tuple[Array, Array]:  # fmt: skip
    """dx (zeros unless `input_grad`) and dW from the routing weights' gradients `dw`."""
    E, d = W.shape
    dz = np.zeros((len(x), E))
    dx = np.zeros_like(x)
    for r in range(len(x)):
        p, s = saved[r]
        t = o.dot(list(dw[r]), list(weights[r]))
        dp = [0.0] * E
        for j, e in enumerate(chosen[r]):
            dp[e] = o.div(o.sub(dw[r, j], t), float(s))
        dz[r] = o.softmax_backward(list(p), dp)
        if input_grad:
            dx[r] = [o.dot(list(W[:, j]), list(dz[r])) for j in range(d)]
    dW = np.array([[o.dot(list(dz[:, e]), list(x[:, j])) for j in range(d)] for e in range(E)])
    return dx, dW


def silu(x: float) -> float:
    return x / (1 + math.exp(-x))


def silu_grad(x: float) -> float:
    s = 1 / (1 + math.exp(-x))
    return s * (1 + x * (1 - s))


def experts(
    fo: Ops, bo: Ops, x: Array, gate_up: Array, down: Array, chosen: list[list[int]], weights: Array, dy: Array,
    input_grad: bool,
) -> tuple[Array, Array, Array, Array, Array]:  # fmt: skip
    """y; and from dy: dx (zeros unless `input_grad`), the routing weights' gradients, d gate_up and d down (each
    expert's starting at zero); the forward counted in `fo`, the backward in `bo`."""
    _, f2, d = gate_up.shape
    f = f2 // 2
    y, dx, dw = np.zeros_like(x), np.zeros_like(x), np.zeros_like(weights)
    dgu, ddown = np.zeros_like(gate_up), np.zeros_like(down)
    kept = {}
    for r in range(len(x)):
        outs = []
        for j, e in enumerate(chosen[r]):
            gu = [fo.dot(list(gate_up[e, i]), list(x[r])) for i in range(f2)]
            g, u = gu[:f], gu[f:]
            fo.counts["act"] += f
            a = [silu(z) for z in g]
            h = [fo.mul(a[i], u[i]) for i in range(f)]
            out = [fo.dot(list(down[e, i]), h) for i in range(d)]
            outs.append([fo.mul(z, weights[r, j]) for z in out])
            kept[r, j] = (g, u, a, h, out)
        y[r] = [fo.total([out[i] for out in outs]) for i in range(d)]
    for r in range(len(x)):
        dxs = []
        for j, e in enumerate(chosen[r]):
            g, u, a, h, out = kept[r, j]
            do = [bo.mul(dy[r, i], weights[r, j]) for i in range(d)]
            dw[r, j] = bo.dot(list(dy[r]), out)
            dh = [bo.dot(list(down[e, :, i]), do) for i in range(f)]
            da = [bo.mul(dh[i], u[i]) for i in range(f)]
            du = [bo.mul(dh[i], a[i]) for i in range(f)]
            bo.counts["act_grad"] += f
            dgu_rows = [bo.mul(da[i], silu_grad(g[i])) for i in range(f)] + du
            if input_grad:
                dxs.append([bo.dot(dgu_rows, list(gate_up[e, :, c])) for c in range(d)])
            for i in range(f2):
                for c in range(d):
                    dgu[e, i, c] = bo.add(dgu[e, i, c], bo.mul(dgu_rows[i], x[r, c]))
            for i in range(d):
                for c in range(f):
                    ddown[e, i, c] = bo.add(ddown[e, i, c], bo.mul(do[i], h[c]))
        if input_grad:
            dx[r] = [bo.total([g[i] for g in dxs]) for i in range(d)]
    return y, dx, dw, dgu, ddown
