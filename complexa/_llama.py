"""`Network.llama` and `Network.mixtral`: Llama-style language models (Llama, Mistral, Qwen2, Mixtral) as stacks of
the kinds of `complexa.nn.llama` and `complexa.nn.moe`, named as Hugging Face's modules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from complexa._validate import as_flag, as_size
from complexa.errors import ComplexaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from complexa.network import Network

__all__ = ["llama", "rebuild", "shown", "meta_d_ff", "NAMES"]

NAMES = ("model.embed_tokens", "model.layers", "model.norm", "lm_head")
"""The top-level modules of Hugging Face's ``LlamaForCausalLM`` (and Mistral's, Qwen2's, Mixtral's)."""

DEFAULTS: dict[str, object] = {
    "n_kv_heads": None,
    "d_ff": None,
    "head_dim": None,
    "rope_theta": 10000.0,
    "eps": 1e-6,
    "tied": False,
    "window": None,
    "bias": False,
    "o_bias": False,
    "n_experts": None,
    "top_k": None,
}
"""`llama`'s keyword defaults, as its repr leaves them out."""


def meta_d_ff(d_model: sympy.Expr) -> sympy.Expr:
    """Llama's MLP width for an integer `d_model` (Meta's ``FeedForward``): 2/3 of 4 d, rounded up to a multiple of
    256 (11008 for d = 4096)."""
    if not d_model.is_Integer:
        raise ComplexaError(
            f"d_ff: Llama's default width (8 d_model / 3 rounded up to a multiple of 256) needs an integer d_model, "
            f"not {d_model}; give d_ff"
        )
    hidden = int(2 * 4 * int(d_model) / 3)
    return sympy.Integer(256 * ((hidden + 255) // 256))


def llama(
    vocab: object,
    seq: object,
    d_model: object,
    n_layers: object,
    n_heads: object,
    *,
    n_kv_heads: object = None,
    d_ff: object = None,
    head_dim: object = None,
    batch: object = 1,
    rope_theta: float = 10000.0,
    eps: float = 1e-6,
    tied: bool = False,
    window: object = None,
    bias: bool = False,
    o_bias: bool = False,
    n_experts: object = None,
    top_k: object = None,
    optimizer: object = "sgd",
) -> Network:
    """See `Network.llama`."""
    from complexa.network import Network
    from complexa.nn import Embedding, Linear, LlamaBlock, Repeat, RMSNorm

    tied = as_flag(tied, "tied")
    d = as_size(d_model, "d_model")
    f = meta_d_ff(d) if d_ff is None else as_size(d_ff, "d_ff")
    block = LlamaBlock(
        d,
        n_heads,
        seq,
        f,
        n_kv_heads=n_kv_heads,
        head_dim=head_dim,
        bias=bias,
        o_bias=o_bias,
        window=window,
        rope_theta=rope_theta,
        eps=eps,
        n_experts=n_experts,
        top_k=top_k,
    )
    V = as_size(vocab, "vocab")
    layers = [Embedding(V, d), Repeat(block, as_size(n_layers, "n_layers")), RMSNorm(d, eps), Linear(d, V, bias=False)]
    network = Network(layers, batch=batch, loss="cross_entropy", optimizer=optimizer)
    network.names = NAMES
    network.ties = {"lm_head": "model.embed_tokens"} if tied else {}
    a = block.self_attn
    network.llama_config = {
        "vocab": V,
        "seq": block.seq_len,
        "d_model": d,
        "n_layers": layers[1].times,  # type: ignore[attr-defined]
        "n_heads": a.n_heads,
        "n_kv_heads": None if a.n_kv_heads == a.n_heads and n_kv_heads is None else a.n_kv_heads,
        "d_ff": f,
        "head_dim": a.head_dim,
        "rope_theta": a.rope_theta,
        "eps": block.eps,
        "tied": tied,
        "window": a.window,
        "bias": a.bias,
        "o_bias": a.o_bias,
        "n_experts": block.n_experts,
        "top_k": block.top_k,
    }
    return network


_SIZES = ("vocab", "seq", "d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff", "head_dim", "window")


def rebuild(network: Network, mapping: Mapping[sympy.Symbol, sympy.Expr], batch: sympy.Expr) -> Network:
    """`network` (made by `llama`) with symbols replaced (`Network.xreplace`)."""
    from complexa.network import _replaced

    config: dict[str, Any] = dict(network.llama_config)  # type: ignore[arg-type]
    for key in (*_SIZES, "n_experts", "top_k"):
        if config[key] is not None:
            config[key] = _replaced(config[key], mapping, key)
    return llama(**config, batch=batch, optimizer=network.optimizer)


def shown(network: Network) -> str:
    """``Network.llama(...)`` or ``Network.mixtral(...)``, the defaults left out."""
    c: Mapping[str, Any] = network.llama_config  # type: ignore[assignment]
    name = "mixtral" if c["n_experts"] is not None else "llama"
    defaults = dict(DEFAULTS)
    if name == "mixtral":
        defaults.update(rope_theta=1e6, eps=1e-5, n_experts=8, top_k=2)
    out = ", ".join(str(c[k]) for k in ("vocab", "seq", "d_model", "n_layers", "n_heads"))
    for key, default in defaults.items():
        if key == "d_ff":
            if not (c["d_model"].is_Integer and c["d_ff"] == meta_d_ff(c["d_model"])):
                out += f", d_ff={c['d_ff']}"
        elif c[key] != default:
            out += f", {key}={c[key]!r}" if isinstance(c[key], (bool, float)) else f", {key}={c[key]}"
    if network.batch != 1:
        out += f", batch={network.batch}"
    if network.optimizer != "sgd":
        out += f", optimizer={network.optimizer!r}"
    return f"Network.{name}({out})"


def transformers_config(network: Network) -> dict[str, Any]:
    """The Hugging Face config (a dict for ``AutoConfig.for_model``) of a concrete `network` made by `llama`: its
    ``model_type`` llama, qwen2 (q, k, v bias without o bias), mistral (a window) or mixtral (experts)."""
    c: Mapping[str, Any] = network.llama_config  # type: ignore[assignment]
    heads = int(c["n_heads"])
    out: dict[str, Any] = {
        "vocab_size": int(c["vocab"]),
        "hidden_size": int(c["d_model"]),
        "intermediate_size": int(c["d_ff"]),
        "num_hidden_layers": int(c["n_layers"]),
        "num_attention_heads": heads,
        "num_key_value_heads": heads if c["n_kv_heads"] is None else int(c["n_kv_heads"]),
        "max_position_embeddings": int(c["seq"]),
        "rms_norm_eps": c["eps"],
        "rope_theta": c["rope_theta"],
        "tie_word_embeddings": c["tied"],
        "hidden_act": "silu",
    }
    if c["head_dim"] is not None:
        out["head_dim"] = int(c["head_dim"])
    if c["n_experts"] is not None:
        if c["bias"] or c["o_bias"]:
            raise ComplexaError(f"{shown(network)}: transformers' Mixtral has no attention biases")
        out.update(model_type="mixtral", num_local_experts=int(c["n_experts"]), num_experts_per_tok=int(c["top_k"]))
        out["sliding_window"] = None if c["window"] is None else int(c["window"])
    elif c["bias"] and not c["o_bias"]:
        out.update(model_type="qwen2", use_sliding_window=c["window"] is not None)
        out["sliding_window"] = None if c["window"] is None else int(c["window"])
        if c["window"] is not None:
            out["max_window_layers"] = 0  # every layer windowed
    elif c["window"] is not None:
        if c["bias"] or c["o_bias"]:
            raise ComplexaError(f"{shown(network)}: transformers' Mistral has no attention biases")
        out.update(model_type="mistral", sliding_window=int(c["window"]))
    else:
        if c["bias"] != c["o_bias"]:
            raise ComplexaError(f"{shown(network)}: transformers' Llama puts a bias on all four projections or none")
        out.update(model_type="llama", attention_bias=c["bias"])
    return out
