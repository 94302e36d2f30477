"""Inference: a language model's prefill over a prompt, a decode step with a KV cache, and a whole generation,
exactly, for GPT's kinds and the Llama kinds.

Three phases beside the training step (docs/inference.md has the formulas and the checks):

- ``prefill``, a prompt of P tokens per sequence: the forward pass over its B P rows, which writes the KV cache (P
  keys and values per sequence and attention layer). Every layer works on every row, as in training (the attention
  over P keys, masked scores included), except the head: as ``transformers``' ``generate`` does by default (it passes
  ``logits_to_keep=1``), the logits are computed for each sequence's last position only, B rows. ``logits="all"``
  computes them for all B P rows, as a plain call of the model does.
- ``decode``, one new token per sequence with a cache of C tokens: B rows; each attention appends the token's key
  and value to the cache and attends from its query to the C + 1 keys: GPT's with no mask (every key is at or before
  it), the Llama kinds' with transformers' eager mask added (all zeros) as their training rule counts it.
- ``generate``, G new tokens after a prompt of P, as ``generate(max_new_tokens=G)``: the prefill gives the first,
  and G - 1 decode steps, with caches of C = P .. P + G - 2, the rest; the decode steps' sum is a closed form in P
  and G.

What is not counted: choosing the next token from the logits (an argmax, or sampling), and moving keys and values
into the cache (copies, no arithmetic). The KV cache holds, per attention layer, sequence and cached token, a key
and a value of n_kv_heads * head_dim each (d_model for GPT's multi-head attention). A layer with a sliding window W
(Mistral's every layer; Qwen2's from max_window_layers on) keeps the last W - 1 tokens, as transformers'
``DynamicSlidingWindowLayer``, and its decode step attends to min(C + 1, W) keys; each layer by its own window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy

from complexa._choices import DTYPES
from complexa._limits import show
from complexa._poly import Converter, add, to_expr
from complexa._validate import as_choice, as_size, as_values
from complexa.asymptotics import big_o as _big_o
from complexa.errors import ComplexaError
from complexa.models._layers import Value
from complexa.network import Network
from complexa.nn import attention as _attention
from complexa.nn._base import OPS

__all__ = ["LOGITS", "Inference", "prefill", "decode", "generate", "kv_cache", "register"]

LOGITS = ("last", "all")
"""Which positions a prefill computes logits for: each sequence's last (``generate``'s default), or all P."""
CONVENTIONS = ("exact", "torch")
"""The conventions the inference phases count in: every scalar op, or ``FlopCounterMode``'s."""

# --- the attention kinds' rules with a cache: a registry, so that a kind's module can add its own ------------------
Rule = Callable[[Any, Value, Value, bool, Callable[[sympy.Expr], Value]], dict[str, Value]]
"""(layer, rows, keys per query, masked, convert) -> op -> count: the attention's own work for `rows` queries, each
attending to `keys` keys (masked: a causal mask over them is applied, as on a prefill)."""
TorchRule = Callable[[Any, Value, Value, Callable[[sympy.Expr], Value]], Value]
"""(layer, rows, keys per query, convert) -> its matrix products' FLOPs as ``FlopCounterMode`` counts them."""
KV = Callable[[Any, Callable[[sympy.Expr], Value]], Value]
"""(layer, convert) -> the elements it caches per sequence and token: a key and a value, n_kv_heads hd each."""

RULES: dict[type, tuple[Rule, TorchRule, KV]] = {}
"""Attention kind -> its rules with a cache (`register`)."""


def register(kind: type, rule: Rule, torch_rule: TorchRule, kv: KV) -> None:
    """Declare how an attention kind counts with a KV cache (its own work, its torch FLOPs, its cache per token)."""
    RULES[kind] = (rule, torch_rule, kv)


def _gpt_rule(layer: Any, rows: Value, keys: Value, masked: bool, convert: Callable[[sympy.Expr], Value]) -> Any:
    return _attention.forward(convert(layer.d_model), convert(layer.n_heads), keys, rows, masked)


