"""The measured side of inference: a language model (GPT's kinds, or the Llama kinds: Llama, Mistral, Qwen2, Mixtral)
that generates tokens with a real KV cache, counting every operation of its prefill and of each decode step
(docs/inference.md).

The same nodes and kernels as training (`complexa.reference._runtime`), their buffers sized for the rows of the
phase: B P on the prefill, B on a decode step; the attention nodes keep the cache (`start_cache` of
`kinds.attention.AttentionNode` and of `kinds.llama.AttentionNode`: GPT's keys, or Llama's rotated keys at their
positions, grouped by key/value head, a sliding window's last W - 1 tokens), GPT's position embedding reads the
positions of the rows to come. Greedy decoding: each next token is the argmax of the last logits, taken with numpy
and not counted, as complexa's derivation does not count it either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from complexa._limits import show
from complexa.errors import ComplexaError
from complexa.network import Network

__all__ = ["generate", "Generation"]


@dataclass(frozen=True, eq=False)
class Generation:
    """What `generate` observed.

    **Attributes:**

    - `network`, `seed`, `logits_kept` (``"last"`` or ``"all"``).
    - `prompt`: (B, P) int64 token ids; `tokens`: (B, G) the tokens generated, greedily.
    - `counts`: ``"prefill"`` -> op -> count, and ``"decode"`` -> a list, op -> count of each decode step (C = P ..
      P + G - 2 cached), as `complexa.derive(..., phase=...)` derives them.
    - `logits`: the prefill's, (B, V) (or (B, P, V) with ``logits="all"``), then each decode step's (B, V).
    - `kv_elements`: float64 elements of the KV caches at the end, every attention layer's keys and values of the
      tokens it keeps (P + G - 1 a sequence; with a sliding window W, the last W - 1, as transformers keeps them);
      `kv_tokens`: the tokens each sequence has cached at the end, in the layers that keep the most (the full ones
      where some layers have a sliding window), as `complexa.derive(..., phase=...).kv_tokens`.
    - `cache`: each attention layer's (keys, values) at the end, (B, n_kv_heads, tokens it keeps, head_dim), oldest
      token first, as ``DynamicCache`` holds them (GPT's keys as they are, Llama's rotated).
    - `state`: the parameters by ``state_dict()`` name (tied tensors under each name).
    - `seconds`: wall time of the prefill and of each decode step (the kernels' calls; compilation excluded).
    """

    network: Network
    seed: int
    logits_kept: str
    prompt: NDArray[np.int64] = field(repr=False)
    tokens: NDArray[np.int64] = field(repr=False)
    counts: dict[str, Any]
    logits: list[NDArray[np.float64]] = field(repr=False)
    kv_elements: int
    kv_tokens: int
    state: dict[str, NDArray[np.float64]] = field(repr=False)
    seconds: list[float] = field(repr=False)
    cache: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = field(repr=False)


def _checked(network: object, prompt: object, new: object, seed: object, logits: object) -> tuple[int, int, int]:
    import sympy

    from complexa._inference import LOGITS, _fits, check_network
    from complexa._validate import as_choice

    network = check_network(network, "generate")
    if not network.is_concrete:
        raise ComplexaError(
            f"{network!r} has symbols: generate runs a real network, so every size and the batch must be an integer; "
            "substitute integers first, with Network.xreplace"
        )
    sizes = []
    for name, value in (("prompt", prompt), ("new", new)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ComplexaError(f"{name} = {show(value)}: must be a positive int, the number of tokens")
        sizes.append(value)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ComplexaError(f"seed = {show(seed)}: must be a non-negative int")
    as_choice(logits, LOGITS, "logits")
    _fits(network, sympy.Integer(sizes[0] + sizes[1] - 1), "prompt + new - 1")
    return sizes[0], sizes[1], seed


def generate(network: Network, *, prompt: int, new: int, seed: int = 0, logits: str = "last") -> Generation:
    """Generate `new` tokens greedily after a random prompt of `prompt` tokens per sequence, on the CPU, counting the
    prefill and every decode step: ``model.generate(max_new_tokens=new)`` with a ``DynamicCache``, as the counting
    network does it.

    The parameters are `complexa.measure`'s for the same `seed` (``numpy.random.default_rng(seed)``, each tensor in
    ``state_dict()`` order); then the prompt, uniform token ids in 0..vocab - 1.

    **Arguments:** `network` (`Network.gpt`, `Network.llama`, `Network.mixtral` or a stack of their kinds, with
    integer sizes and batch), `prompt` (P), `new` (G; P + G - 1 at most the positions GPT's network embeds; RoPE
    turns any position), `seed`, `logits` (``"last"``, as ``generate``, or ``"all"``: the prefill's logits at every
    position).

    **Returns:** a `Generation`.

    >>> g = generate(Network.gpt(11, 8, 8, 2, 2, batch=2), prompt=3, new=4)
    >>> g.tokens.shape, len(g.counts["decode"]), g.kv_tokens
    ((2, 4), 3, 6)
    >>> g = generate(Network.llama(11, 8, 8, 2, 4, n_kv_heads=2), prompt=3, new=4)
    >>> g.kv_tokens, [keys.shape for keys, values in g.cache]
    (6, [(1, 2, 6, 2), (1, 2, 6, 2)])
    """
    from complexa._inference import _ops_of
    from complexa.nn import OPS
    from complexa.nn.embedding import Embedding
    from complexa.reference import _check_fits, _initial_params
    from complexa.reference._runtime import CpuBackend, plan
    from complexa.reference.kinds import attention, llama
    from complexa.reference.kinds._jit import FORWARD

    P, G, seed = _checked(network, prompt, new, seed, logits)
    B = int(network.batch)
    _check_fits(network, int(network.tokens), 1)
    backend = CpuBackend()
    layout = plan(network)
    rng = np.random.default_rng(seed)
    params = backend.device(_initial_params(rng, layout))
    grads = backend.device(np.zeros(layout.n_params))
    first = network.layers[0]
    assert isinstance(first, Embedding)
    ids = rng.integers(0, int(first.num_embeddings), (B, P)).astype(np.int64)
    nodes = layout._all()
    attentions = [node for node in nodes if isinstance(node, (attention.AttentionNode, llama.AttentionNode))]
    positions = [node for node in nodes if isinstance(node, attention.PositionNode)]
    ops = _ops_of(network)
    head = layout.nodes[-1]

    def run(tokens: NDArray[np.int64], start: int) -> tuple[dict[str, int], NDArray[np.float64], float]:
        n = tokens.shape[1]
        rows = B * n
        for node in attentions:
            node.seq = n  # the prefill's probabilities are (B, H, P, P)
        for node in layout.nodes:
            node.allocate(backend, rows, params, grads)
        keep_all = logits == "all" and start == 0
        if not keep_all:
            head.allocate(backend, B, params, grads)  # the last position's logits only
        for position in positions:
            position.window = (start, n)
        counts = backend.counts()
        begin = time.perf_counter()
        x: Any = np.ascontiguousarray(tokens.reshape(rows))
        for node in layout.nodes[:-1]:
            x = node.forward(x, counts)
        if not keep_all:
            x = np.ascontiguousarray(x[n - 1 :: n])  # each sequence's last row: a copy, no arithmetic
        out = head.forward(x, counts)
        seconds = time.perf_counter() - begin
        measured = backend.host(counts)
        stray = [OPS[o] for o in range(len(OPS)) if OPS[o] not in ops and measured[:, o].any()]
        counted = {op: int(measured[FORWARD, OPS.index(op)]) for op in (*ops, *stray)}
        logits_out = backend.host(out).reshape(B, n, -1) if keep_all else backend.host(out)
        return counted, logits_out, seconds

    # Compile first (and discard): the seconds are the kernels', as measure's are.
    for _ in range(2):
        for node in attentions:
            node.start_cache(backend, B, P + G - 1)
        counts, first_logits, seconds = run(ids, 0)
    all_logits = [first_logits]
    times = [seconds]
    last = first_logits[:, -1] if first_logits.ndim == 3 else first_logits
    generated = [np.argmax(last, axis=1).astype(np.int64)]
    steps = []
    for step in range(G - 1):
        token = generated[-1].reshape(B, 1)
        counted, step_logits, seconds = run(token, P + step)
        steps.append(counted)
        all_logits.append(step_logits)
        times.append(seconds)
        generated.append(np.argmax(step_logits, axis=1).astype(np.int64))
    host = backend.host(params)
    state = {t.name: host[t.offset : t.offset + t.size].reshape(t.shape).copy() for t in layout.tensors}
    for alias, name in layout.aliases.items():
        state[alias] = state[name].copy()
    cache = [
        (backend.host(node.k_cache)[:, :, : node.cached].copy(), backend.host(node.v_cache)[:, :, : node.cached].copy())
        for node in attentions
    ]
    return Generation(
        network=network,
        seed=seed,
        logits_kept=logits,
        prompt=ids,
        tokens=np.stack(generated, axis=1),
        counts={"prefill": counts, "decode": steps},
        logits=all_logits,
        kv_elements=sum(int(keys.size + values.size) for keys, values in cache),
        kv_tokens=max(int(node.cached or 0) for node in attentions),
        state=state,
        seconds=times,
        cache=cache,
    )
