"""The CPU kernels and nodes of GPT's kinds: `Embedding`, `PositionEmbedding`, `CausalSelfAttention`, `MLP`,
`Block` and `Repeat`, counted as `complexa.nn.embedding`, `complexa.nn.attention` and `complexa.nn.transformer`
derive them.

The rows are tokens, B samples of T each, sample b's tokens at rows b T .. b T + T - 1. The attention reads q, k and
v from ``c_attn``'s output (R, 3 d): q of head h at columns h hd .. h hd + hd - 1, k d columns on, v 2 d on; it keeps
P, (B, H, T, T), for its backward pass, and writes y (R, d) with head h at the same columns as its q.

Inference (`complexa.reference.generate`): the attention keeps a KV cache, keys and values (B, H, capacity, hd),
as ``transformers``' ``DynamicCache`` lays them out. A prefill of P tokens is the forward pass over P tokens (the
same kernel, the causal mask included) whose keys and values `store` copies into the cache; a decode step's `store`
appends the new token's, and `decode` attends from its query to the C + 1 cached keys, unmasked.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from complexa.reference._node import Backend, Build, Node, Tensor, new_tensor, tied_to, view
from complexa.reference.kinds import _rows as rows
from complexa.reference.kinds._jit import ADD, BACKWARD, CMP, DIV, EXP, FORWARD, MUL, jit

__all__ = ["Kernels", "make"]


class Kernels(NamedTuple):
    embed: Any
    embed_gradients: Any
    position: Any
    position_gradients: Any
    forward: Any
    backward: Any
    store: Any
    decode: Any


def make(count: bool) -> Kernels:
    counting = count
    dot, softmax, _, mix, head_backward, attend = rows.make(count)

    @jit
    def embed(ids, table, y, counts):
        # A gather: no arithmetic.
        for r in range(ids.shape[0]):
            row = table[ids[r]]
            out = y[r]
            for c in range(y.shape[1]):
                out[c] = row[c]

    @jit
    def embed_gradients(ids, dy, g_table, zero, counts):
        # A scatter-add into zeros, or (tied) into the output layer's weight gradient written before it.
        n_add = 0
        if zero:
            g_table[:, :] = 0.0
        for r in range(ids.shape[0]):
            g = g_table[ids[r]]
            d = dy[r]
            for c in range(dy.shape[1]):
                g[c] += d[c]
                if counting:
                    n_add += 1
        if counting:
            counts[BACKWARD, ADD] += n_add

    @jit
    def position(x, table, y, counts):
        n_add = 0
        seq = table.shape[0]
        for r in range(x.shape[0]):
            row = table[r % seq]
            for c in range(x.shape[1]):
                y[r, c] = x[r, c] + row[c]
                if counting:
                    n_add += 1
        if counting:
            counts[FORWARD, ADD] += n_add

    @jit
    def position_gradients(dy, g_table, counts):
        # Summed over the samples of each position: the first assigns, the others add.
        n_add = 0
        seq, d = g_table.shape
        for t in range(seq):
            for c in range(d):
                g_table[t, c] = dy[t, c]
        for r in range(seq, dy.shape[0]):
            g = g_table[r % seq]
            for c in range(d):
                g[c] += dy[r, c]
                if counting:
                    n_add += 1
        if counting:
            counts[BACKWARD, ADD] += n_add

    @jit
    def forward(qkv, heads, scale, causal, probs, y, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_exp = 0
        n_cmp = 0
        batch, _, seq, _ = probs.shape
        d = y.shape[1]
        hd = d // heads
        for b in range(batch):
            base = b * seq
            for h in range(heads):
                q0 = h * hd
                k0 = d + q0
                v0 = 2 * d + q0
                p = probs[b, h]
                for i in range(seq):
                    qi = qkv[base + i]
                    row = p[i]
                    for j in range(seq):
                        s, muls, adds = dot(qi, q0, qkv[base + j], k0, hd)
                        s *= scale
                        if counting:
                            n_mul += muls + 1
                            n_add += adds
                        if causal:
                            if counting:
                                n_cmp += 1
                            if j > i:
                                s = -math.inf
                        row[j] = s
                    adds, divs, exps, cmps = softmax(row, seq)
                    muls, adds_pv = mix(row, seq, qkv, base, v0, y[base + i], q0, hd, True)
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
    def backward(qkv, dy, probs, heads, scale, dqkv, dp, counts):
        # dp: one T x T block, reused for each sample and head.
        n_mul = 0
        n_add = 0
        batch, _, seq, _ = probs.shape
        d = dy.shape[1]
        hd = d // heads
        for b in range(batch):
            base = b * seq
            for h in range(heads):
                q0 = h * hd
                k0 = d + q0
                v0 = 2 * d + q0
                # dP = dy v^T; dv = P^T dy; dS = P (dP - sum P dP) scale; dq = dS k, dk = dS^T q
                muls, adds = head_backward(
                    qkv, qkv, qkv, dy, probs[b, h], dp, base, q0, k0, v0, hd, scale, dqkv, dqkv, dqkv, True
                )
                if counting:
                    n_mul += muls
                    n_add += adds
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    @jit
    def store(qkv, heads, start, k_cache, v_cache):
        # Token i of each sequence's rows (B, seq, 3 d) into the cache at start + i: copies, no arithmetic.
        batch, _, _, hd = k_cache.shape
        d = heads * hd
        seq = qkv.shape[0] // batch
        for b in range(batch):
            for i in range(seq):
                row = qkv[b * seq + i]
                for h in range(heads):
                    k = k_cache[b, h, start + i]
                    v = v_cache[b, h, start + i]
                    for c in range(hd):
                        k[c] = row[d + h * hd + c]
                        v[c] = row[2 * d + h * hd + c]

    @jit
    def decode(qkv, k_cache, v_cache, length, heads, scale, scores, y, counts):
        # One query per sequence (row b of qkv, q its first d columns) against the `length` keys cached (its own
        # included), every head its own: no mask.
        attend(qkv, k_cache, v_cache, length, heads, scale, False, scores, y, counts)

    return Kernels(embed, embed_gradients, position, position_gradients, forward, backward, store, decode)


# --- the nodes: these kinds as the runtime trains them (`complexa.reference._runtime`) -----------------------------
class _Container(Node):
    """A node whose work is its children's (``body``), in sequence, and nothing of its own."""

    body: list[Node]

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        for child in self.body:
            child.allocate(backend, batch, params, grads)
        self.kept = {}

    def elements(self, batch: int) -> tuple[int, int]:
        return 0, 0

    def output(self) -> Any:
        return self.body[-1].output()

    def forward(self, x: Any, counts: Any) -> Any:
        for child in self.body:
            x = child.forward(x, counts)
        return x

    def backward(self, dy: Any, counts: Any) -> Any:
        for child in reversed(self.body):
            dy = child.backward(dy, counts)
            if dy is None:  # nothing before this child has parameters
                return None
        return dy