def _gpt_torch(layer: Any, rows: Value, keys: Value, convert: Callable[[sympy.Expr], Value]) -> Value:
    # q k^T and P v, per sequence and head a (queries x hd) by (hd x keys) product and its twin: 2 rows keys d each.
    return 4 * rows * keys * convert(layer.d_model)


def _gpt_kv(layer: Any, convert: Callable[[sympy.Expr], Value]) -> Value:
    return 2 * convert(layer.d_model)  # a key and a value, H heads of hd = d / H


register(_attention.CausalSelfAttention, _gpt_rule, _gpt_torch, _gpt_kv)


def _llama_rule(layer: Any, rows: Value, keys: Value, masked: bool, convert: Callable[[sympy.Expr], Value]) -> Any:
    from complexa.nn.llama import attention_forward

    # transformers' eager attention adds its mask on a decode step too (eager_mask never skips it): all zeros, but
    # added, as the kind counts it in training; RoPE turns the new rows' q and k.
    q, kv, h = convert(layer.q_dim), convert(layer.kv_dim), convert(layer.n_heads)
    return attention_forward(q, kv, h, keys, rows, layer.masked)


def _llama_torch(layer: Any, rows: Value, keys: Value, convert: Callable[[sympy.Expr], Value]) -> Value:
    # Per query head (repeat_kv expands each key/value head to its group): q k^T and P v, 2 rows keys hd H each.
    return 4 * rows * keys * convert(layer.q_dim)


def _llama_kv(layer: Any, convert: Callable[[sympy.Expr], Value]) -> Value:
    return 2 * convert(layer.kv_dim)  # a key and a value of n_kv_heads hd: grouped-query attention caches less


def _register_llama() -> None:
    try:
        from complexa.nn.llama import Attention
    except ImportError:  # the Llama kinds are not in this tree
        return
    register(Attention, _llama_rule, _llama_torch, _llama_kv)


_register_llama()


# --- which networks ------------------------------------------------------------------------------------------------
def _attentions(network: Network) -> list[Any]:
    from complexa.nn._stack import rows_of

    return [row.layer for row in rows_of(network) if type(row.layer) in RULES]


def check_network(network: object, phase: str) -> Network:
    """`network` if it can prefill and decode: a stack that starts with an Embedding of token ids and has causal
    attention with a cache (`Network.gpt`); else one line saying why not."""
    from complexa.nn import Embedding

    if not isinstance(network, Network):
        raise ComplexaError(f"network = {show(network)}: must be a complexa.Network, such as Network.gpt(...)")
    if not network.is_stack or not isinstance(network.layers[0], Embedding) or not _attentions(network):
        raise ComplexaError(
            f"phase = {phase!r} with {network!r}: prefill and decode are a language model's, with token ids in and a "
            "KV cache in its attention layers; use a network such as Network.gpt(...), or phase='training'"
        )
    for layer in _attentions(network):
        if not getattr(layer, "causal", True):
            raise ComplexaError(
                f"phase = {phase!r} with {layer!r}: a decoder's KV cache needs causal attention; use causal=True, or "
                "phase='training'"
            )
    _windows(network, phase)
    return network


def _own_window(layer: Any) -> int | None:
    """An attention layer's sliding window (an integer, `_windows` has checked), or None for full attention."""
    window = getattr(layer, "window", None)
    return None if window is None else int(window)


