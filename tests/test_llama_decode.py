"""The Llama kinds generate with a real KV cache (issue 22, item 3, measured): `complexa.reference.generate` runs
the counting kernels of `complexa.reference.kinds.llama` over a prefill and each decode step, and what they count
equals `derive(..., phase="prefill")` and `derive(..., phase="decode", cache=C)` on every op, for MHA, GQA and MQA,
Qwen2's biases, Mistral's sliding window (prompts inside and past it), Mixtral's experts, and small random llamas;
the caches they keep are the derived KV cache. Against transformers: tests/test_llama_decode_torch.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import complexa
from complexa import Network, derive, nn
from complexa.reference import generate
from complexa.strategies import llamas

CASES = [
    ("llama, MHA", Network.llama(13, 6, 8, 2, 4, d_ff=10, batch=2), 3, 4),
    ("llama, GQA", Network.llama(13, 12, 8, 2, 4, n_kv_heads=2, d_ff=6, batch=2), 4, 4),
    ("llama, MQA, head_dim", Network.llama(11, 5, 12, 1, 3, n_kv_heads=1, head_dim=2, d_ff=7, batch=3), 2, 5),
    ("qwen2, biases", Network.llama(11, 4, 8, 1, 4, n_kv_heads=2, d_ff=6, bias=True, o_bias=True), 3, 3),
    ("mistral, a prompt past the window", Network.llama(13, 7, 8, 2, 4, n_kv_heads=2, d_ff=9, window=3), 5, 4),
    ("mistral, into and past the window", Network.llama(13, 7, 8, 1, 2, d_ff=6, batch=2, window=4), 1, 6),
    ("mistral, a window of two", Network.llama(9, 4, 4, 1, 2, d_ff=3, window=2), 2, 3),
    # Qwen2's layer_types: a full layer and a windowed one, each keeping its own cache.
    ("qwen2, a window on the second layer", Network.llama(9, 5, 8, 2, 4, n_kv_heads=2, d_ff=5, window=[None, 3]), 4, 4),
    ("llama, mlp_bias", Network.llama(9, 4, 8, 1, 2, d_ff=5, mlp_bias=True, batch=2), 3, 3),
    ("mixtral", Network.mixtral(11, 5, 8, 2, 4, n_kv_heads=2, n_experts=4, top_k=2, d_ff=6, batch=2), 3, 4),
    ("mixtral, window", Network.mixtral(9, 4, 4, 1, 2, n_kv_heads=1, n_experts=3, top_k=1, d_ff=5, window=2), 3, 3),
    ("beyond the positions it was made for", Network.llama(9, 2, 4, 1, 2, n_kv_heads=1, d_ff=3, batch=2), 3, 4),
]


def assert_measured_is_derived(network: Network, prompt: int, new: int, logits: str = "last") -> None:
    g = generate(network, prompt=prompt, new=new, logits=logits)
    derived = derive(network, phase="prefill", prompt=prompt, logits=logits)
    assert g.counts["prefill"] == derived.evaluate()["prefill"]
    assert len(g.counts["decode"]) == new - 1
    for C, measured in enumerate(g.counts["decode"], start=prompt):
        assert measured == derive(network, phase="decode", cache=C).evaluate()["decode"], C
    whole = complexa.generate(network, prompt=prompt, new=new)
    summed = whole.evaluate()["decode"]
    assert summed == {op: sum(step[op] for step in g.counts["decode"]) for op in summed}
    # The caches as kept at the end: the derived tokens and elements, each layer's (B, K, tokens, hd).
    assert g.kv_tokens == int(whole.kv_tokens)
    assert g.kv_elements == int(whole.kv_elements)
    for (keys, values), window in zip(g.cache, _windows(network)):
        assert keys.shape == values.shape
        kept = prompt + new - 1 if window is None else min(prompt + new - 1, window - 1)
        assert keys.shape[:3] == (int(network.batch), keys.shape[1], kept)
    assert g.kv_tokens == max(keys.shape[2] for keys, _ in g.cache)


def _windows(network: Network) -> list[int | None]:
    """Each attention layer's window, in order."""
    from complexa.nn._stack import rows_of

    return [
        None if row.layer.window is None else int(row.layer.window)
        for row in rows_of(network)
        if type(row.layer).__name__ == "Attention"
    ]


@pytest.mark.parametrize(("network", "prompt", "new"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_prefill_and_every_decode_step_are_measured(network: Network, prompt: int, new: int) -> None:
    assert_measured_is_derived(network, prompt, new)


def test_the_prefill_with_every_logit_is_measured() -> None:
    assert_measured_is_derived(CASES[1][1], 4, 2, logits="all")


def test_a_stack_of_the_kinds_generates_too() -> None:
    # Not a Network.llama: an embedding, an attention with a window, Mixtral's experts, RMSNorm and a head.
    network = Network(
        [
            nn.Embedding(7, 4),
            nn.Residual(nn.RMSNorm(4), nn.Attention(4, 2, 3, n_kv_heads=1, window=2)),
            nn.Residual(nn.RMSNorm(4), nn.MoE(4, 3, 3, 2)),
            nn.RMSNorm(4),
            nn.Linear(4, 7, bias=False),
        ],
        batch=2,
        loss="cross_entropy",
    )
    assert_measured_is_derived(network, 3, 3)


@settings(max_examples=10, deadline=None)
@given(llamas(max_seq=5, max_layers=2, optimizers=("sgd",)), st.data())
def test_any_llama_generates_as_derived(network: Network, data: st.DataObject) -> None:
    # GQA, MQA, biases, experts, a sliding window, tied or not, drawn; prompts and generations up to past seq.
    prompt = data.draw(st.integers(1, 6), "prompt")
    new = data.draw(st.integers(1, 4), "new")
    assert_measured_is_derived(network, prompt, new)
