"""The pieces of a Llama as Hugging Face's transformers writes them (``LlamaAttention``, ``LlamaMLP``,
``LlamaDecoderLayer``), Mistral's, Qwen2's and Mixtral's too: `RotaryEmbedding`, `Attention`, `SwiGLU`,
`LlamaBlock`. `RMSNorm` is in `complexa.nn.norm`, `SiLU` in `complexa.nn.activations`, the experts in
`complexa.nn.moe`.

**`Attention(d_model, n_heads, seq, *, n_kv_heads=None, head_dim=None, bias=False, o_bias=False, window=None,
rope_theta=10000.0, causal=True)`**: ``q_proj`` (Linear d -> H hd), ``k_proj`` and ``v_proj`` (Linear d -> K hd),
each a row of its own and each taking the attention's input; RoPE on q and k; per sample and query head h, the
scores S = q_h k_g^T over the T keys of its key/value head g = h // (H / K) (MHA K = H, GQA, MQA K = 1), times the
scale 1 / sqrt(hd), plus the additive mask (0 where a token sees the key, -inf elsewhere: causal, and with a
`window` W a token sees itself and the W - 1 tokens before it, as Hugging Face's ``sliding_window``), P = softmax(S)
over each row, y = P v_g; then ``o_proj`` (Linear H hd -> d), a row of its own. As transformers' eager attention
computes it, every score is computed, masked ones included, and the mask is added to every score: the window
changes which scores are masked, not the count. The scale, the mask and RoPE's cos and sin tables are constants of
the layer (a buffer; Meta's reference code precomputes them once, transformers recomputes them each forward with
elementwise work that ``FlopCounterMode`` does not count either) and are not counted.

Per row (token) of R = B T rows, with Dq = H hd and Dkv = K hd:

- forward: RoPE, rotate-half, on q and k: x_i cos_i - x_{i+hd/2} sin_i and x_{i+hd/2} cos_{i+hd/2} + x_i
  sin_{i+hd/2}, 2 mul and 1 add per element: 2 (Dq + Dkv) mul, Dq + Dkv add; S, T Dq mul and T (Dq - H) add; the
  scale, H T mul; the mask, H T add (causal or windowed only); the softmax of each of the H rows of T scores, as
  cross-entropy's, (T - 1) cmp, (2 T - 1) add, T exp and T div; y = P v, T Dq mul and (T - 1) Dq add.
- error (always computed: ``q_proj``'s weight gradient needs it): dP = dy v^T, T Dq mul and T (Dq - H) add; dv =
  P^T dy summed over the H / K query heads of each key/value head, T Dq mul and (T Dq - Dkv) add; the softmax's
  backward dS = P (dP - sum P dP), 2 T mul and (2 T - 1) add per head; the scale, H T mul; dq = dS k, T Dq mul and
  (T - 1) Dq add; dk = dS^T q summed over the group, T Dq mul and (T Dq - Dkv) add; RoPE's backward (the transposed
  rotation) on dq and dk, 2 (Dq + Dkv) mul and Dq + Dkv add; and, when the attention computes its input's gradient,
  dx = dx_q + dx_k + dx_v, the join of its three projections' (2 d add). The mask needs nothing backward.

**`SwiGLU(d_model, d_ff, *, bias=False)`**, Llama's MLP: ``gate_proj`` and ``up_proj`` (Linear d -> d_ff, each taking
the MLP's input), ``act_fn`` (`SiLU` on the gate), ``down_proj`` (Linear d_ff -> d), each a row of its own:
down(silu(gate x) * up x); with `bias` (Llama's ``mlp_bias``) the three projections add a bias, counted in their own
rows as `complexa.nn.Linear`'s. Its own row is the product and the join of the two input gradients, per row: forward
d_ff mul; error d(silu) = dy u and du = dy silu(g), 2 d_ff mul (always: the projections' weight gradients need it),
and dx = dx_gate + dx_up, d add, when the MLP computes its input's gradient.

**`LlamaBlock(d_model, n_heads, seq, d_ff, *, ...)`**, ``LlamaDecoderLayer``, pre-RMSNorm: x = x +
self_attn(input_layernorm(x)); x = x + mlp(post_attention_layernorm(x)), the MLP a `SwiGLU`, or with `n_experts` a
`complexa.nn.MoE` (Mixtral); `mlp_bias` puts a bias on the SwiGLU's three projections. Its own row is the two
residual additions, as `complexa.nn.Block`'s: forward 2 d add; backward d add, and d add more when the block computes
its input's gradient.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import sympy

from complexa._limits import show
from complexa._validate import as_flag, as_size
from complexa.errors import ComplexaError
from complexa.models._layers import Value
from complexa.nn._base import Convert, Cost, FixedWidth, Layer, cost, replaced, size
from complexa.nn.activations import SiLU
from complexa.nn.linear import Linear
from complexa.nn.norm import RMSNorm
from complexa.nn.transformer import ResidualBlock

__all__ = [
    "RotaryEmbedding",
    "Attention",
    "SwiGLU",
    "LlamaBlock",
    "attention_forward",
    "attention_error",
    "rope_forward",
    "rope_error",
]


def rope_forward(q_dim: Value, kv_dim: Value, rows: Value) -> dict[str, Value]:
    """RoPE on q (`q_dim` per row) and k (`kv_dim` per row): 2 mul and 1 add per element."""
    n = q_dim + kv_dim
    return {"mul": rows * 2 * n, "add": rows * n}


def rope_error(q_dim: Value, kv_dim: Value, rows: Value) -> dict[str, Value]:
    """The transposed rotation on dq and dk: 2 mul and 1 add per element."""
    return rope_forward(q_dim, kv_dim, rows)


def attention_forward(
    q_dim: Value, kv_dim: Value, heads: Value, t: Value, rows: Value, masked: bool
) -> dict[str, Value]:
    """The attention's own forward for `rows` rows (RoPE included); `masked` when the causal (or windowed) mask is
    added."""
    ht = heads * t
    rope = q_dim + kv_dim
    return {
        "mul": rows * (2 * rope + 2 * t * q_dim + ht),
        "add": rows * (rope + 2 * t * q_dim + (2 * ht if masked else ht) - heads - q_dim),
        "div": rows * ht,
        "exp": rows * ht,
        "cmp": rows * (ht - heads),
    }


def attention_error(q_dim: Value, kv_dim: Value, heads: Value, t: Value, rows: Value) -> dict[str, Value]:
    """The attention's own backward for `rows` rows: the gradients of q, k and v (RoPE's backward included)."""
    ht = heads * t
    rope = q_dim + kv_dim
    return {
        "mul": rows * (4 * t * q_dim + 3 * ht + 2 * rope),
        "add": rows * (4 * t * q_dim + ht - heads - 2 * kv_dim - q_dim + rope),
    }


class RotaryEmbedding:
    """Rotary position embedding, rotate-half, as Llama's (``LlamaRotaryEmbedding`` and ``apply_rotary_pos_emb``):
    for position p and i < hd / 2, the angle p theta^(-2 i / hd) rotates the pair (x_i, x_{i + hd/2}). Not a layer
    of a stack: it is the part of `Attention` that turns q and k; `table` gives its cos and sin, a constant of the
    layer (not counted), and `rope_forward` / `rope_error` its counts.

    >>> RotaryEmbedding(128, theta=500000.0)
    RotaryEmbedding(128, theta=500000.0)
    """

    def __init__(self, head_dim: object, theta: float = 10000.0) -> None:
        self.head_dim = as_size(head_dim, "RotaryEmbedding(head_dim)")
        if self.head_dim.is_Integer and int(self.head_dim) % 2:
            raise ComplexaError(
                f"RotaryEmbedding(head_dim) = {self.head_dim}: RoPE rotates pairs of features, so head_dim must be even"
            )
        self.theta = _positive(theta, "RotaryEmbedding(theta)", "10000.0")

    def table(self, seq: int) -> tuple[list[list[float]], list[list[float]]]:
        """cos and sin, `seq` x head_dim, as transformers computes them (``torch.cat((freqs, freqs), -1)``)."""
        hd = int(self.head_dim)
        inv = [1.0 / self.theta ** (2 * i / hd) for i in range(hd // 2)]
        angles = [[p * f for f in inv + inv] for p in range(seq)]
        return [[math.cos(a) for a in row] for row in angles], [[math.sin(a) for a in row] for row in angles]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RotaryEmbedding) and (self.head_dim, self.theta) == (other.head_dim, other.theta)

    def __hash__(self) -> int:
        return hash(("RotaryEmbedding", self.head_dim, self.theta))

    def __repr__(self) -> str:
        return f"RotaryEmbedding({self.head_dim}, theta={self.theta!r})"


def _positive(value: object, where: str, example: str) -> float:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    if ok:
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:
            ok = False
        else:
            ok = math.isfinite(number) and number > 0
    if not ok:
        raise ComplexaError(f"{where} = {show(value)}: must be a positive finite number, such as {example}")
    return number


def _is_polynomial(expr: sympy.Expr) -> bool:
    return bool(expr.is_polynomial()) and not any(p.exp < 0 for p in expr.atoms(sympy.Pow) if p.exp.is_number)


class Attention(FixedWidth):
    """Self-attention with rotary positions and `n_kv_heads` key/value heads (MHA, GQA or MQA), as Llama's,
    Mistral's (`window`), Qwen2's (`bias` on q, k and v) and Mixtral's, with transformers' eager attention.

    **Arguments:** `d_model`; `n_heads` (H); `seq` (T); `n_kv_heads` (K, H by default; H must be a multiple of it);
    `head_dim` (hd, d_model / H by default); `bias`, a bias on ``q_proj``, ``k_proj`` and ``v_proj``; `o_bias`, one
    on ``o_proj``; `window`, the sliding window W (a token sees itself and the W - 1 before it), or None;
    `rope_theta`; `causal`.

    >>> Attention("d", 32, "T", n_kv_heads=8)
    Attention(d, 32, T, n_kv_heads=8)
    """

    kind = "Attention"
    uses = ("div", "exp", "cmp")
    parallel = frozenset({"q_proj", "k_proj", "v_proj"})
    _fields = (
        "d_model",
        "n_heads",
        "seq_len",
        "n_kv_heads",
        "head_dim",
        "bias",
        "o_bias",
        "window",
        "rope_theta",
        "causal",
    )

    def __init__(
        self,
        d_model: object,
        n_heads: object,
        seq: object,
        *,
        n_kv_heads: object = None,
        head_dim: object = None,
        bias: bool = False,
        o_bias: bool = False,
        window: object = None,
        rope_theta: float = 10000.0,
        causal: bool = True,
    ) -> None:
        where = "Attention"
        self.d_model = size(d_model, where, "d_model")
        self.n_heads = size(n_heads, where, "n_heads")
        self.seq_len = size(seq, where, "seq")
        self.n_kv_heads = self.n_heads if n_kv_heads is None else size(n_kv_heads, where, "n_kv_heads")
        self.bias = as_flag(bias, f"{where}(bias)")
        self.o_bias = as_flag(o_bias, f"{where}(o_bias)")
        self.causal = as_flag(causal, f"{where}(causal)")
        self.window = None if window is None else size(window, where, "window")
        self.rope_theta = _positive(rope_theta, f"{where}(rope_theta)", "10000.0")
        d, h, k = self.d_model, self.n_heads, self.n_kv_heads
        if h.is_Integer and k.is_Integer and int(h) % int(k):
            raise ComplexaError(
                f"Attention(n_heads = {h}, n_kv_heads = {k}): n_heads must be a multiple of n_kv_heads, each key/value "
                "head serving n_heads / n_kv_heads query heads"
            )
        if self.window is not None and not self.causal:
            raise ComplexaError("Attention(window) with causal=False: a sliding window is a causal mask; drop one")
        if head_dim is None:
            if d.is_Integer and h.is_Integer and int(d) % int(h):
                raise ComplexaError(
                    f"Attention(d_model = {d}, n_heads = {h}): d_model must be a multiple of n_heads, each head taking "
                    "d_model / n_heads features; or give head_dim"
                )
            self.head_dim = None
            hd = sympy.expand(d / h)
            kv = d if k == h else sympy.expand(k * d / h)
            if not (_is_polynomial(kv) and (k == h or _is_polynomial(hd))):
                raise ComplexaError(
                    f"Attention(d_model = {d}, n_heads = {h}, n_kv_heads = {k}): the key/value width n_kv_heads * "
                    "d_model / n_heads is not a polynomial in the sizes; give head_dim (a size or a symbol), or "
                    "d_model as a product such as 'H*hd'"
                )
            self.q_dim, self.kv_dim = d, kv
        else:
            self.head_dim = size(head_dim, where, "head_dim")
            self.q_dim, self.kv_dim = h * self.head_dim, k * self.head_dim
        rope_dim = self.head_dim if self.head_dim is not None else sympy.expand(d / h)
        self.rotary = RotaryEmbedding(rope_dim, self.rope_theta) if _is_polynomial(rope_dim) else None
        self.q_proj = Linear(d, self.q_dim, bias=self.bias)
        self.k_proj = Linear(d, self.kv_dim, bias=self.bias)
        self.v_proj = Linear(d, self.kv_dim, bias=self.bias)
        self.o_proj = Linear(self.q_dim, d, bias=self.o_bias)

    @property
    def masked(self) -> bool:
        """Whether a mask is added to the scores (causal, or windowed)."""
        return self.causal

    def children(self) -> tuple[Layer, ...]:
        return (self.q_proj, self.k_proj, self.v_proj, self.o_proj)

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        d = self.d_model
        return [
            ("q_proj", self.q_proj, d),
            ("k_proj", self.k_proj, d),
            ("v_proj", self.v_proj, d),
            ("o_proj", self.o_proj, self.q_dim),
        ]

    @property
    def seq(self) -> sympy.Expr:
        return self.seq_len

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        q, kv, h, t = convert(self.q_dim), convert(self.kv_dim), convert(self.n_heads), convert(self.seq_len)
        error = attention_error(q, kv, h, t, batch)
        if input_grad:  # the join of q_proj's, k_proj's and v_proj's input gradients
            error["add"] = error["add"] + 2 * batch * convert(self.d_model)
        return cost(attention_forward(q, kv, h, t, batch, self.masked), error)

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        q, kv, h, t = convert(self.q_dim), convert(self.kv_dim), convert(self.n_heads), convert(self.seq_len)
        # The rotated q and k, P (H T per row) and y; the gradients of q, k and v, one T x T block of dP, and the
        # joined dx when it computes its input's gradient.
        joined = batch * convert(self.d_model) if input_grad else 0
        return batch * (2 * q + kv + h * t), batch * (q + 2 * kv) + t * t + joined

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Attention:
        where = "Attention"
        return Attention(
            replaced(self.d_model, mapping, f"{where}(d_model)"),
            replaced(self.n_heads, mapping, f"{where}(n_heads)"),
            replaced(self.seq_len, mapping, f"{where}(seq)"),
            n_kv_heads=replaced(self.n_kv_heads, mapping, f"{where}(n_kv_heads)"),
            head_dim=None if self.head_dim is None else replaced(self.head_dim, mapping, f"{where}(head_dim)"),
            bias=self.bias,
            o_bias=self.o_bias,
            window=None if self.window is None else replaced(self.window, mapping, f"{where}(window)"),
            rope_theta=self.rope_theta,
            causal=self.causal,
        )

    def __repr__(self) -> str:
        return f"Attention({self.d_model}, {self.n_heads}, {self.seq_len}{_attention_options(self)})"


def _attention_options(a: Attention) -> str:
    extra = "" if a.n_kv_heads == a.n_heads else f", n_kv_heads={a.n_kv_heads}"
    extra += "" if a.head_dim is None else f", head_dim={a.head_dim}"
    extra += ", bias=True" if a.bias else ""
    extra += ", o_bias=True" if a.o_bias else ""
    extra += "" if a.window is None else f", window={a.window}"
    extra += "" if a.rope_theta == 10000.0 else f", rope_theta={a.rope_theta!r}"
    extra += "" if a.causal else ", causal=False"
    return extra


class SwiGLU(FixedWidth):
    """Llama's MLP: down_proj(silu(gate_proj(x)) * up_proj(x)); `bias` (Llama's ``mlp_bias``) puts a bias on all
    three projections.

    >>> SwiGLU("d", "f")
    SwiGLU(d, f)
    >>> SwiGLU("d", "f", bias=True).down_proj
    Linear(f, d)
    """

    kind = "SwiGLU"
    parallel = frozenset({"gate_proj", "up_proj"})
    _fields = ("d_model", "d_ff", "bias")

    def __init__(self, d_model: object, d_ff: object, *, bias: bool = False) -> None:
        self.d_model = size(d_model, "SwiGLU", "d_model")
        self.d_ff = size(d_ff, "SwiGLU", "d_ff")
        self.bias = as_flag(bias, "SwiGLU(bias)")
        self.gate_proj = Linear(self.d_model, self.d_ff, bias=self.bias)
        self.up_proj = Linear(self.d_model, self.d_ff, bias=self.bias)
        self.act_fn = SiLU()
        self.down_proj = Linear(self.d_ff, self.d_model, bias=self.bias)

    def children(self) -> tuple[Layer, ...]:
        return (self.gate_proj, self.up_proj, self.act_fn, self.down_proj)

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        d, f = self.d_model, self.d_ff
        return [
            ("gate_proj", self.gate_proj, d),
            ("up_proj", self.up_proj, d),
            ("act_fn", self.act_fn, f),
            ("down_proj", self.down_proj, f),
        ]

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        d, f = convert(self.d_model), convert(self.d_ff)
        error: dict[str, Value] = {"mul": 2 * batch * f}
        if input_grad:
            error["add"] = batch * d
        return cost({"mul": batch * f}, error)

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        d, f = convert(self.d_model), convert(self.d_ff)
        # The product; the gradients of the gate's activation and of up, and the joined dx.
        return batch * f, 2 * batch * f + (batch * d if input_grad else 0)

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> SwiGLU:
        d, f = replaced(self.d_model, mapping, "SwiGLU(d_model)"), replaced(self.d_ff, mapping, "SwiGLU(d_ff)")
        return SwiGLU(d, f, bias=self.bias)

    def __repr__(self) -> str:
        return f"SwiGLU({self.d_model}, {self.d_ff}{', bias=True' if self.bias else ''})"


class LlamaBlock(ResidualBlock):
    """Hugging Face's ``LlamaDecoderLayer`` (and Mistral's, Qwen2's, Mixtral's): pre-RMSNorm residual attention and
    MLP. The arguments are `Attention`'s, `d_ff` the MLP's width, `eps` the RMSNorms', `mlp_bias` the `SwiGLU`'s
    biases (Llama's ``mlp_bias``), and `n_experts` with `top_k` make the MLP a Mixtral `complexa.nn.MoE`.

    >>> LlamaBlock("d", 32, "T", "f", n_kv_heads=8)
    LlamaBlock(d, 32, T, f, n_kv_heads=8)
    """

    kind = "LlamaBlock"
    _fields = ("self_attn", "mlp", "eps")

    def __init__(
        self,
        d_model: object,
        n_heads: object,
        seq: object,
        d_ff: object,
        *,
        n_kv_heads: object = None,
        head_dim: object = None,
        bias: bool = False,
        o_bias: bool = False,
        window: object = None,
        rope_theta: float = 10000.0,
        eps: float = 1e-6,
        causal: bool = True,
        n_experts: object = None,
        top_k: object = None,
        mlp_bias: bool = False,
    ) -> None:
        from complexa.nn.moe import MoE

        self.self_attn = Attention(
            d_model,
            n_heads,
            seq,
            n_kv_heads=n_kv_heads,
            head_dim=head_dim,
            bias=bias,
            o_bias=o_bias,
            window=window,
            rope_theta=rope_theta,
            causal=causal,
        )
        self.d_model, self.seq_len = self.self_attn.d_model, self.self_attn.seq_len
        self.input_layernorm = RMSNorm(self.d_model, eps)
        self.eps = self.input_layernorm.eps
        self.post_attention_layernorm = RMSNorm(self.d_model, eps)
        self.d_ff = size(d_ff, "LlamaBlock", "d_ff")
        if (n_experts is None) != (top_k is None):
            raise ComplexaError(
                f"LlamaBlock(n_experts = {show(n_experts)}, top_k = {show(top_k)}): give both for a mixture of "
                "experts (Mixtral), or neither"
            )
        self.mlp: Layer
        self.mlp_bias = as_flag(mlp_bias, "LlamaBlock(mlp_bias)")
        if self.mlp_bias and n_experts is not None:
            raise ComplexaError(
                "LlamaBlock(mlp_bias=True) with n_experts: Mixtral's experts have no biases; drop one of them"
            )
        if n_experts is None:
            self.mlp = SwiGLU(self.d_model, self.d_ff, bias=self.mlp_bias)
            self.n_experts, self.top_k = None, None
        else:
            moe = MoE(self.d_model, self.d_ff, n_experts, top_k)
            self.mlp, self.n_experts, self.top_k = moe, moe.n_experts, moe.top_k
        a = self.self_attn  # its arguments, by name, as the block takes them
        self.n_heads, self.n_kv_heads, self.head_dim, self.window = a.n_heads, a.n_kv_heads, a.head_dim, a.window
        self.bias, self.o_bias, self.rope_theta, self.causal = a.bias, a.o_bias, a.rope_theta, a.causal

    def children(self) -> tuple[Layer, ...]:
        return (self.input_layernorm, self.self_attn, self.post_attention_layernorm, self.mlp)

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        d = self.d_model
        return [
            ("input_layernorm", self.input_layernorm, d),
            ("self_attn", self.self_attn, d),
            ("post_attention_layernorm", self.post_attention_layernorm, d),
            ("mlp", self.mlp, d),
        ]

    def options(self) -> dict[str, object]:
        """The keyword arguments that make this block, as `LlamaBlock` takes them."""
        a = self.self_attn
        out: dict[str, object] = {
            "n_kv_heads": a.n_kv_heads,
            "head_dim": a.head_dim,
            "bias": a.bias,
            "o_bias": a.o_bias,
            "window": a.window,
            "rope_theta": a.rope_theta,
            "eps": self.eps,
            "causal": a.causal,
        }
        if self.n_experts is not None:
            out["n_experts"], out["top_k"] = self.n_experts, self.top_k
        if self.mlp_bias:
            out["mlp_bias"] = True
        return out

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> LlamaBlock:
        where = "LlamaBlock"
        options = self.options()
        for key in ("n_kv_heads", "head_dim", "window", "n_experts", "top_k"):
            if options.get(key) is not None:
                options[key] = replaced(options[key], mapping, f"{where}({key})")
        a = self.self_attn
        return LlamaBlock(
            replaced(self.d_model, mapping, f"{where}(d_model)"),
            replaced(a.n_heads, mapping, f"{where}(n_heads)"),
            replaced(self.seq_len, mapping, f"{where}(seq)"),
            replaced(self.d_ff, mapping, f"{where}(d_ff)"),
            **options,  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        a = self.self_attn
        extra = _attention_options(a)
        extra += "" if self.eps == 1e-6 else f", eps={self.eps!r}"
        if self.n_experts is not None:
            extra += f", n_experts={self.n_experts}, top_k={self.top_k}"
        extra += ", mlp_bias=True" if self.mlp_bias else ""
        return f"LlamaBlock({self.d_model}, {a.n_heads}, {self.seq_len}, {self.d_ff}{extra})"