def _windows(network: Network, phase: str) -> frozenset[int | None]:
    """The sliding windows of the attention layers, None for a full one; each layer keeps its own (Qwen2's
    ``layer_types``). Refuses a symbolic window (the cache holds min(tokens, W - 1) tokens) and a window of 1 (where
    transformers keeps every token)."""
    windows = {getattr(layer, "window", None) for layer in _attentions(network)}
    symbolic = sorted(str(w) for w in windows if w is not None and not w.is_Integer)
    if symbolic:
        raise ComplexaError(
            f"phase = {phase!r} with sliding window {', '.join(symbolic)}: a windowed cache holds min(tokens, W - 1) "
            "tokens, counted for an integer window; give window an integer"
        )
    if 1 in windows:
        raise ComplexaError(
            f"phase = {phase!r} with a sliding window of 1: transformers' cache for it (DynamicSlidingWindowLayer) "
            "keeps the last W - 1 tokens with the slice [-W + 1:], which at W = 1 keeps every token, so a decode step "
            "attends to them all; no count is given for it; use a window of 2 or more, or phase='training'"
        )
    return frozenset(None if w is None else int(w) for w in windows)


def _some_window(windows: frozenset[int | None]) -> int | None:
    """A window of `windows` (the smallest), or None when no layer has one: `_integers`' question."""
    sizes = [w for w in windows if w is not None]
    return min(sizes) if sizes else None


def _integers(network: Network, window: int | None, **sizes: sympy.Expr) -> None:
    """With a sliding window, the cache holds min(tokens, W - 1): every size must then be an integer."""
    if window is None:
        return
    for name, value in sizes.items():
        if not value.is_Integer:
            raise ComplexaError(
                f"{name} = {value} with a sliding window of {window}: the cache holds min(tokens, W - 1) tokens, "
                "counted for integer sizes only; give an integer"
            )


def _cached(tokens: sympy.Expr, window: int | None) -> sympy.Expr:
    """The tokens a sequence's cache holds after `tokens` tokens: all, or the last W - 1 with a window."""
    return tokens if window is None else sympy.Integer(min(int(tokens), window - 1))


def _positions(network: Network) -> sympy.Expr | None:
    """The most positions the network embeds (GPT's ``wpe`` rows), or None without a position table."""
    from complexa.nn import PositionEmbedding

    for layer in network.layers:
        if isinstance(layer, PositionEmbedding):
            return layer.num_positions
    return None


def _fits(network: Network, tokens: sympy.Expr, what: str) -> None:
    limit = _positions(network)
    if limit is not None and tokens.is_Integer and limit.is_Integer and tokens > limit:
        raise ComplexaError(
            f"{what} = {tokens} tokens: more than the {limit} positions {network!r} embeds; give at most {limit}"
        )


# --- the counts ----------------------------------------------------------------------------------------------------
Ops = dict[str, Value]
LayerRow = tuple[str, str, Ops, Value]
"""(torch path, layer as repr prints it, op -> count in the exact model, FLOPs in torch's convention)."""


def _rows(
    network: Network,
    phase: str,
    prompt: Value,
    cache: Value,
    logits: str,
    convert: Any,
    *,
    clip: bool = False,
) -> list[LayerRow]:
    """Every layer's work on one prefill (`prompt` P tokens) or one decode step (`cache` C tokens seen), with `clip`
    a decode step's keys at most each attention layer's own window (an integer C then)."""
    from complexa.nn._stack import rows_of

    B = convert(network.batch)
    queries = prompt if phase == "prefill" else 1
    keys = prompt if phase == "prefill" else cache + 1
    rows = B * queries
    head = network.names[-1] if network.names else str(len(network.layers) - 1)
    head_rows = rows if logits == "all" else B
    out: list[LayerRow] = []
    for row in rows_of(network):
        layer, times = row.layer, convert(row.times)
        r = head_rows if row.path == head else rows
        if type(layer) in RULES:
            rule, torch_rule, _ = RULES[type(layer)]
            seen = keys
            own = _own_window(layer) if clip else None
            if phase == "decode" and own is not None:
                seen = min(keys, own)  # this layer's cache: its last W - 1 tokens, and the new one
            ops = rule(layer, r, seen, phase == "prefill", convert)
            torch = torch_rule(layer, r, seen, convert)
        else:
            ops = layer.cost(convert(row.width), r, False, convert)["forward"]
            torch = _torch_forward(layer, r, convert)
        if times != 1:
            ops = {op: times * v for op, v in ops.items()}
            torch = times * torch
        out.append((row.path, repr(layer), ops, torch))
    return out