class EmbeddingNode(Node):
    def __init__(self, path: str, grad: bool, d: int, w: Tensor, zero: bool) -> None:
        super().__init__(path, 1, grad)
        self.d, self.w, self.zero = d, w, zero

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.attention
        self.table, self.g_table = view(params, self.w), view(grads, self.w)
        self.y = backend.empty((batch, self.d))
        self.kept = {"activations": [self.y]}

    def output(self) -> Any:
        return self.y

    def elements(self, batch: int) -> tuple[int, int]:
        return batch * self.d, 0

    def forward(self, x: Any, counts: Any) -> Any:
        self.ids = x
        self.k.embed(x, self.table, self.y, counts)
        return self.y

    def backward(self, dy: Any, counts: Any) -> Any:
        self.k.embed_gradients(self.ids, dy, self.g_table, self.zero, counts)
        return None  # token ids have no gradient


class PositionNode(Node):
    def __init__(self, path: str, width: int, grad: bool, w: Tensor) -> None:
        super().__init__(path, width, grad)
        self.w = w

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.attention
        self.table, self.g_table = view(params, self.w), view(grads, self.w)
        self.y = backend.empty((batch, self.width))
        self.kept = {"activations": [self.y]}

    def output(self) -> Any:
        return self.y

    def elements(self, batch: int) -> tuple[int, int]:
        return batch * self.width, 0

    window: tuple[int, int] | None = None
    """For inference: (first position, positions per sequence) of the rows to come; None in training."""

    def forward(self, x: Any, counts: Any) -> Any:
        table = self.table
        if self.window is not None:
            start, count = self.window
            table = table[start : start + count]  # row r of a sequence of `count` is at position start + r % count
        self.k.position(x, table, self.y, counts)
        return self.y

    def backward(self, dy: Any, counts: Any) -> Any:
        self.k.position_gradients(dy, self.g_table, counts)
        return dy if self.input_grad else None  # the input's gradient is the output's


