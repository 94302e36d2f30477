"""`CausalSelfAttention(d_model, n_heads, seq, bias=True, causal=True)`, as nanoGPT writes it.

``c_attn``, a Linear d -> 3d, gives q, k and v (in that order, each d wide, head h at columns h hd .. (h + 1) hd,
hd = d / H); per sample and head, the scores S = q k^T (T x T), scaled by 1 / sqrt(hd), the causal mask (S_ij = -inf
for j > i), P = softmax(S) over each row, y = P v; then ``c_proj``, a Linear d -> d, on the heads side by side. The
two Linear layers are counted as layers of their own (rows ``attn.c_attn`` and ``attn.c_proj``); the attention's
own row is everything between them. As nanoGPT's explicit path computes it, every score is computed, masked ones
included, and the scale 1 / sqrt(hd) is a constant of the layer (not counted).

Per row (token) of R = B T rows, with the dot products of length hd summed over the H heads:

- forward: S, T d mul and T (d - H) add; the scale, H T mul; the mask, H T cmp (causal only); the softmax of each of
  the H rows of T scores, as cross-entropy's, (T - 1) cmp, (2 T - 1) add, T exp and T div; y = P v, T d mul and
  (T - 1) d add.
- error (always computed: ``c_attn``'s weight gradient needs it): dP = dy v^T, T d mul and T (d - H) add; dv = P^T
  dy, T d mul and (T - 1) d add; the softmax's backward dS = P (dP - sum P dP), 2 T mul and (2 T - 1) add per head;
  the scale, H T mul; dq = dS k and dk = dS^T q, each T d mul and (T - 1) d add. The mask needs nothing backward:
  P is exactly 0 where it masked, so dS is too.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from complexa._validate import as_flag
from complexa.errors import ComplexaError
from complexa.models._layers import Value
from complexa.nn._base import Convert, Cost, FixedWidth, Layer, cost, replaced, size
from complexa.nn.linear import Linear

__all__ = ["CausalSelfAttention", "forward", "error"]


def forward(d: Value, heads: Value, t: Value, rows: Value, causal: bool) -> dict[str, Value]:
    ht = heads * t
    out = {
        "mul": rows * (2 * t * d + ht),
        "add": rows * (2 * t * d + ht - heads - d),
        "div": rows * ht,
        "exp": rows * ht,
        "cmp": rows * (2 * ht - heads if causal else ht - heads),
    }
    return out


def error(d: Value, heads: Value, t: Value, rows: Value) -> dict[str, Value]:
    ht = heads * t
    return {"mul": rows * (4 * t * d + 3 * ht), "add": rows * (4 * t * d + ht - heads - 3 * d)}


class CausalSelfAttention(FixedWidth):
    """Multi-head self-attention over sequences of `seq` tokens, as nanoGPT's ``CausalSelfAttention``; `causal`
    masks each token's view of the tokens after it.

    >>> CausalSelfAttention("d", 4, "T")
    CausalSelfAttention(d, 4, T)
    """

    kind = "CausalSelfAttention"
    uses = ("div", "exp", "cmp")
    _fields = ("d_model", "n_heads", "seq_len", "bias", "causal")

    def __init__(self, d_model: object, n_heads: object, seq: object, bias: bool = True, causal: bool = True) -> None:
        self.d_model = size(d_model, "CausalSelfAttention", "d_model")
        self.n_heads = size(n_heads, "CausalSelfAttention", "n_heads")
        self.seq_len = size(seq, "CausalSelfAttention", "seq")
        self.bias = as_flag(bias, "CausalSelfAttention(bias)")
        self.causal = as_flag(causal, "CausalSelfAttention(causal)")
        d, h = self.d_model, self.n_heads
        if d.is_Integer and h.is_Integer and d % h:
            raise ComplexaError(
                f"CausalSelfAttention(d_model = {d}, n_heads = {h}): d_model must be a multiple of n_heads, each head "
                "taking d_model / n_heads features"
            )
        self.c_attn = Linear(d, 3 * d, bias=self.bias)
        self.c_proj = Linear(d, d, bias=self.bias)

    def children(self) -> tuple[Layer, ...]:
        return (self.c_attn, self.c_proj)

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        return [("c_attn", self.c_attn, self.d_model), ("c_proj", self.c_proj, self.d_model)]

    @property
    def seq(self) -> sympy.Expr:
        return self.seq_len

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        d, h, t = convert(self.d_model), convert(self.n_heads), convert(self.seq_len)
        return cost(forward(d, h, t, batch, self.causal), error(d, h, t, batch))

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        d, h, t = convert(self.d_model), convert(self.n_heads), convert(self.seq_len)
        # P (H T per row) and y; the gradient of q, k, v and one T x T block of dP, reused head by head.
        return batch * (h * t + d), batch * 3 * d + t * t

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> CausalSelfAttention:
        where = "CausalSelfAttention"
        return CausalSelfAttention(
            replaced(self.d_model, mapping, f"{where}(d_model)"),
            replaced(self.n_heads, mapping, f"{where}(n_heads)"),
            replaced(self.seq_len, mapping, f"{where}(seq)"),
            self.bias,
            self.causal,
        )

    def __repr__(self) -> str:
        extra = "" if self.bias else ", bias=False"
        extra += "" if self.causal else ", causal=False"
        return f"CausalSelfAttention({self.d_model}, {self.n_heads}, {self.seq_len}{extra})"