def _torch_forward(layer: Any, rows: Value, convert: Any) -> Value:
    """A layer's forward FLOPs on `rows` rows as ``FlopCounterMode`` counts them: its matrix products."""
    from complexa.nn import Linear

    if isinstance(layer, Linear):
        return 2 * rows * convert(layer.in_features) * convert(layer.out_features)
    if type(layer).__name__ in ("Router", "Experts"):  # a mixture of experts' (complexa.nn.moe)
        from complexa._flops import _moe_flops

        return _moe_flops(layer, False, convert, rows, "torch", "forward")
    return 0


def kv_elements(network: Network, tokens: sympy.Expr, convert: Any) -> Value:
    """Elements the KV cache holds over the batch after `tokens` tokens a sequence: each attention layer's key and
    value for each token it keeps (all, or the last W - 1 with a window W)."""
    from complexa.nn._stack import rows_of

    terms = []
    for row in rows_of(network):
        if type(row.layer) in RULES:
            kept = convert(_cached(tokens, _own_window(row.layer)))
            terms.append(convert(row.times) * kept * RULES[type(row.layer)][2](row.layer, convert))
    return convert(network.batch) * add(terms)


def _kept(network: Network, tokens: sympy.Expr) -> sympy.Expr:
    """The most tokens a layer's cache keeps after `tokens` (a full layer's all; with only windowed layers, W - 1
    of the widest)."""
    windows = _windows(network, "decode")
    return tokens if None in windows else max(_cached(tokens, w) for w in windows)


def _ops_of(network: Network) -> tuple[str, ...]:
    from complexa.nn._stack import rows_of

    used = {"mul", "add", "act"}  # no act_grad: nothing runs backward
    for row in rows_of(network):
        used |= set(row.layer.uses)
    return tuple(op for op in OPS if op in used)


def _expr(value: Value) -> sympy.Expr:
    return to_expr(value)


