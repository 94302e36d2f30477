"""Hugging Face model configs, read into networks (`Network.from_config`), and a few public ones shipped as data.

The ``*.json`` files here are the ``config.json`` of public models as their Hugging Face Hub repositories publish
them (openai-community/gpt2, meta-llama/Llama-2-7b-hf, meta-llama/Meta-Llama-3-8B, mistralai/Mistral-7B-v0.1,
Qwen/Qwen2-7B, mistralai/Mixtral-8x7B-v0.1), so that ``complexa derive --config llama-3-8b`` works offline; the tests
build each one's transformers model on the meta device and check its parameter count against `params`.

>>> sorted(NAMES)
['gpt2', 'llama-2-7b', 'llama-3-8b', 'mistral-7b', 'mixtral-8x7b', 'qwen2-7b']
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from complexa._limits import show
from complexa.errors import ComplexaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from complexa.network import Network

__all__ = ["NAMES", "MODEL_TYPES", "load", "network_from_config"]

_HERE = Path(__file__).parent

NAMES: dict[str, str] = {
    "gpt2": "gpt2.json",
    "llama-2-7b": "llama-2-7b.json",
    "llama-3-8b": "llama-3-8b.json",
    "mistral-7b": "mistral-7b.json",
    "qwen2-7b": "qwen2-7b.json",
    "mixtral-8x7b": "mixtral-8x7b.json",
}
"""The configs complexa ships: name -> file here."""

ALIASES = {
    "gpt-2": "gpt2",
    "llama2-7b": "llama-2-7b",
    "llama-2-7b-hf": "llama-2-7b",
    "llama3-8b": "llama-3-8b",
    "meta-llama-3-8b": "llama-3-8b",
    "mistral-7b-v0.1": "mistral-7b",
    "mixtral-8x7b-v0.1": "mixtral-8x7b",
}

MODEL_TYPES = ("gpt2", "llama", "mistral", "qwen2", "mixtral")
"""The ``model_type`` values `network_from_config` reads."""

DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": {"num_key_value_heads": None, "max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "rope_theta": 1e4},
    "mistral": {
        "num_key_value_heads": 8,
        "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1e4,
        "sliding_window": 4096,
    },
    "qwen2": {"num_key_value_heads": 32, "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1e4},
    "mixtral": {
        "num_key_value_heads": 8,
        "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5,
        "rope_theta": 1e6,
        "sliding_window": None,
        "num_local_experts": 8,
        "num_experts_per_tok": 2,
    },
}
"""What a config that leaves a field out means, by ``model_type``: the defaults of transformers' config classes
(5.x). The sizes vocab_size, hidden_size, intermediate_size, num_hidden_layers and num_attention_heads have no
default here: a config without one is refused."""

MAX_CONFIG_BYTES = 1 << 20
"""The largest config.json read (a real one is about a kilobyte)."""


def load(config: object) -> dict[str, Any]:
    """`config` as a dict: a dict as it is, a ``PretrainedConfig`` by its ``to_dict()``, a shipped name, or a path to
    a JSON file.

    **Raises:** `ComplexaError` for anything else, a path that is not a file, and a file that is not a JSON object.
    """
    if isinstance(config, Mapping):
        return dict(config)
    if hasattr(config, "to_dict") and hasattr(config, "model_type"):  # transformers' PretrainedConfig
        out = config.to_dict()
        out.setdefault("model_type", config.model_type)
        return out
    if isinstance(config, str) and config.strip().lower() in NAMES.keys() | ALIASES.keys():
        key = config.strip().lower()
        return _read(_HERE / NAMES[ALIASES.get(key, key)], key)
    if not isinstance(config, (str, os.PathLike)):
        raise ComplexaError(
            f"config = {show(config)}: must be a transformers PretrainedConfig, a dict, a path to a config.json, or "
            f"one of {', '.join(NAMES)}"
        )
    path = Path(config)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):
        is_file = False
    if not is_file:
        raise ComplexaError(
            f"config = {show(str(config))}: neither a config complexa ships ({', '.join(NAMES)}) nor a file; give a "
            "path to a config.json"
        )
    return _read(path, str(config))


def _read(path: Path, name: str) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ComplexaError(f"config = {show(name)}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ComplexaError(f"config = {show(name)}: larger than {MAX_CONFIG_BYTES:,} bytes; not a config.json")
    try:
        out = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ComplexaError(f"config = {show(name)}: not JSON ({show(str(error), 60)})") from None
    if not isinstance(out, dict):
        raise ComplexaError(f"config = {show(name)}: its JSON is not an object of fields, such as a config.json's")
    return out


def _int(c: Mapping[str, Any], key: str, default: object = ...) -> Any:
    from complexa._validate import as_size

    value = c.get(key, default)
    if value is ...:
        raise ComplexaError(f"config: {key!r} is missing; a {c.get('model_type')} config.json gives it")
    if value is None and default is not ...:
        return None  # null: what transformers makes of it (d_model / n_heads, as many as the heads, no window)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ComplexaError(f"config: {key} = {show(value)}: must be a positive integer")
    if value <= 0:
        raise ComplexaError(f"config: {key} = {show(value)}: must be a positive integer")
    return as_size(value, f"config: {key}")


def _real(c: Mapping[str, Any], key: str, default: float) -> float:
    value = c.get(key, default)
    if value is None:
        value = default
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    if ok:
        try:
            ok = math.isfinite(float(value)) and float(value) > 0
        except OverflowError:
            ok = False
    if not ok:
        raise ComplexaError(f"config: {key} = {show(value)}: must be a positive finite number")
    return float(value)


def _flag(c: Mapping[str, Any], key: str, default: bool) -> bool:
    value = c.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ComplexaError(f"config: {key} = {show(value)}: must be true or false")
    return value


def _rope_theta(c: Mapping[str, Any], default: float) -> float:
    # transformers 5 keeps it in rope_parameters; config.json files have rope_theta.
    params = c.get("rope_parameters")
    if isinstance(params, Mapping) and "rope_theta" in params and "rope_theta" not in c:
        return _real(params, "rope_theta", default)
    return _real(c, "rope_theta", default)


def _act(c: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> None:
    value = c.get(key, default)
    if value not in allowed:
        raise ComplexaError(
            f"config: {key} = {show(value)}: complexa's {c.get('model_type')} uses {' or '.join(map(repr, allowed))}"
        )


def network_from_config(config: object, *, seq: object = None, batch: object = 1, optimizer: object = "sgd") -> Network:
    """See `Network.from_config`."""
    from complexa.network import Network

    c = load(config)
    kind = c.get("model_type")
    if kind not in MODEL_TYPES:
        raise ComplexaError(
            f"config: model_type = {show(kind)}: complexa reads {', '.join(MODEL_TYPES)}; for another model, trace "
            "its PyTorch module with complexa.from_torch"
        )
    if kind == "gpt2":
        _act(c, "activation_function", ("gelu_new", "gelu_pytorch_tanh"), "gelu_new")
        positions = _int(c, "n_positions", 1024)
        if seq is not None:
            from complexa._validate import as_size

            if as_size(seq, "seq") != positions:
                raise ComplexaError(
                    f"seq = {show(seq)}: complexa's GPT-2 works on sequences of n_positions = {positions} tokens, the "
                    "rows of its position table; give no seq"
                )
        return Network.gpt(
            _int(c, "vocab_size", 50257),
            positions,
            _int(c, "n_embd", 768),
            _int(c, "n_layer", 12),
            _int(c, "n_head", 12),
            d_ff=_int(c, "n_inner", None),
            tied=_flag(c, "tie_word_embeddings", True),
            batch=batch,
            optimizer=optimizer,
        )
    _act(c, "hidden_act", ("silu",), "silu")
    default = DEFAULTS[kind]
    window: object = None
    bias = o_bias = mlp_bias = False
    experts: dict[str, object] = {}
    vocab, d_model = _int(c, "vocab_size"), _int(c, "hidden_size")
    n_layers = _int(c, "num_hidden_layers")
    if kind == "llama":
        bias = o_bias = _flag(c, "attention_bias", False)
        mlp_bias = _flag(c, "mlp_bias", False)
    elif kind == "qwen2":
        bias = True
        window = _qwen2_windows(c, n_layers)
    else:  # mistral, mixtral
        window = _int(c, "sliding_window", default["sliding_window"])
    if kind != "llama" and c.get("mlp_bias"):
        raise ComplexaError(f"config: mlp_bias = {show(c['mlp_bias'])}: transformers' {kind} has no MLP biases")
    if kind != "qwen2":
        _same_layer_types(c, n_layers, window)
    if kind == "mixtral":
        experts = {
            "n_experts": _int(c, "num_local_experts", default["num_local_experts"]),
            "top_k": _int(c, "num_experts_per_tok", default["num_experts_per_tok"]),
        }
    from complexa._llama import llama

    heads, head_dim = _int(c, "num_attention_heads"), _int(c, "head_dim", None)
    if head_dim is not None and head_dim * heads == d_model:
        head_dim = None  # transformers' config classes write out the default; the network is the same

    return llama(
        vocab,
        _int(c, "max_position_embeddings", default["max_position_embeddings"]) if seq is None else seq,
        d_model,
        n_layers,
        heads,
        n_kv_heads=_int(c, "num_key_value_heads", default["num_key_value_heads"]),
        d_ff=_int(c, "intermediate_size"),
        head_dim=head_dim,
        rope_theta=_rope_theta(c, default["rope_theta"]),
        eps=_real(c, "rms_norm_eps", default["rms_norm_eps"]),
        tied=_flag(c, "tie_word_embeddings", False),
        window=window,
        bias=bias,
        o_bias=o_bias,
        mlp_bias=mlp_bias,
        batch=batch,
        optimizer=optimizer,
        **experts,
    )


LAYER_TYPES = ("full_attention", "sliding_attention")
"""The ``layer_types`` entries complexa reads: a layer that attends to every token before it, or to a window."""


def _layer_types(c: Mapping[str, Any], n_layers: int) -> list[str] | None:
    """The config's ``layer_types``, checked as transformers checks it (one entry a layer), or None without one."""
    types = c.get("layer_types")
    if types is None:
        return None
    if isinstance(types, (str, bytes)) or not isinstance(types, (list, tuple)) or len(types) != n_layers:
        raise ComplexaError(
            f"config: layer_types = {show(types)}: must be a list of num_hidden_layers = {n_layers} entries, one a "
            f"layer, each {' or '.join(map(repr, LAYER_TYPES))}"
        )
    for k, entry in enumerate(types):
        if entry not in LAYER_TYPES:
            raise ComplexaError(
                f"config: layer_types[{k}] = {show(entry)}: complexa reads {' or '.join(map(repr, LAYER_TYPES))}"
            )
    return list(types)


