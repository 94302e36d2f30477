"""Llama's kinds measured: derive equals measure (the counting kernels of `complexa.reference.kinds.llama`) on every
phase and op and memory on every kind, for MHA, GQA, MQA, a sliding window, biases, a head_dim of its own, symbolic
sizes substituted, and small random Llamas; the kinds in any stack."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import Network, derive, measure, memory, nn
from complexa.reference._runtime import plan
from complexa.strategies import llamas


def llama(
    vocab: object, seq: object, d: object, layers: object, heads: object, d_ff: object, **options: object
) -> Network:
    return Network.llama(vocab, seq, d, layers, heads, d_ff=d_ff, **options)


def as_ints(counts: dict[str, dict[str, sympy.Expr]]) -> dict[str, dict[str, int]]:
    return {phase: {op: int(value) for op, value in ops.items()} for phase, ops in counts.items()}


def assert_derive_is_measure(network: Network, iterations: int = 1) -> None:
    m = measure(network, iterations=iterations)
    d = derive(network, iterations=iterations)
    assert as_ints(d.counts) == m.counts
    derived = memory(network)
    for name in ("parameters", "gradients", "activations", "deltas", "optimizer"):
        assert int(getattr(derived, name)) == m.allocated[name], name
    # The nodes' estimate before allocating (which measure's memory check uses) is what they allocate.
    allocated = dict(m.allocated)
    del allocated["optimizer"]
    assert plan(network).elements() == allocated


EXAMPLES = [
    # MHA; GQA; MQA; a window shorter than the sequence (GQA); Qwen2's biases on q, k and v; a bias on o_proj and a
    # head_dim of its own (H hd != d); one token; Adam over the steps; tied.
    llama(11, 5, 8, 2, 4, 12, batch=2),
    llama(11, 5, 8, 2, 4, 12, batch=2, n_kv_heads=2),
    llama(9, 4, 6, 1, 3, 5, batch=3, n_kv_heads=1),
    llama(11, 6, 8, 2, 4, 7, batch=2, n_kv_heads=2, window=3),
    llama(7, 3, 4, 1, 2, 6, batch=2, n_kv_heads=1, bias=True),
    llama(7, 4, 6, 2, 3, 4, batch=1, head_dim=4, o_bias=True, n_kv_heads=3, window=1),
    llama(5, 1, 4, 1, 2, 3, batch=2),
    llama(9, 4, 8, 1, 4, 6, batch=2, n_kv_heads=2, optimizer=nn.Adam(eps=1e-3)),
    llama(9, 3, 4, 2, 2, 3, batch=2, n_kv_heads=1, tied=True),  # the embedding's gradient adds to lm_head's
    # Mixtral: two of four experts; one of three; every one of three (top_k = n_experts); with a window and Adam.
    Network.mixtral(11, 4, 8, 2, 4, n_experts=4, top_k=2, n_kv_heads=2, d_ff=6, batch=2),
    Network.mixtral(7, 3, 4, 1, 2, n_experts=3, top_k=1, d_ff=5),
    Network.mixtral(7, 3, 4, 1, 2, n_experts=3, top_k=3, d_ff=5, batch=2),
    Network.mixtral(9, 5, 4, 1, 2, n_experts=2, top_k=1, d_ff=3, window=2, optimizer=nn.Adam(eps=1e-3)),
]


@pytest.mark.parametrize("network", EXAMPLES, ids=repr)
def test_derive_equals_measure_by_example(network: Network) -> None:
    assert_derive_is_measure(network, iterations=2)


@settings(max_examples=15, deadline=None)
@given(llamas(max_vocab=7, max_seq=5, max_layers=2, max_batch=3), st.integers(1, 2))
def test_derive_equals_measure(network: Network, iterations: int) -> None:
    assert_derive_is_measure(network, iterations)


def test_a_symbolic_llama_evaluates_to_the_measured_counts() -> None:
    symbolic = derive(
        llama("V", "T", "d", "L", "H", "f", batch="B", n_kv_heads="K", head_dim="h", window="W"), iterations="I"
    )
    values = {"V": 9, "T": 5, "d": 6, "L": 2, "H": 4, "f": 7, "B": 2, "K": 2, "h": 2, "W": 3, "I": 2}
    concrete = llama(9, 5, 6, 2, 4, 7, batch=2, n_kv_heads=2, head_dim=2, window=3)
    at = {sympy.Symbol(k, positive=True, integer=True): v for k, v in values.items()}
    measured = measure(concrete, iterations=2).counts
    for phase, ops in measured.items():
        for op, value in ops.items():
            assert symbolic.counts[phase][op].xreplace(at) == value, (phase, op)


@pytest.mark.parametrize(
    "network",
    [
        # First in the stack, nothing before them has parameters: no input gradient, no join.
        Network([nn.Attention(4, 2, 3, n_kv_heads=1), nn.Linear(4, 2)], batch=2),
        Network([nn.SwiGLU(3, 5), nn.RMSNorm(3), nn.Linear(3, 2)], batch=4),
        Network([nn.RMSNorm(3, eps=0.5), nn.Linear(3, 3), nn.SiLU(), nn.Linear(3, 2)], batch=3),
        # Unmasked attention after a layer with parameters; a Llama block in a plain stack.
        Network([nn.Linear(3, 4), nn.Attention(4, 2, 3, causal=False), nn.Linear(4, 2)], batch=2),
        Network([nn.Linear(3, 4), nn.LlamaBlock(4, 2, 2, 5, n_kv_heads=1), nn.Linear(4, 2)], batch=2, loss="mse"),
        # A mixture of experts first (no input gradient, no join), and after a layer with parameters.
        Network([nn.MoE(4, 3, 4, 2), nn.Linear(4, 2)], batch=3),
        Network([nn.Linear(2, 4), nn.MoE(4, 3, 3, 2), nn.RMSNorm(4), nn.Linear(4, 2)], batch=5, loss="cross_entropy"),
    ],
    ids=repr,
)
def test_the_kinds_in_any_stack(network: Network) -> None:
    assert_derive_is_measure(network, iterations=2)


def test_the_counts_are_the_rules_whatever_the_routing() -> None:
    # One token in two of four experts at a time, so that each seed's data leaves some expert idle (its gradient
    # exactly zero): the routings differ from seed to seed, the counts do not.
    network = Network.mixtral(13, 2, 4, 1, 2, n_experts=4, top_k=1, d_ff=3)
    derived = as_ints(derive(network).counts)
    idle = set()
    for seed in range(6):
        m = measure(network, seed=seed)
        assert m.counts == derived
        g = m.gradients["model.layers.0.mlp.experts.gate_up_proj"]
        idle.add(frozenset(e for e in range(4) if not g[e].any()))
    assert len(idle) > 1 and all(len(experts) >= 2 for experts in idle)