@dataclass(frozen=True, eq=False)
class Inference:
    """The exact counts of an inference phase of a language model, and its KV cache. Made by `derive` (``phase=
    "prefill"`` or ``"decode"``) and `generate`.

    **Attributes:**

    - `network`, `phase` (``"prefill"``, ``"decode"`` or ``"generate"``), `prompt` (P; None for a decode step),
      `cache` (C, the tokens cached before a decode step; None otherwise), `new` (G, for ``generate``), `logits`.
    - `counts`: phase -> op -> sympy expression; ``"prefill"`` or ``"decode"``, and both for ``generate`` (the
      decode steps' total).
    - `by_layer`: torch module path -> (layer, phase -> op -> expression), rows adding up to `counts`.
    - `torch_flops`: phase -> the FLOPs ``FlopCounterMode`` counts (its matrix products).
    - `kv_tokens`: the tokens each sequence has cached after the phase (P, C + 1, or P + G - 1), in the layers that
      keep the most (a windowed layer keeps at most W - 1).
    - `kv_elements`: the KV cache's elements after the phase, over the batch: 2 layers B tokens n_kv hd, each layer
      its own tokens.
    """

    network: Network
    phase: str
    prompt: sympy.Expr | None
    cache: sympy.Expr | None
    new: sympy.Expr | None
    logits: str
    counts: dict[str, dict[str, sympy.Expr]]
    by_layer: dict[str, tuple[str, dict[str, dict[str, sympy.Expr]]]] = field(repr=False)
    torch_flops: dict[str, sympy.Expr]
    kv_tokens: sympy.Expr
    kv_elements: sympy.Expr

    @property
    def total(self) -> sympy.Expr:
        """Every op of every phase together: the exact convention's FLOPs."""
        return sympy.Add(*(v for ops in self.counts.values() for v in ops.values()))

    def flops(self, convention: str = "exact") -> sympy.Expr:
        """The FLOPs in `convention`: ``"exact"`` (every op, `total`) or ``"torch"`` (``FlopCounterMode``'s)."""
        convention = as_choice(convention, CONVENTIONS, "convention")
        if convention == "exact":
            return self.total
        return sympy.Add(*self.torch_flops.values())

    def kv_bytes(self, dtype: str = "float16") -> sympy.Expr:
        """The KV cache's bytes after the phase, its elements of `dtype` (one of `DTYPES`)."""
        dtype = as_choice(dtype, DTYPES, "dtype")
        return sympy.expand(DTYPES[dtype] * self.kv_elements)

    @property
    def free_symbols(self) -> frozenset[sympy.Symbol]:
        out = set(self.network.free_symbols)
        for size in (self.prompt, self.cache, self.new):
            if size is not None:
                out |= size.free_symbols
        return frozenset(out)

    def big_o(self, **substitutions: object) -> sympy.Order:
        """The big-O of `total`, after `substitutions` (see `complexa.big_o`)."""
        have = {s.name for s in self.total.free_symbols if isinstance(s, sympy.Symbol)}
        return _big_o(self.total, **{k: v for k, v in substitutions.items() if k in have})

    def evaluate(self, **values: object) -> dict[str, dict[str, int]]:
        """`counts` with every symbol replaced by a positive integer: exact ints.

        >>> decode(Network.gpt(50257, 1024, 768, 12, 12), cache="C").evaluate(C=10)["decode"]["exp"]
        1584
        """
        mapping = as_values(values, self.free_symbols, "evaluate")
        missing = sorted(s.name for s in self.free_symbols - mapping.keys())
        if missing:
            raise ComplexaError(f"evaluate: give a value for every symbol; missing {', '.join(missing)}")
        for k, v in mapping.items():
            if not v.is_Integer:
                raise ComplexaError(f"evaluate: {k.name}={show(values[k.name])} must be a positive integer")
        return {
            phase: {op: int(sympy.expand(v.xreplace(mapping))) for op, v in ops.items()}
            for phase, ops in self.counts.items()
        }

    def __str__(self) -> str:
        sizes = ", ".join(
            f"{name}={value}" for name, value in (("P", self.prompt), ("C", self.cache), ("G", self.new)) if value
        )
        lines = [f"{self.phase} of {self.network!r} ({sizes}; logits: {self.logits})"]
        for phase, ops in self.counts.items():
            lines.append(f"  {phase}:")
            lines += [f"    {op}: {v}" for op, v in ops.items()]
            lines.append(f"    torch FLOPs: {self.torch_flops[phase]}")
        lines.append(f"  KV cache: {self.kv_tokens} tokens a sequence, {self.kv_elements} elements")
        return "\n".join(lines)


def _convert(network: Network, *sizes: sympy.Expr | None) -> Converter:
    symbols = set(network.free_symbols)
    for size in sizes:
        if size is not None:
            symbols |= size.free_symbols
    return Converter(symbols)


def _phase(
    network: Network,
    phase: str,
    prompt: sympy.Expr,
    cache: sympy.Expr,
    logits: str,
    convert: Any,
    *,
    clip: bool = False,
) -> tuple[dict[str, sympy.Expr], dict[str, tuple[str, dict[str, sympy.Expr]]], sympy.Expr]:
    """(op -> count, path -> (layer, op -> count), torch FLOPs) of one phase, as sympy expressions."""
    rows = _rows(network, phase, convert(prompt), convert(cache), logits, convert, clip=clip)
    ops = _ops_of(network)
    counts = {op: _expr(add([r[2].get(op, 0) for r in rows])) for op in ops}
    layers = {path: (shown, {op: _expr(o.get(op, 0)) for op in ops}) for path, shown, o, _ in rows}
    return counts, layers, _expr(add([r[3] for r in rows]))


def _size(value: object, where: str) -> sympy.Expr:
    if value is None:
        raise ComplexaError(f"{where} = None: give the number of tokens, a positive integer or a symbol such as 'P'")
    return as_size(value, where)


