"""GPT as nanoGPT writes it (`Network.gpt`) and its kinds in any stack: derive equals measure on every phase and op,
the symbolic and closed forms equal the concrete counts, the parameters are GPT-2's, and the numerics and torch
FLOPs equal PyTorch's (skipped without torch)."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import ComplexaError, Network, derive, flops, measure, memory, nn, params
from complexa.strategies import gpts


def as_ints(counts: dict[str, dict[str, sympy.Expr]]) -> dict[str, dict[str, int]]:
    return {phase: {op: int(value) for op, value in ops.items()} for phase, ops in counts.items()}


SMALL = Network.gpt(13, 4, 8, 2, 2, batch=2)


# --- derive == measure ---------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(gpts(), st.integers(1, 2))
def test_derive_equals_measure(network: Network, iterations: int) -> None:
    m = measure(network, iterations=iterations)
    d = derive(network, iterations=iterations)
    assert as_ints(d.counts) == m.counts
    by_layer = d.by_layer
    for phase, ops in d.counts.items():
        for op, value in ops.items():
            assert sum(int(row[phase][op]) for row in by_layer.values()) == int(value), (phase, op)
    derived = memory(network)
    for name in ("parameters", "gradients", "activations", "deltas", "optimizer"):
        assert int(getattr(derived, name)) == m.allocated[name], name


@pytest.mark.parametrize(
    "network",
    [
        # Every kernel path: several heads and layers, untied, unmasked, no bias, a d_ff of its own, batch > 1.
        Network.gpt(7, 5, 6, 3, 3, d_ff=5, batch=3, bias=False, tied=False, causal=False),
        Network.gpt(5, 1, 2, 1, 1),  # a sequence of one token: softmax over one score
        Network.gpt(9, 6, 4, 2, 4, batch=2, optimizer=nn.Adam(eps=1e-3)),  # head dimension 1
    ],
    ids=repr,
)
def test_derive_equals_measure_by_example(network: Network) -> None:
    assert as_ints(derive(network, iterations=2).counts) == measure(network, iterations=2).counts


def test_the_kinds_work_in_any_stack() -> None:
    # A GPT written as a plain stack of the same kinds (untied, with a Linear head of its own) counts as Network.gpt
    # does untied; the kinds accept symbols.
    layers = [
        nn.Embedding(11, 6),
        nn.PositionEmbedding(4, 6),
        nn.Block(6, 2, 4),
        nn.Block(6, 2, 4),
        nn.LayerNorm(6),
        nn.Linear(6, 11, bias=False),
    ]
    stack = Network(layers, batch=3, loss="cross_entropy")
    assert stack.seq == 4
    gpt = Network.gpt(11, 4, 6, 2, 2, batch=3, tied=False)
    assert derive(stack).counts == derive(gpt).counts
    assert as_ints(derive(stack).counts) == measure(stack).counts
    attention_only = Network([nn.Linear(3, 4), nn.CausalSelfAttention(4, 2, 5), nn.Linear(4, 2)], batch=2)
    assert as_ints(derive(attention_only).counts) == measure(attention_only).counts
    # A Block first: nothing before it has parameters, so it computes no input gradient, and its row counts only the
    # MLP branch's join backward.
    block_first = Network([nn.Block(4, 2, 3), nn.Linear(4, 2)], batch=2)
    assert as_ints(derive(block_first).counts) == measure(block_first).counts
    assert derive(block_first).by_layer["0"]["backward"]["add"] == 2 * 3 * 4


# --- symbols and closed forms --------------------------------------------------------------------------------------
def test_a_symbolic_gpt_evaluates_to_the_concrete_counts() -> None:
    symbolic = derive(Network.gpt("V", "T", "d", "L", "H", d_ff="f", batch="B"), iterations="I")
    values = {"V": 13, "T": 4, "d": 8, "L": 3, "H": 2, "f": 5, "B": 2, "I": 2}
    concrete = derive(Network.gpt(13, 4, 8, 3, 2, d_ff=5, batch=2), iterations=2)
    at = {sympy.Symbol(k, positive=True, integer=True): v for k, v in values.items()}
    for phase, ops in concrete.counts.items():
        for op, value in ops.items():
            assert symbolic.counts[phase][op].xreplace(at) == value, (phase, op)


def test_a_symbolic_repeat_first_is_its_copies() -> None:
    # Its first copy computes no input gradient (nothing before it has parameters), the other L - 1 do.
    L = sympy.Symbol("L", positive=True, integer=True)
    symbolic = derive(Network([nn.Repeat(nn.Linear(3, 3), "L"), nn.Tanh()], batch=2))
    assert set(symbolic.by_layer) == {"0", "0.0", "0.{i}", "1", "loss"}
    for depth in (1, 2, 5):
        concrete = derive(Network([nn.Repeat(nn.Linear(3, 3), depth), nn.Tanh()], batch=2)).counts
        assert {
            p: {o: v.xreplace({L: depth}) for o, v in ops.items()} for p, ops in symbolic.counts.items()
        } == concrete


def test_symbolic_depth_is_a_closed_form_in_it() -> None:
    d = derive(Network.gpt(13, 4, 8, "L", 2, batch=2))
    L = sympy.Symbol("L", positive=True, integer=True)
    for depth in (1, 2, 5):
        concrete = derive(Network.gpt(13, 4, 8, depth, 2, batch=2)).counts
        assert {p: {o: v.xreplace({L: depth}) for o, v in ops.items()} for p, ops in d.counts.items()} == concrete
    # Its block rows are templates: "{i}" in the path, the total over the L blocks.
    rows = d.by_layer
    assert "transformer.h.{i}.attn" in rows and "transformer.h.0.attn" not in rows
    assert rows["transformer.h.{i}.attn"]["forward"]["exp"] == 2 * 2 * 4 * 4 * L
    listed = derive(Network.gpt(13, 4, 8, 3, 2, batch=2)).by_layer
    assert [p for p in listed if p.startswith("transformer.h.2")] == [
        "transformer.h.2",
        "transformer.h.2.ln_1",
        "transformer.h.2.attn",
        "transformer.h.2.attn.c_attn",
        "transformer.h.2.attn.c_proj",
        "transformer.h.2.ln_2",
        "transformer.h.2.mlp",
        "transformer.h.2.mlp.c_fc",
        "transformer.h.2.mlp.gelu",
        "transformer.h.2.mlp.c_proj",
    ]


def test_attention_by_hand() -> None:
    # One sample of T = 3 tokens, d = 2, one head, causal: per row S is T d mul and T (d - 1) add, the scale T mul,
    # the mask T cmp, the softmax (T - 1) cmp, 2T - 1 add, T exp and T div, P v T d mul and (T - 1) d add.
    rows = derive(Network([nn.Linear(2, 2), nn.CausalSelfAttention(2, 1, 3)])).by_layer
    assert rows["1"]["forward"] == {
        "mul": 3 * (6 + 3 + 6),
        "add": 3 * (3 + 5 + 4),
        "div": 9,
        "exp": 9,
        "cmp": 3 * (3 + 2),
        "act": 0,
        "act_grad": 0,
    }
    # Backward: dP, dv, dq and dk T d mul each, the softmax's 2T mul and the scale's T per row.
    assert rows["1"]["backward"]["mul"] == 3 * (4 * 6 + 3 * 3)


def test_the_torch_convention_has_the_attention_products() -> None:
    T, d, L, V, B = sympy.symbols("T d L V B", positive=True, integer=True)
    network = Network.gpt("V", "T", "d", "L", "H", batch="B")
    assert (
        sympy.expand(
            flops(network, convention="torch") - (24 * B * T * L * d**2 + 4 * B * L * T**2 * d + 2 * B * T * V * d)
        )
        == 0
    )


# --- parameters ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("d_model", "n_layers", "n_heads", "expected"),
    [
        (768, 12, 12, 124_439_808),
        (1024, 24, 16, 354_823_168),
        (1280, 36, 20, 774_030_080),
        (1600, 48, 25, 1_557_611_200),
    ],
)
def test_the_gpt2_family(d_model: int, n_layers: int, n_heads: int, expected: int) -> None:
    # Hugging Face's gpt2, gpt2-medium, gpt2-large and gpt2-xl: sum(p.numel() for p in model.parameters()).
    assert params(Network.gpt(50257, 1024, d_model, n_layers, n_heads)) == expected
    untied = params(Network.gpt(50257, 1024, d_model, n_layers, n_heads, tied=False))
    assert untied == expected + 50257 * d_model


def test_the_symbolic_parameter_count() -> None:
    V, T, d, L = sympy.symbols("V T d L", positive=True, integer=True)
    assert (
        sympy.expand(params(Network.gpt("V", "T", "d", "L", "H")) - (V * d + T * d + L * (12 * d**2 + 13 * d) + 2 * d))
        == 0
    )


# --- the network's spec --------------------------------------------------------------------------------------------
def test_names_repr_and_xreplace() -> None:
    network = Network.gpt("V", "T", "d", "L", "H", batch="B", tied=False)
    assert repr(network) == "Network.gpt(V, T, d, L, H, tied=False, batch=B)"
    concrete = network.xreplace({"V": 13, "T": 4, "d": 8, "L": 2, "H": 2, "B": 2})
    assert concrete == Network.gpt(13, 4, 8, 2, 2, batch=2, tied=False)
    assert concrete.tokens == 8 and concrete.seq == 4
    names = sorted(measure(SMALL).state_before)
    assert names[:2] == ["lm_head.weight", "transformer.h.0.attn.c_attn.bias"]
    assert "transformer.wte.weight" in names and "transformer.wpe.weight" in names
    m = measure(SMALL)
    assert (m.state_before["lm_head.weight"] == m.state_before["transformer.wte.weight"]).all()
    assert "lm_head.weight" not in m.gradients  # named_parameters() names a tied tensor once
    assert m.inputs.shape == (2, 4) and m.targets.shape == (2, 4) and m.outputs.shape == (2, 4, 13)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Network.gpt(10, 4, 6, 1, 4), r"d_model must be a multiple of n_heads"),
        (lambda: Network.gpt(0, 4, 8, 1, 2), r"vocab"),
        (lambda: Network.gpt(10, 4, 8, 1, 2, tied="yes"), r"tied"),
        (lambda: Network.gpt(10, 4, 8, "L + ", 2), r"n_layers"),
        (lambda: Network([nn.Linear(2, 2), nn.Embedding(3, 2)]), r"must be the first layer"),
        (lambda: Network([nn.PositionEmbedding(3, 2)]), r"cannot start with a PositionEmbedding"),
        (lambda: Network([nn.Embedding(3, 2), nn.PositionEmbedding(3, 4)]), r"adds to 4 features, but layer 0"),
        (
            lambda: Network([nn.Embedding(3, 4), nn.PositionEmbedding(3, 4), nn.CausalSelfAttention(4, 2, 5)]),
            r"works on sequences of 5 tokens, but the network's seq is 3",
        ),
        (lambda: Network([nn.Embedding(3, 4), nn.Block(4, 2, 3)], seq=2), r"sequences of 3 tokens.*seq is 2"),
        (lambda: Network([nn.Linear(2, 2)], seq=0), r"seq"),
        (lambda: Network([2, 2], seq=3), r"seq = 3: applies to a network given as layers"),
        (lambda: nn.Repeat(nn.Linear(2, 3), 2).output(None, "0"), r"must keep the width"),
        (lambda: nn.Repeat("Block", 2), r"must be a layer"),
        (lambda: Network([nn.Linear(3, 4), nn.CausalSelfAttention(5, 1, 2)]), r"takes 5 features, but layer 0"),
    ],
)
def test_bad_input_is_a_one_line_error(build: object, message: str) -> None:
    with pytest.raises(ComplexaError, match=message) as info:
        build()  # type: ignore[operator]
    assert "\n" not in str(info.value)


def test_more_blocks_than_are_listed() -> None:
    # Past MAX_LISTED_REPEATS copies derive walks one block as a template ("{i}", times L); measure trains every one.
    from complexa.nn._stack import MAX_LISTED_REPEATS

    network = Network.gpt(5, 2, 2, MAX_LISTED_REPEATS + 3, 1)
    d = derive(network)
    assert "transformer.h.{i}.attn" in d.by_layer
    assert as_ints(d.counts) == measure(network).counts
