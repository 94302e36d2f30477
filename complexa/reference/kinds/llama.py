"""The CPU kernels and nodes of Llama's kinds: `RMSNorm`, the `SwiGLU` MLP, and `Attention` with rotary position
embeddings (RoPE), grouped key and value heads and an optional sliding window, counted as `complexa.nn` derives them.

The rows are tokens, B samples of T each, sample b's tokens at rows b T .. b T + T - 1, position t = row mod T.

- RMSNorm over n features, as Hugging Face's ``LlamaRMSNorm``: s = sum x^2; r = 1 / sqrt(s / n + eps); xhat = x r,
  kept with r; y = xhat w. Its input gradient: g = dy w; m = (sum g xhat) / n; dx = (g - xhat m) r; its weight
  gradient dw = sum over the rows of dy xhat.
- SwiGLU: h = silu(gate_proj(x)) up_proj(x), then down_proj; silu is an activation (`activation.SILU`). Backward:
  du = dh a, da = dh u (a = silu(g), u = up's output), then da *= silu'(g).
- RoPE, rotate-half, on q and k (into buffers of their own; its backward in place): with h2 = hd / 2 and the
  tables cos, sin (T, hd) of ``cat(freqs, freqs)``, freqs[t, i] = t / theta^(2 i / hd): x[c] cos[c] - x[c + h2]
  sin[c] for c < h2 and x[c] cos[c] + x[c - h2] sin[c] above. Backward, its transpose. The tables are constants of
  the layer, made once (in float64: Hugging Face makes them in float32 whatever the model's dtype), not counted.
- Attention with H query heads and K key/value heads of hd features: query head h reads kv head h // (H / K), as
  ``repeat_kv`` does. Every score is computed, the masked ones too (as the eager path): the dot product of length hd,
  the scale (hd^-0.5), then, causal, the additive mask, one add a score: -inf where j > i, or with a window W where
  j <= i - W (token i sees itself and the W - 1 before it), else 0. The softmax and y = P v as GPT's. Backward:
  dP = dy v^T; dS = P (dP - sum P dP) scale; dq = dS k; dk and dv, each kv head's, sum over the H / K query heads
  that read it, each term in order (the first head's first term starts the sum).

Inference (`complexa.reference.generate`): the attention keeps a KV cache of the rotated keys and the values, (B, K,
slots, hd), as ``transformers``' ``DynamicCache`` does; the rows of a phase are at positions seen .. seen + n - 1
of their sequence, and RoPE turns them there (tables over every position the generation reaches). A prefill is the
forward pass over the prompt (the same kernel, mask and window included) whose keys and values `store` copies into
the cache; a decode step's `store` appends the new token's, and `decode` attends from each query head h to kv head
h // (H / K)'s cached keys, the mask added (zeros). With a window W the cache keeps the last W - 1 tokens, as
``DynamicSlidingWindowLayer``: a decode step attends to them and the new token (min(C + 1, W) keys), then `slide`
drops the oldest.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from complexa.reference._node import Backend, Build, Node, Tensor, new_tensor, view
from complexa.reference.kinds import _rows as rows
from complexa.reference.kinds._jit import ADD, BACKWARD, CMP, DIV, EXP, FORWARD, MUL, SQRT, jit
from complexa.reference.kinds.activation import SILU

__all__ = ["Kernels", "make", "rope_tables"]


class Kernels(NamedTuple):
    rms_forward: Any
    rms_input_grad: Any
    rms_gradients: Any
    glu_forward: Any
    glu_backward: Any
    rope_forward: Any
    rope_backward: Any
    forward: Any
    backward: Any
    store: Any
    slide: Any
    decode: Any


def rope_tables(seq: int, head_dim: int, theta: float) -> tuple[Any, Any]:
    """cos and sin, (seq, head_dim), of ``cat(freqs, freqs)`` with freqs[t, i] = t / theta^(2 i / head_dim), as
    Hugging Face's default rotary embedding computes them, in float64."""
    inv_freq = 1.0 / (float(theta) ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    freqs = np.arange(seq, dtype=np.float64)[:, None] * inv_freq[None, :]
    emb = np.concatenate([freqs, freqs], axis=1)
    return np.ascontiguousarray(np.cos(emb)), np.ascontiguousarray(np.sin(emb))


def make(count: bool) -> Kernels:
    counting = count
    dot, softmax, _, mix, head_backward, decode = rows.make(count)

    @jit
    def rms_forward(x, weight, eps, xhat, rstd, y, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_sqrt = 0
        n = x.shape[1]
        for s in range(x.shape[0]):
            row = x[s]
            squares, muls, adds = dot(row, 0, row, 0, n)
            if counting:
                n_mul += muls
                n_add += adds
            mean = squares / n
            r = 1.0 / math.sqrt(mean + eps)
            if counting:
                n_div += 2
                n_add += 1
                n_sqrt += 1
            rstd[s] = r
            h = xhat[s]
            out = y[s]
            for j in range(n):
                h[j] = row[j] * r
                out[j] = weight[j] * h[j]
                if counting:
                    n_mul += 2
        if counting:
            counts[FORWARD, MUL] += n_mul
            counts[FORWARD, ADD] += n_add
            counts[FORWARD, DIV] += n_div
            counts[FORWARD, SQRT] += n_sqrt

    @jit
    def rms_input_grad(dy, weight, xhat, rstd, g, dx, counts):
        # g is a scratch row: dy w, one row at a time.
        n_mul = 0
        n_add = 0
        n_div = 0
        n = dy.shape[1]
        for s in range(dy.shape[0]):
            h = xhat[s]
            for j in range(n):
                g[j] = dy[s, j] * weight[j]
                if counting:
                    n_mul += 1
            total, muls, adds = dot(g, 0, h, 0, n)
            if counting:
                n_mul += muls
                n_add += adds
            m = total / n
            if counting:
                n_div += 1
            r = rstd[s]
            out = dx[s]
            for j in range(n):
                out[j] = (g[j] - h[j] * m) * r
                if counting:
                    n_mul += 2
                    n_add += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add
            counts[BACKWARD, DIV] += n_div

    @jit
    def rms_gradients(dy, xhat, g_weight, counts):
        n_mul = 0
        n_add = 0
        n = dy.shape[1]
        for j in range(n):
            g_weight[j] = dy[0, j] * xhat[0, j]
            if counting:
                n_mul += 1
        for s in range(1, dy.shape[0]):
            for j in range(n):
                g_weight[j] += dy[s, j] * xhat[s, j]
                if counting:
                    n_mul += 1
                    n_add += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    @jit
    def glu_forward(a, u, h, counts):
        n_mul = 0
        for s in range(a.shape[0]):
            for j in range(a.shape[1]):
                h[s, j] = a[s, j] * u[s, j]
                if counting:
                    n_mul += 1
        if counting:
            counts[FORWARD, MUL] += n_mul

    @jit
    def glu_backward(dh, a, u, da, du, counts):
        n_mul = 0
        for s in range(dh.shape[0]):
            for j in range(dh.shape[1]):
                du[s, j] = dh[s, j] * a[s, j]
                da[s, j] = dh[s, j] * u[s, j]
                if counting:
                    n_mul += 2
        if counting:
            counts[BACKWARD, MUL] += n_mul

    @jit
    def rope_forward(x, cos, sin, heads, y, counts):
        # Each head's pairs (c, c + h2) at a time.
        n_mul = 0
        n_add = 0
        seq, hd = cos.shape
        h2 = hd // 2
        for r in range(x.shape[0]):
            row = x[r]
            out = y[r]
            co = cos[r % seq]
            si = sin[r % seq]
            for h in range(heads):
                c0 = h * hd
                for c in range(h2):
                    lo = row[c0 + c]
                    hi = row[c0 + c + h2]
                    out[c0 + c] = lo * co[c] - hi * si[c]
                    out[c0 + c + h2] = hi * co[c + h2] + lo * si[c + h2]
                    if counting:
                        n_mul += 4
                        n_add += 2
        if counting:
            counts[FORWARD, MUL] += n_mul
            counts[FORWARD, ADD] += n_add

    @jit
    def rope_backward(d, cos, sin, heads, counts):
        # In place: the transpose of the rotation.
        n_mul = 0
        n_add = 0
        seq, hd = cos.shape
        h2 = hd // 2
        for r in range(d.shape[0]):
            row = d[r]
            co = cos[r % seq]
            si = sin[r % seq]
            for h in range(heads):
                c0 = h * hd
                for c in range(h2):
                    lo = row[c0 + c]
                    hi = row[c0 + c + h2]
                    row[c0 + c] = lo * co[c] + hi * si[c + h2]
                    row[c0 + c + h2] = hi * co[c + h2] - lo * si[c]
                    if counting:
                        n_mul += 4
                        n_add += 2
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    @jit
    def forward(q, k, v, heads, kv_heads, scale, causal, window, probs, y, counts):
        # window 0: none.
        n_mul = 0
        n_add = 0
        n_div = 0
        n_exp = 0
        n_cmp = 0
        batch, _, seq, _ = probs.shape
        hd = q.shape[1] // heads
        group = heads // kv_heads
        for b in range(batch):
            base = b * seq
            for h in range(heads):
                q0 = h * hd
                k0 = h // group * hd
                p = probs[b, h]
                for i in range(seq):
                    qi = q[base + i]
                    row = p[i]
                    for j in range(seq):
                        s, muls, adds = dot(qi, q0, k[base + j], k0, hd)
                        s *= scale
                        if counting:
                            n_mul += muls + 1
                            n_add += adds
                        if causal:
                            # the additive mask, as the eager path adds it: 0 where i sees j, -inf elsewhere
                            s += -math.inf if j > i or (window > 0 and j <= i - window) else 0.0
                            if counting:
                                n_add += 1
                        row[j] = s
                    adds, divs, exps, cmps = softmax(row, seq)
                    muls, adds_pv = mix(row, seq, v, base, k0, y[base + i], q0, hd, True)
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

    @jit
    def backward(q, k, v, dy, probs, heads, kv_heads, scale, dq, dk, dv, dp, counts):
        # dp: one T x T block, reused for each sample and head. dk and dv of kv head g are written by its first
        # query head (g G) and added to by the G - 1 after it.
        n_mul = 0
        n_add = 0
        batch, _, seq, _ = probs.shape
        hd = dy.shape[1] // heads
        group = heads // kv_heads
        for b in range(batch):
            base = b * seq
            for h in range(heads):
                q0 = h * hd
                k0 = h // group * hd
                first = h % group == 0
                # dP = dy v^T; dv (+)= P^T dy; dS = P (dP - sum P dP) scale; dq = dS k; dk (+)= dS^T q
                muls, adds = head_backward(q, k, v, dy, probs[b, h], dp, base, q0, k0, k0, hd, scale, dq, dk, dv, first)
                if counting:
                    n_mul += muls
                    n_add += adds
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    @jit
    def store(k, v, first, start, k_cache, v_cache):
        # Tokens first .. n - 1 of each sequence's rows of k and v (B n, K hd) into its cache from slot start on:
        # copies, no arithmetic.
        batch, kv_heads, _, hd = k_cache.shape
        seq = k.shape[0] // batch
        for b in range(batch):
            for i in range(first, seq):
                key = k[b * seq + i]
                value = v[b * seq + i]
                for g in range(kv_heads):
                    slot = start + i - first
                    kc = k_cache[b, g, slot]
                    vc = v_cache[b, g, slot]
                    for c in range(hd):
                        kc[c] = key[g * hd + c]
                        vc[c] = value[g * hd + c]

    @jit
    def slide(k_cache, v_cache, shift, keep):
        # A sliding window's cache: tokens shift .. shift + keep - 1 to slots 0 .. keep - 1, oldest first; copies.
        batch, kv_heads, _, hd = k_cache.shape
        for b in range(batch):
            for g in range(kv_heads):
                kc = k_cache[b, g]
                vc = v_cache[b, g]
                for j in range(keep):
                    for c in range(hd):
                        kc[j, c] = kc[j + shift, c]
                        vc[j, c] = vc[j + shift, c]

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


# --- the nodes: these kinds as the runtime trains them (`complexa.reference._runtime`) -----------------------------
class RMSNormNode(Node):
    def __init__(self, path: str, width: int, grad: bool, n: int, eps: float, w: Tensor) -> None:
        super().__init__(path, width, grad)
        self.n, self.eps, self.w = n, eps, w

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.llama
        self.weight, self.g_weight = view(params, self.w), view(grads, self.w)
        self.xhat = backend.empty((batch, self.n))
        self.rstd = backend.empty((batch,))
        self.y = backend.empty((batch, self.n))
        self.row = backend.empty((self.n,)) if self.input_grad else None  # g = dy w, one row at a time
        self.dx = backend.empty((batch, self.n)) if self.input_grad else None
        self.kept = {"activations": [self.xhat, self.rstd, self.y], "deltas": [self.row, self.dx]}

    def output(self) -> Any:
        return self.y

    def elements(self, batch: int) -> tuple[int, int]:
        return 2 * batch * self.n + batch, (batch * self.n + self.n) if self.input_grad else 0

    def forward(self, x: Any, counts: Any) -> Any:
        self.k.rms_forward(x, self.weight, self.eps, self.xhat, self.rstd, self.y, counts)
        return self.y

    def backward(self, dy: Any, counts: Any) -> Any:
        self.k.rms_gradients(dy, self.xhat, self.g_weight, counts)
        if self.dx is not None:
            self.k.rms_input_grad(dy, self.weight, self.xhat, self.rstd, self.row, self.dx, counts)
        return self.dx


class SwiGLUNode(Node):
    """gate_proj, up_proj and down_proj (`body`, Linear nodes); silu and the product are its own."""

    def __init__(self, path: str, width: int, grad: bool, f: int, body: list[Node]) -> None:
        super().__init__(path, width, grad)
        self.f, self.body = f, body

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        for child in self.body:
            child.allocate(backend, batch, params, grads)
        self.k, self.act, self.res = backend.kernels.llama, backend.kernels.activation, backend.kernels.residual
        f = self.f
        self.a, self.h = backend.empty((batch, f)), backend.empty((batch, f))
        self.da, self.du = backend.empty((batch, f)), backend.empty((batch, f))
        self.dx = backend.empty((batch, self.width)) if self.input_grad else None
        self.kept = {"activations": [self.a, self.h], "deltas": [self.da, self.du, self.dx]}

    def output(self) -> Any:
        return self.body[-1].output()

    def elements(self, batch: int) -> tuple[int, int]:
        return 2 * batch * self.f, 2 * batch * self.f + (batch * self.width if self.input_grad else 0)

    def forward(self, x: Any, counts: Any) -> Any:
        gate, up, down = self.body
        self.g = gate.forward(x, counts)
        self.act.forward(self.g, SILU, self.a, counts)
        self.u = up.forward(x, counts)
        self.k.glu_forward(self.a, self.u, self.h, counts)
        return down.forward(self.h, counts)

    def backward(self, dy: Any, counts: Any) -> Any:
        gate, up, down = self.body
        dh = down.backward(dy, counts)
        self.k.glu_backward(dh, self.a, self.u, self.da, self.du, counts)
        self.act.backward(self.g, self.a, SILU, self.da, counts)  # in place: da becomes gate's output gradient
        dx_gate = gate.backward(self.da, counts)
        dx_up = up.backward(self.du, counts)
        if self.dx is None:
            return None
        self.res.input_grad(dx_gate, dx_up, self.dx, counts)
        return self.dx


class AttentionNode(Node):
    """q_proj, k_proj, v_proj and o_proj (`body`, Linear nodes); RoPE, the scores, softmax and P v are its own."""

    def __init__(
        self,
        path: str,
        width: int,
        grad: bool,
        heads: int,
        kv_heads: int,
        head_dim: int,
        seq: int,
        causal: bool,
        window: int,
        theta: float,
        body: list[Node],
    ) -> None:
        super().__init__(path, width, grad)
        self.heads, self.kv_heads, self.head_dim, self.seq = heads, kv_heads, head_dim, seq
        self.causal, self.window, self.body = causal, window, body
        self.scale = head_dim**-0.5  # as Hugging Face's scaling
        self.theta = theta
        self.tables = rope_tables(seq, head_dim, theta)

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        for child in self.body:
            child.allocate(backend, batch, params, grads)
        self.k, self.res = backend.kernels.llama, backend.kernels.residual
        t, hd = self.seq, self.head_dim
        self.cos, self.sin = (backend.device(table) for table in self.tables)
        self.q = backend.empty((batch, self.heads * hd))
        self.kk = backend.empty((batch, self.kv_heads * hd))
        self.probs = backend.empty((batch // t, self.heads, t, t))
        self.y = backend.empty((batch, self.heads * hd))
        self.dq = backend.empty((batch, self.heads * hd))
        self.dk = backend.empty((batch, self.kv_heads * hd))
        self.dv = backend.empty((batch, self.kv_heads * hd))
        self.dp = backend.empty((t, t))
        self.dx = backend.empty((batch, self.width)) if self.input_grad else None
        self.kept = {
            "activations": [self.q, self.kk, self.probs, self.y],
            "deltas": [self.dq, self.dk, self.dv, self.dp, self.dx],
            "scratch": [self.cos, self.sin],
        }

    def output(self) -> Any:
        return self.body[-1].output()

    def elements(self, batch: int) -> tuple[int, int]:
        t, hd, h, kv = self.seq, self.head_dim, self.heads, self.kv_heads
        deltas = batch * (h + 2 * kv) * hd + t * t + (batch * self.width if self.input_grad else 0)
        return batch * (2 * h * hd + kv * hd + h * t), deltas

    def scratch(self) -> int:
        return 2 * self.seq * self.head_dim  # the cos and sin tables

    cached: int | None = None
    """For inference: the tokens each sequence has in the KV cache (`start_cache`); None in training."""
    seen: int = 0
    """For inference: the tokens each sequence has had, the position of the next (more than `cached` past a window)."""

    def start_cache(self, backend: Backend, sequences: int, capacity: int) -> None:
        """An empty KV cache for `sequences` sequences of up to `capacity` tokens, at positions 0 .. capacity - 1 (the
        rotary tables made for them). With a window W it keeps the last W - 1 tokens, as transformers'
        ``DynamicSlidingWindowLayer``, and has a slot for the new token a decode step attends to beside them."""
        hd = self.head_dim
        self.keep = capacity if not self.window else min(capacity, self.window - 1)
        slots = capacity if not self.window else min(capacity, self.window)
        self.k_cache = backend.empty((sequences, self.kv_heads, slots, hd))
        self.v_cache = backend.empty((sequences, self.kv_heads, slots, hd))
        self.scores = backend.empty((slots,))
        self.tables = rope_tables(capacity, hd, self.theta)
        self.cached = 0
        self.seen = 0

    def forward(self, x: Any, counts: Any) -> Any:
        q_proj, k_proj, v_proj, o_proj = self.body
        cos, sin = self.cos, self.sin
        if self.cached is not None:  # inference: the rows are at positions seen .. seen + n - 1 of their sequence
            n = x.shape[0] // self.k_cache.shape[0]
            cos, sin = cos[self.seen : self.seen + n], sin[self.seen : self.seen + n]
        self.k.rope_forward(q_proj.forward(x, counts), cos, sin, self.heads, self.q, counts)
        self.k.rope_forward(k_proj.forward(x, counts), cos, sin, self.kv_heads, self.kk, counts)
        self.v = v_proj.forward(x, counts)
        if self.cached is None:
            self._attend(counts)
        else:
            self._infer(n, counts)
        return o_proj.forward(self.y, counts)

    def _infer(self, n: int, counts: Any) -> None:
        """A prefill (nothing seen yet) over its n tokens, or a decode step's one, with the KV cache."""
        if self.seen == 0:  # every query over the prompt's keys, masked as in training; the cache keeps the last
            self._attend(counts)
            kept = min(n, self.keep)
            self.k.store(self.kk, self.v, n - kept, 0, self.k_cache, self.v_cache)
        else:
            assert n == 1 and self.cached is not None, "a decode step takes one token per sequence"
            self.k.store(self.kk, self.v, 0, self.cached, self.k_cache, self.v_cache)
            length = self.cached + 1  # the cached tokens and the new one
            self.k.decode(
                self.q,
                self.k_cache,
                self.v_cache,
                length,
                self.heads,
                self.scale,
                self.causal,
                self.scores,
                self.y,
                counts,
            )
            kept = min(length, self.keep)
            if kept < length:  # past the window: the oldest token leaves the cache
                self.k.slide(self.k_cache, self.v_cache, length - kept, kept)
        self.cached = kept
        self.seen += n

    def _attend(self, counts: Any) -> None:
        self.k.forward(
            self.q,
            self.kk,
            self.v,
            self.heads,
            self.kv_heads,
            self.scale,
            self.causal,
            self.window,
            self.probs,
            self.y,
            counts,
        )

    def backward(self, dy: Any, counts: Any) -> Any:
        q_proj, k_proj, v_proj, o_proj = self.body
        d = o_proj.backward(dy, counts)
        self.k.backward(
            self.q,
            self.kk,
            self.v,
            d,
            self.probs,
            self.heads,
            self.kv_heads,
            self.scale,
            self.dq,
            self.dk,
            self.dv,
            self.dp,
            counts,
        )
        self.k.rope_backward(self.dq, self.cos, self.sin, self.heads, counts)
        self.k.rope_backward(self.dk, self.cos, self.sin, self.kv_heads, counts)
        dx_q = q_proj.backward(self.dq, counts)
        dx_k = k_proj.backward(self.dk, counts)
        dx_v = v_proj.backward(self.dv, counts)
        if self.dx is None:
            return None
        self.res.input_grad(dx_q, dx_k, self.dx, counts)
        self.res.input_grad(self.dx, dx_v, self.dx, counts)
        return self.dx


def rms_norm_node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> Node:
    n = int(layer.normalized_shape)
    return RMSNormNode(path, width, input_grad, n, float(layer.eps), new_tensor(tensors, f"{path}.weight", (n,)))


def swiglu_node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> Node:
    body = [build(f"{path}.{name}", getattr(layer, name)) for name in ("gate_proj", "up_proj", "down_proj")]
    return SwiGLUNode(path, width, input_grad, int(layer.d_ff), body)


def attention_node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> Node:
    body = [build(f"{path}.{name}", getattr(layer, name)) for name in ("q_proj", "k_proj", "v_proj", "o_proj")]
    window = 0 if layer.window is None else int(layer.window)
    return AttentionNode(
        path,
        width,
        input_grad,
        int(layer.n_heads),
        int(layer.n_kv_heads),
        int(layer.q_dim) // int(layer.n_heads),
        int(layer.seq_len),
        bool(layer.causal),
        window,
        float(layer.rope_theta),
        body,
    )