def prefill(network: Network, *, prompt: object, logits: str = "last") -> Inference:
    """The forward pass over a prompt of `prompt` tokens per sequence that fills the KV cache (module docstring).

    **Arguments:** `network` (`Network.gpt`, any batch), `prompt` (P, a positive integer or a symbol), `logits`
    (``"last"``, as ``generate`` does, or ``"all"``).

    **Returns:** an `Inference`.

    >>> prefill(Network.gpt(50257, 1024, 768, 12, 12), prompt=1).flops("torch")
    247100928
    """
    network = check_network(network, "prefill")
    P = _size(prompt, "prompt")
    logits = as_choice(logits, LOGITS, "logits")
    _fits(network, P, "prompt")
    _integers(network, _some_window(_windows(network, "prefill")), prompt=P)
    convert = _convert(network, P)
    # The prefill's attention sees all P keys (a window masks some, as in training); its cache keeps W - 1 of them.
    counts, layers, torch = _phase(network, "prefill", P, P, logits, convert)
    tokens = _kept(network, P)
    kv = to_expr(kv_elements(network, P, convert))
    by_layer = {path: (shown, {"prefill": ops}) for path, (shown, ops) in layers.items()}
    return Inference(
        network, "prefill", P, None, None, logits, {"prefill": counts}, by_layer, {"prefill": torch}, tokens, kv
    )


def decode(network: Network, *, cache: object) -> Inference:
    """One decode step: a new token per sequence attending to the `cache` tokens cached and itself.

    **Arguments:** `network` (`Network.gpt`, any batch), `cache` (C, a positive integer or a symbol).

    **Returns:** an `Inference`; its KV cache holds C + 1 tokens a sequence after the step.

    >>> decode(Network.gpt("V", "T", "d", "L", "H", batch="B"), cache="C").torch_flops["decode"]
    4*B*C*L*d + 24*B*L*d**2 + 4*B*L*d + 2*B*V*d
    """
    network = check_network(network, "decode")
    C = _size(cache, "cache")
    _fits(network, C + 1, "cache + 1")
    _integers(network, _some_window(_windows(network, "decode")), cache=C)
    return _decode(network, C)


def _decode(network: Network, C: sympy.Expr) -> Inference:
    """A decode step after C tokens, each attention layer over min(C + 1, its own W) keys (C an integer with a
    window)."""
    convert = _convert(network, C)
    counts, layers, torch = _phase(network, "decode", sympy.Integer(1), C, "last", convert, clip=True)
    tokens, kv = _kept(network, C + 1), to_expr(kv_elements(network, C + 1, convert))
    by_layer = {path: (shown, {"decode": ops}) for path, (shown, ops) in layers.items()}
    return Inference(
        network, "decode", None, C, None, "last", {"decode": counts}, by_layer, {"decode": torch}, tokens, kv
    )


