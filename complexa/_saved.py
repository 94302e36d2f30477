"""What PyTorch's autograd saves for the backward pass of a GPT (`Network.gpt` as `to_torch` builds it, nanoGPT's
modules) and of a Llama-style network (`Network.llama`, `Network.mixtral`: transformers' own modules, eager attention
and eager experts), module by module, as sympy expressions in its sizes: the ``layout="torch"`` of `complexa.memory`.

Each rule names the tensors the module's operators save and their dtype, read off torch's derivative formulas (a
Linear keeps its input for the weight's gradient; LayerNorm its input, mean and 1/std; GELU its input; the
attention q, k and v (one tensor, ``c_attn``'s output, which they are views of), the softmax's output, and the
boolean causal mask ``bias[:T, :T] == 0``; an embedding its indices; cross-entropy the log-softmax, the targets and
its total weight). A tensor two operators save is counted once, where it is first saved; parameters and buffers are
the module's state and are not counted. `tests/test_trace_memory.py` checks every rule, by module path, against the
bytes torch saves on a real run (`complexa.testing.saved_by_torch`) and against `from_torch`'s trace.

The float tensors are in the network's dtype, LayerNorm's statistics too (torch's CPU kernels; on a GPU, 16-bit
LayerNorm keeps float32 statistics); indices and targets are int64, masks bool. transformers' Llama computes its
RMSNorm and softmax in float32 whatever the dtype and keeps float32 tensors there (`_llama_block`). One case depends
on the sizes' values, not their symbols: for one sequence (B = 1) of multi-query attention (one key/value head),
torch saves k and v as views of that head, and a symbolic B and n_kv_heads give the count for every other case.
A mixture of experts (`Network.mixtral`, transformers' eager experts) saves, per layer, what its router keeps for
the R = B T rows, and what its loop over the experts hit keeps for each expert's n_e tokens: every tensor there is
n_e rows long, and the n_e add up to S = R top_k (a token goes to top_k distinct experts), whatever the routing
(`_moe`).
"""

from __future__ import annotations

import sympy

from complexa._choices import DTYPES
from complexa.errors import ComplexaError

__all__ = ["saved_by_layer"]

Saved = list[tuple[sympy.Expr, int]]
"""(elements, bytes per element) of each tensor a module saves."""


def _layernorm(rows: sympy.Expr, d: sympy.Expr, w: int) -> Saved:
    """torch's LayerNorm: its input, mean and 1/std, in the dtype (on the CPU)."""
    return [(rows * d, w), (2 * rows, w)]


def _rmsnorm(rows: sympy.Expr, d: sympy.Expr, w: int) -> Saved:
    """transformers' RMSNorm, which computes in float32: its input as float32, 1/rms, the normalised rows in the
    dtype."""
    return [(rows * d, 4), (rows, 4), (rows * d, w)]


def _loss(rows: sympy.Expr, vocab: sympy.Expr, w: int) -> Saved:
    """Cross-entropy: log_softmax's output; the int64 targets; nll_loss's total weight, a scalar."""
    return [(rows * vocab, w), (rows, 8), (sympy.Integer(1), w)]


def _blocks(out: dict[str, Saved], prefix: str, block: dict[str, Saved], layers: sympy.Expr) -> None:
    """`block` under `prefix`.i for each of `layers` blocks, or one template row `prefix`.{i} holding all of them."""
    if layers.is_Integer:
        for i in range(int(layers)):
            out.update({f"{prefix}.{i}.{name}": saved for name, saved in block.items()})
    else:
        out.update({f"{prefix}.{{i}}.{name}": [(layers * n, b) for n, b in s] for name, s in block.items()})


def _block(
    d: sympy.Expr,
    heads: sympy.Expr,
    t: sympy.Expr,
    d_ff: sympy.Expr,
    causal: bool,
    batch: sympy.Expr,
    w: int,
    recompute: bool,
) -> dict[str, Saved]:
    rows = batch * t
    attention: Saved = [(3 * rows * d, w)]  # q, k, v: the region's input, kept when it is recomputed too
    if not recompute:
        attention.append((batch * heads * t * t, w))  # softmax(S)
        if causal:
            attention.append((t * t, 1))  # bias[:, :, :T, :T] == 0, made anew every forward pass
    return {
        "ln_1": _layernorm(rows, d, w),
        "attn": attention,
        "attn.c_attn": [(rows * d, w)],
        "attn.c_proj": [(rows * d, w)],
        "ln_2": _layernorm(rows, d, w),
        "mlp.c_fc": [(rows * d, w)],
        "mlp.gelu": [(rows * d_ff, w)],
        "mlp.c_proj": [(rows * d_ff, w)],
    }


