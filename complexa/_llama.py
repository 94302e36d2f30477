"""`Network.llama` and `Network.mixtral`: Llama-style language models (Llama, Mistral, Qwen2, Mixtral) as stacks of
the kinds of `complexa.nn.llama` and `complexa.nn.moe`, named as Hugging Face's modules."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import sympy

from complexa._limits import show
from complexa._validate import as_flag, as_size
from complexa.errors import ComplexaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from complexa.network import Network
    from complexa.nn import Layer

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
    "mlp_bias": False,
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
    mlp_bias: bool = False,
    optimizer: object = "sgd",
) -> Network:
    """See `Network.llama`."""
    from complexa.network import Network
    from complexa.nn import Embedding, Layers, Linear, LlamaBlock, Repeat, RMSNorm

    tied = as_flag(tied, "tied")
    d = as_size(d_model, "d_model")
    f = meta_d_ff(d) if d_ff is None else as_size(d_ff, "d_ff")
    L = as_size(n_layers, "n_layers")
    windows = layer_windows(window, L)

    def make(w: sympy.Expr | None) -> LlamaBlock:
        return LlamaBlock(
            d,
            n_heads,
            seq,
            f,
            n_kv_heads=n_kv_heads,
            head_dim=head_dim,
            bias=bias,
            o_bias=o_bias,
            window=w,
            rope_theta=rope_theta,
            eps=eps,
            n_experts=n_experts,
            top_k=top_k,
            mlp_bias=mlp_bias,
        )

    stack: Layer
    if isinstance(windows, tuple):  # the windows differ along the depth: a run of blocks for each stretch
        blocks = {w: make(w) for w in dict.fromkeys(windows)}
        runs = [(blocks[w], len(list(group))) for w, group in itertools.groupby(windows)]
        block, stack = blocks[windows[0]], Layers(runs)
    else:
        block = make(windows)
        stack = Repeat(block, L)
    V = as_size(vocab, "vocab")
    layers = [Embedding(V, d), stack, RMSNorm(d, eps), Linear(d, V, bias=False)]
    network = Network(layers, batch=batch, loss="cross_entropy", optimizer=optimizer)
    network.names = NAMES
    network.ties = {"lm_head": "model.embed_tokens"} if tied else {}
    a = block.self_attn
    network.llama_config = {
        "vocab": V,
        "seq": block.seq_len,
        "d_model": d,
        "n_layers": L,
        "n_heads": a.n_heads,
        "n_kv_heads": None if a.n_kv_heads == a.n_heads and n_kv_heads is None else a.n_kv_heads,
        "d_ff": f,
        "head_dim": a.head_dim,
        "rope_theta": a.rope_theta,
        "eps": block.eps,
        "tied": tied,
        "window": windows,
        "bias": a.bias,
        "o_bias": a.o_bias,
        "n_experts": block.n_experts,
        "top_k": block.top_k,
        "mlp_bias": block.mlp_bias,
    }
    return network


def layer_windows(window: object, n_layers: sympy.Expr) -> sympy.Expr | tuple[sympy.Expr | None, ...] | None:
    """`window` read: None (full attention), one size for every layer, or a sequence of one per layer (None for a
    full layer); a sequence that gives every layer the same one is that one. A sequence needs an integer
    `n_layers` of its length."""
    if window is None or isinstance(window, (str, bytes)) or not isinstance(window, (list, tuple)):
        return None if window is None else as_size(window, "window")
    if not n_layers.is_Integer or len(window) != int(n_layers):
        raise ComplexaError(
            f"window = {show(window)}: a window for each layer needs n_layers ({n_layers}) of them, one a layer "
            "(None for full attention); or give one window for every layer"
        )
    windows = tuple(None if w is None else as_size(w, f"window[{k}]") for k, w in enumerate(window))
    return windows[0] if len(set(windows)) == 1 else windows


def window_of(config: Mapping[str, Any], layer: int) -> sympy.Expr | None:
    """The window of layer `layer` (from 0) in a `llama` network's config, or None for full attention."""
    window = config["window"]
    return window[layer] if isinstance(window, tuple) else window


_SIZES = ("vocab", "seq", "d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff", "head_dim", "window")


def rebuild(network: Network, mapping: Mapping[sympy.Symbol, sympy.Expr], batch: sympy.Expr) -> Network:
    """`network` (made by `llama`) with symbols replaced (`Network.xreplace`)."""
    from complexa.network import _replaced

    config: dict[str, Any] = dict(network.llama_config)  # type: ignore[arg-type]
    for key in (*_SIZES, "n_experts", "top_k"):
        if isinstance(config[key], tuple):  # a window for each layer
            values = enumerate(config[key])
            config[key] = tuple(None if v is None else _replaced(v, mapping, f"{key}[{k}]") for k, v in values)
        elif config[key] is not None:
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
        elif isinstance(c[key], tuple):  # a window for each layer, as runs: [None] * 26 + [4096] * 2
            runs = [(w, len(list(run))) for w, run in itertools.groupby(c[key])]
            out += f", {key}=" + " + ".join(f"[{w}]" + (f" * {n}" if n > 1 else "") for w, n in runs)
        elif c[key] != default:
            out += f", {key}={c[key]!r}" if isinstance(c[key], (bool, float)) else f", {key}={c[key]}"
    if network.batch != 1:
        out += f", batch={network.batch}"
    if network.optimizer != "sgd":
        out += f", optimizer={network.optimizer!r}"
    return f"Network.{name}({out})"


def transformers_config(network: Network) -> dict[str, Any]:
    """The Hugging Face config (a dict for ``AutoConfig.for_model``) of a concrete `network` made by `llama`: its
    ``model_type`` llama (``mlp_bias`` too), qwen2 (q, k, v bias without o bias; a window on some layers, as
    ``layer_types`` says), mistral (a window) or mixtral (experts)."""
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
    windows = c["window"] if isinstance(c["window"], tuple) else None
    if windows is not None:
        return _qwen2_layer_types(network, out, windows)
    if c["mlp_bias"]:
        if c["bias"] != c["o_bias"] or c["window"] is not None:
            raise ComplexaError(
                f"{shown(network)}: transformers' Llama, the one model with mlp_bias, puts a bias on all four "
                "attention projections or none and has no window"
            )
        out.update(model_type="llama", attention_bias=c["bias"], mlp_bias=True)
    elif c["n_experts"] is not None:
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


def _qwen2_layer_types(network: Network, out: dict[str, Any], windows: tuple[sympy.Expr | None, ...]) -> dict[str, Any]:
    """A window on some layers only: transformers' Qwen2 is the model that reads ``layer_types`` (its Llama, Mistral
    and Mixtral window every layer or none), with one ``sliding_window`` for the windowed layers."""
    c: Mapping[str, Any] = network.llama_config  # type: ignore[assignment]
    sizes = {w for w in windows if w is not None}
    if not (c["bias"] and not c["o_bias"]) or c["n_experts"] is not None or c["mlp_bias"] or len(sizes) != 1:
        raise ComplexaError(
            f"{shown(network)}: a window on some layers only is transformers' Qwen2's (layer_types), which has q, k "
            "and v biases (bias=True), no o_proj or MLP bias, no experts and one sliding_window; give those"
        )
    full = sum(1 for _ in itertools.takewhile(lambda w: w is None, windows))
    out.update(
        model_type="qwen2",
        use_sliding_window=True,
        sliding_window=int(sizes.pop()),
        max_window_layers=full,  # the rule's own, where the full layers come first
        layer_types=["full_attention" if w is None else "sliding_attention" for w in windows],
    )
    return out