def _qwen2_windows(c: Mapping[str, Any], n_layers: int) -> object:
    """Qwen2's window of each layer, as transformers' ``Qwen2Config`` makes ``layer_types``: with use_sliding_window,
    ``sliding_window`` on the layers from ``max_window_layers`` on (none when it is num_hidden_layers or more), or on
    those a given ``layer_types`` names ``sliding_attention``; else none. A list, or None for none."""
    start = c.get("max_window_layers", 28)
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ComplexaError(
            f"config: max_window_layers = {show(start)}: must be a non-negative integer, the layers before the first "
            "windowed one (0 windows every layer)"
        )
    window = _int(c, "sliding_window", 4096) if _flag(c, "use_sliding_window", False) else None
    types = _layer_types(c, n_layers)
    if types is None:
        windowed = [window is not None and i >= start for i in range(n_layers)]
        types = ["sliding_attention" if w else "full_attention" for w in windowed]
    elif window is None and "sliding_attention" in types:
        raise ComplexaError(
            "config: layer_types names a sliding_attention layer, but use_sliding_window is false (or sliding_window "
            "null), so transformers' Qwen2 gives it no window; set use_sliding_window and sliding_window, or make it "
            "full_attention"
        )
    return [window if t == "sliding_attention" else None for t in types]


def _same_layer_types(c: Mapping[str, Any], n_layers: int, window: object) -> None:
    """transformers' Llama, Mistral and Mixtral window every layer or none, whatever ``layer_types`` says (their
    caches read it, their attention does not): a given one must say what the attention does."""
    types = _layer_types(c, n_layers)
    does = "full_attention" if window is None else "sliding_attention"
    if types is not None and any(t != does for t in types):
        raise ComplexaError(
            f"config: layer_types = {show(types)}: transformers' {c.get('model_type')} gives every layer "
            f"{'no window' if window is None else f'the sliding_window {window}'} whatever layer_types says; make "
            f"every entry {does!r}, or drop layer_types"
        )