def _llama_block(c: dict, batch: sympy.Expr, w: int) -> dict[str, Saved]:
    """One Llama block as transformers' eager modules save it. Its RMSNorm computes in float32 whatever the dtype:
    it keeps its input as float32, 1/rms (float32) and the normalised rows in the dtype; the softmax too: its
    float32 output, and a copy in the dtype when that is not float32. RoPE's cos and sin are kept once for all layers
    (`_llama`); repeat_kv's copies of k and v are H heads wide."""
    t, d, f = c["seq"], c["d_model"], c["d_ff"]
    width = d if c["head_dim"] is None else c["n_heads"] * c["head_dim"]  # the H query heads side by side
    heads, groups = c["n_heads"], c["n_kv_heads"] if c["n_kv_heads"] is not None else c["n_heads"]
    rows = batch * t
    # k and v as the products read them: repeat_kv's copies, H heads wide, but for one sequence of MQA, where
    # repeat_kv's reshape and matmul's own are views of the one key/value head (torch saves its K hd wide rows).
    shared = batch == 1 and groups == 1
    kv = rows * width / heads if shared else rows * width
    norm = _rmsnorm(rows, d, w)
    probabilities: Saved = [(batch * heads * t * t, 4)] + ([] if w == 4 else [(batch * heads * t * t, w)])
    return {
        "input_layernorm": norm,
        "self_attn.q_proj": [(rows * d, w)],  # k_proj and v_proj read the same rows
        "self_attn": [(rows * width, w), (kv, w), (kv, w), *probabilities],  # q after RoPE; k, v
        "self_attn.o_proj": [(rows * width, w)],
        "post_attention_layernorm": norm,
        "mlp.gate_proj": [(rows * d, w)],  # up_proj reads the same rows
        "mlp.act_fn": [(rows * f, w)],  # SiLU's input
        "mlp": [(rows * f, w), (rows * f, w)],  # silu(gate x) * up x keeps both
        "mlp.down_proj": [(rows * f, w)],
    }


def _moe(c: dict, rows: sympy.Expr, w: int) -> dict[str, Saved]:
    """Mixtral's ``MixtralSparseMoeBlock`` as transformers' eager experts save it, for `rows` tokens (R).

    The router (``mlp.gate``, `MixtralTopKRouter`) keeps its input (R d, the dtype), the float32 softmax's output
    (R E), topk's int64 indices (R k), and the renormalisation's in-place division its float32 operands: a copy of
    the top-k values before it (R k) and their sum (R). The experts (``mlp.experts``) run once for each expert hit,
    on its n_e tokens: ``torch.where``'s token and top-k positions (views of one int64 n_e x 2 tensor, which the
    indexing, the routing weights' gather and ``index_add_`` all keep), the gathered rows (n_e d), ``act_fn``'s
    input, the gate half of the n_e x 2f product (the up half, a view of the same tensor, saved by the product, adds
    nothing), SiLU's output (n_e f), down_proj's input (n_e f), its output (n_e d) and the float32 routing weights
    (n_e) that it is scaled by, and ``index_add_``'s source (n_e d, cast back to the dtype). Each is n_e long, so
    the loop's total is the same for every routing: S = R k pairs. The expert weights' views are parameters'
    storages, not counted."""
    experts, k, f, d = c["n_experts"], c["top_k"], c["d_ff"], c["d_model"]
    pairs = rows * k
    return {
        "mlp.gate": [(rows * d, w), (rows * experts, 4), (rows * k, 8), (rows * k, 4), (rows, 4)],
        "mlp.experts.act_fn": [(pairs * 2 * f, w)],  # the gate and up halves, one tensor
        "mlp.experts": [
            (2 * pairs, 8),  # token and top-k position of each pair
            (pairs * d, w),  # the gathered rows, gate_up_proj's input
            (pairs * f, w),  # silu(gate), the product's other factor
            (pairs * f, w),  # down_proj's input
            (pairs * d, w),  # down_proj's output, scaled by the routing weights...
            (pairs, 4),  # ...which are float32
            (pairs * d, w),  # index_add_'s source
        ],
    }


