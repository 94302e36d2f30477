"""Llama's kinds measured: derive equals measure (the counting kernels of `complexa.reference.kinds.llama`) on every
phase and op and memory on every kind, for MHA, GQA, MQA, a sliding window, biases, a head_dim of its own, symbolic
sizes substituted, and small random Llamas; the kinds in any stack."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import Network, derive, measure, memory, nn


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
]


@pytest.mark.parametrize("network", EXAMPLES, ids=repr)
def test_derive_equals_measure_by_example(network: Network) -> None:
    assert_derive_is_measure(network, iterations=2)


@st.composite
def llamas(draw: st.DrawFn) -> Network:
    kv_heads = draw(st.integers(1, 3))
    heads = kv_heads * draw(st.integers(1, 3))
    head_dim = 2 * draw(st.integers(1, 2))
    seq = draw(st.integers(1, 5))
    window = draw(st.one_of(st.none(), st.integers(1, seq)))
    options = {"n_kv_heads": kv_heads, "window": window, "bias": draw(st.booleans()), "tied": draw(st.booleans())}
    d_model = draw(st.integers(1, 6)) if draw(st.booleans()) else heads * head_dim
    if d_model != heads * head_dim:
        options["head_dim"] = head_dim
    vocab, layers, d_ff, batch = (draw(st.integers(1, n)) for n in (7, 2, 6, 3))
    return llama(vocab, seq, d_model, layers, heads, d_ff, batch=batch, **options)


@settings(max_examples=15, deadline=None)
@given(llamas(), st.integers(1, 2))
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
    ],
    ids=repr,
)
def test_the_kinds_in_any_stack(network: Network) -> None:
    assert_derive_is_measure(network, iterations=2)