class AttentionNode(_Container):
    def __init__(self, path: str, width: int, grad: bool, heads: int, seq: int, causal: bool, body: list[Node]):
        super().__init__(path, width, grad)
        self.heads, self.seq, self.causal, self.body = heads, seq, causal, body
        self.scale = 1.0 / math.sqrt(width // heads)

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        super().allocate(backend, batch, params, grads)
        self.k = backend.kernels.attention
        d, t = self.width, self.seq
        self.probs = backend.empty((batch // t, self.heads, t, t))
        self.y = backend.empty((batch, d))
        self.dqkv = backend.empty((batch, 3 * d))
        self.dp = backend.empty((t, t))
        self.kept = {"activations": [self.probs, self.y], "deltas": [self.dqkv, self.dp]}

    def elements(self, batch: int) -> tuple[int, int]:
        d, t = self.width, self.seq
        return batch * (self.heads * t + d), batch * 3 * d + t * t

    cached: int | None = None
    """For inference: the tokens each sequence has in the KV cache (`start_cache`); None in training."""

    def start_cache(self, backend: Backend, sequences: int, capacity: int) -> None:
        """An empty KV cache for `sequences` sequences of up to `capacity` tokens."""
        hd = self.width // self.heads
        self.k_cache = backend.empty((sequences, self.heads, capacity, hd))
        self.v_cache = backend.empty((sequences, self.heads, capacity, hd))
        self.scores = backend.empty((capacity,))
        self.cached = 0

    def forward(self, x: Any, counts: Any) -> Any:
        c_attn, c_proj = self.body
        self.qkv = c_attn.forward(x, counts)
        if self.cached is None or self.cached == 0:  # training, or a prefill: every query over the sequence's keys
            self.k.forward(self.qkv, self.heads, self.scale, self.causal, self.probs, self.y, counts)
        if self.cached is not None:
            sequences = self.k_cache.shape[0]
            new = self.qkv.shape[0] // sequences
            self.k.store(self.qkv, self.heads, self.cached, self.k_cache, self.v_cache)
            if self.cached > 0:  # a decode step: the new token's query over the cache, itself included
                assert new == 1, "a decode step takes one token per sequence"
                length = self.cached + new
                self.k.decode(
                    self.qkv, self.k_cache, self.v_cache, length, self.heads, self.scale, self.scores, self.y, counts
                )
            self.cached += new
        return c_proj.forward(self.y, counts)

    def backward(self, dy: Any, counts: Any) -> Any:
        c_attn, c_proj = self.body
        d = c_proj.backward(dy, counts)
        self.k.backward(self.qkv, d, self.probs, self.heads, self.scale, self.dqkv, self.dp, counts)
        return c_attn.backward(self.dqkv, counts)


class BlockNode(_Container):
    def __init__(self, path: str, width: int, grad: bool, body: list[Node]) -> None:
        super().__init__(path, width, grad)
        self.body = body

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        super().allocate(backend, batch, params, grads)
        self.k = backend.kernels.residual
        d = self.width
        self.mid, self.out = backend.empty((batch, d)), backend.empty((batch, d))
        self.dmid = backend.empty((batch, d))
        self.dx = backend.empty((batch, d)) if self.input_grad else None
        self.kept = {"activations": [self.mid, self.out], "deltas": [self.dmid, self.dx]}

    def elements(self, batch: int) -> tuple[int, int]:
        return 2 * batch * self.width, batch * self.width * (2 if self.input_grad else 1)

    def output(self) -> Any:
        return self.out

    def forward(self, x: Any, counts: Any) -> Any:
        ln_1, attn, ln_2, mlp = self.body
        self.k.forward(x, attn.forward(ln_1.forward(x, counts), counts), self.mid, counts)
        self.k.forward(self.mid, mlp.forward(ln_2.forward(self.mid, counts), counts), self.out, counts)
        return self.out

    def backward(self, dy: Any, counts: Any) -> Any:
        ln_1, attn, ln_2, mlp = self.body
        # Neither branch changes the gradient it is handed: each begins with a Linear (c_proj).
        self.k.input_grad(dy, ln_2.backward(mlp.backward(dy, counts), counts), self.dmid, counts)
        d = ln_1.backward(attn.backward(self.dmid, counts), counts)
        if self.dx is None:
            return None
        self.k.input_grad(self.dmid, d, self.dx, counts)
        return self.dx


def embedding_node(
    path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build
) -> EmbeddingNode:
    w = new_tensor(tensors, f"{path}.weight", (int(layer.num_embeddings), int(layer.embedding_dim)))
    # Tied (GPT's lm_head): that layer's weight gradient is written first, and the scatter-add adds to it.
    return EmbeddingNode(path, input_grad, int(layer.embedding_dim), w, zero=not tied_to(tensors, w.name))


def position_node(
    path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build
) -> PositionNode:
    w = new_tensor(tensors, f"{path}.weight", (int(layer.num_positions), int(layer.embedding_dim)))
    return PositionNode(path, width, input_grad, w)


def attention_node(
    path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build
) -> AttentionNode:
    body = [build(f"{path}.c_attn", layer.c_attn), build(f"{path}.c_proj", layer.c_proj)]
    heads, seq = int(layer.n_heads), int(layer.seq_len)
    return AttentionNode(path, width, input_grad, heads, seq, layer.causal, body)


def mlp_node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> Node:
    node = _Container(path, width, input_grad)
    node.body = [build(f"{path}.{name}", child) for name, child, _ in layer.inner(layer.d_model)]
    return node


def block_node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> Node:
    body = [build(f"{path}.{name}", child) for name, child, _ in layer.inner(layer.d_model)]
    return BlockNode(path, width, input_grad, body)


def repeat_node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> Node:
    node = _Container(path, width, input_grad)
    node.body = [build(f"{path}.{i}", layer.layer) for i in range(int(layer.times))]
    return node


def layers_node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> Node:
    node = _Container(path, width, input_grad)
    node.body = [build(f"{path}.{i}", child) for i, child in enumerate(layer.layers)]
    return node