def _llama(network: object, dtype: str, loss: bool) -> dict[str, Saved]:
    c = dict(network.llama_config)  # type: ignore[attr-defined]
    w = DTYPES[dtype]
    batch = network.batch  # type: ignore[attr-defined]
    rows, layers = batch * c["seq"], c["n_layers"]
    block = _llama_block(c, batch, w)
    if c.get("n_experts") is not None:
        block = {name: saved for name, saved in block.items() if not name.startswith("mlp")} | _moe(c, rows, w)
    head_dim = c["d_model"] / c["n_heads"] if c["head_dim"] is None else c["head_dim"]
    rope: Saved = [(sympy.expand(2 * c["seq"] * head_dim), w)]  # cos and sin, computed once a forward pass
    out: dict[str, Saved] = {"model.embed_tokens": [(rows, 8)]}
    _blocks(out, "model.layers", block, layers)
    first = "model.layers.0.self_attn" if layers.is_Integer else "model.layers.{i}.self_attn"
    out[first] = out[first] + rope
    out["model.norm"] = _rmsnorm(rows, c["d_model"], w)
    out["lm_head"] = [(rows * c["d_model"], w)]
    if loss:
        out["loss"] = _loss(rows, c["vocab"], w)
    return out


def saved_by_layer(
    network: object, dtype: str, *, loss: bool = True, recompute_attention: bool = False
) -> dict[str, tuple[sympy.Expr, sympy.Expr]]:
    """Module path -> (elements, bytes) of the tensors autograd saves in `network`'s training step, in torch
    (``"loss"``: the cross-entropy; without it with `loss` False). For a symbolic depth the blocks are one row,
    ``transformer.h.{i}.<module>``, holding all L blocks' part. `recompute_attention`: Korthikanti et al.'s
    selective recomputation, the attention's own operations (q k^T, the mask, softmax, P v) checkpointed: the
    region keeps its input, q, k and v, and saves nothing else.

    >>> from complexa import Network
    >>> saved = saved_by_layer(Network.gpt("V", "T", "d", "L", "H", batch="B"), "bfloat16")
    >>> saved["transformer.h.{i}.attn"]
    (B*H*L*T**2 + 3*B*L*T*d + L*T**2, 2*B*H*L*T**2 + 6*B*L*T*d + L*T**2)
    """
    config = getattr(network, "gpt_config", None)
    if config is None and getattr(network, "llama_config", None) is not None:
        return _totals(_llama(network, dtype, loss))
    if config is None:
        raise ComplexaError(
            "layout = 'torch': what autograd saves is modelled for Network.gpt (nanoGPT's modules), Network.llama and "
            "Network.mixtral (transformers' modules); for your own module trace it with complexa.from_torch, whose "
            "memory() gives the tensors it saves"
        )
    w = DTYPES[dtype]
    batch, t = network.batch, config["seq"]  # type: ignore[attr-defined]
    rows = batch * t
    d, layers = config["d_model"], config["n_layers"]
    out: dict[str, Saved] = {
        "transformer.wte": [(rows, 8)],  # the token ids
        "transformer.wpe": [(t, 8)],  # the positions, arange(T)
    }
    block = _block(d, config["n_heads"], t, config["d_ff"], config["causal"], batch, w, recompute_attention)
    _blocks(out, "transformer.h", block, layers)
    out["transformer.ln_f"] = _layernorm(rows, d, w)
    out["lm_head"] = [(rows * d, w)]
    if loss:
        out["loss"] = _loss(rows, config["vocab"], w)
    return _totals(out)


def _totals(out: dict[str, Saved]) -> dict[str, tuple[sympy.Expr, sympy.Expr]]:
    return {
        path: (sympy.expand(sympy.Add(*(n for n, _ in s))), sympy.expand(sympy.Add(*(n * b for n, b in s))))
        for path, s in out.items()
    }