def generate(network: Network, *, prompt: object, new: object) -> Inference:
    """`new` tokens generated after a prompt of `prompt`, as ``model.generate(max_new_tokens=new)`` does it: the
    prefill (whose last logits give the first token) and `new` - 1 decode steps, with C = P .. P + G - 2 cached; the
    decode steps' counts summed in closed form.

    **Arguments:** `network` (`Network.gpt`, any batch), `prompt` (P) and `new` (G), positive integers or symbols.

    **Returns:** an `Inference` with counts ``"prefill"`` and ``"decode"`` (all G - 1 steps).

    >>> g = generate(Network.gpt("V", "T", "d", "L", "H"), prompt="P", new="G")
    >>> g.torch_flops["decode"]
    2*G**2*L*d + 4*G*L*P*d + 24*G*L*d**2 - 2*G*L*d + 2*G*V*d - 4*L*P*d - 24*L*d**2 - 2*V*d
    """
    network = check_network(network, "generate")
    P, G = _size(prompt, "prompt"), _size(new, "new")
    _fits(network, sympy.expand(P + G - 1), "prompt + new - 1")
    _integers(network, _some_window(_windows(network, "generate")), prompt=P, new=G)
    first = prefill(network, prompt=P)
    lo, hi = P, sympy.expand(P + G - 2)

    def total(value: sympy.Expr, window: int | None) -> sympy.Expr:
        # The step is a polynomial in C: its sum over C = P .. P + G - 2 (none for G = 1), in closed form. With a
        # window W, the steps from C = W - 1 on attend to W keys, as the unclipped step at C = W - 1 does.
        if value == 0:
            return value
        last = hi if window is None else sympy.Min(hi, window - 1)
        flat = 0 if window is None else max(0, int(hi) - max(int(lo), window) + 1)
        summed = sympy.summation(value, (_CACHE, lo, last)) if last == hi or last >= lo else sympy.Integer(0)
        if flat:
            summed += flat * value.xreplace({_CACHE: sympy.Integer(window - 1)})  # type: ignore[operator]
        return sympy.expand(summed)

    # Each layer's unclipped step (its polynomial in C), summed over the steps with its own window.
    from complexa.nn._stack import rows_of

    convert = _convert(network, _CACHE)
    own = {row.path: _own_window(row.layer) if type(row.layer) in RULES else None for row in rows_of(network)}
    steps = _rows(network, "decode", convert(sympy.Integer(1)), convert(_CACHE), "last", convert)
    ops = _ops_of(network)
    decode = {path: {op: total(_expr(o.get(op, 0)), own[path]) for op in ops} for path, _, o, _ in steps}
    counts = {
        "prefill": first.counts["prefill"],
        "decode": {op: sympy.expand(sympy.Add(*(d[op] for d in decode.values()))) for op in ops},
    }
    by_layer = {
        path: (shown, {"prefill": o["prefill"], "decode": decode[path]}) for path, (shown, o) in first.by_layer.items()
    }
    torch_decode = sympy.Add(*(total(_expr(t), own[path]) for path, _, _, t in steps))
    torch = {"prefill": first.torch_flops["prefill"], "decode": sympy.expand(torch_decode)}
    end = sympy.expand(P + G - 1)
    convert = _convert(network, P, G)
    kv = to_expr(kv_elements(network, end, convert))
    return Inference(network, "generate", P, None, G, "last", counts, by_layer, torch, _kept(network, end), kv)


_CACHE = sympy.Symbol("cached.C", positive=True, integer=True)
"""The cache length a generation's decode steps are summed over (a name no size spelling can give)."""


def kv_cache(network: Network, tokens: object, dtype: str = "float16") -> sympy.Expr:
    """The bytes of a KV cache holding `tokens` tokens per sequence: 2 layers B tokens n_kv_heads head_dim bytes.

    >>> kv_cache(Network.gpt(50257, 1024, 768, 12, 12, batch="B"), "C")
    36864*B*C
    """
    network = check_network(network, "decode")
    n = as_size(tokens, "tokens")
    dtype = as_choice(dtype, DTYPES, "dtype")
    _integers(network, _some_window(_windows(network, "decode")), tokens=n)
    convert = _convert(network, n)
    return to_expr(DTYPES[dtype] * kv_elements(network, n, convert))


def infer(network: Network, phase: str, prompt: object, cache: object, logits: str = "last") -> Inference:
    """`derive`'s inference phases: `prefill` or `decode`, refusing the size the phase does not take."""
    if phase == "prefill":
        if cache is not None:
            raise ComplexaError(
                f"cache = {show(cache)} with phase = 'prefill': a prefill starts with no cache; drop it"
            )
        return prefill(network, prompt=prompt, logits=logits)
    if prompt is not None:
        raise ComplexaError(
            f"prompt = {show(prompt)} with phase = 'decode': a decode step takes the tokens cached, cache=C; the "
            "prompt is generate's"
        )
    if logits != "last":
        raise ComplexaError(f"logits = {show(logits)} with phase = 'decode': a decode step has one position")
    return decode(network, cache=cache)
