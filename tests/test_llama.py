"""The Llama-style kinds and networks (`Network.llama`, `Network.mixtral`, `Network.from_config`) on the derivation
side: counts by hand for small cases, which layers compute their input's gradient, symbolic forms equal to the
concrete counts, the published parameter counts, and the configs. tests/test_llama_torch.py holds the checks against
transformers' own models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings

from complexa import Network, big_o, derive, flops, nn, params
from complexa.strategies import llamas


def ops(**given: int) -> dict[str, int]:
    """The counts given, the others zero."""
    return given


def nonzero(counts: dict[str, sympy.Expr]) -> dict[str, int]:
    return {op: int(v) for op, v in counts.items() if v != 0}


def sym(names: str) -> tuple[sympy.Symbol, ...]:
    return sympy.symbols(names, positive=True, integer=True)


# --- counts by hand ------------------------------------------------------------------------------------------------
def test_rmsnorm_by_hand() -> None:
    # Two rows of n = 3: per row the mean square 3 mul, 2 add, 1 div; 1 / sqrt(ms + eps) 1 add, 1 sqrt, 1 div;
    # x rstd 3 mul; w xhat 3 mul. Backward: g = dy w 3 mul, sum g xhat 3 mul 2 add, / n 1 div, (g - xhat m) rstd
    # 6 mul 3 add; dw over the 2 rows 6 mul, 3 add.
    rows = derive(Network([nn.Linear(3, 3), nn.RMSNorm(3)], batch=2)).by_layer
    assert nonzero(rows["1"]["forward"]) == ops(mul=18, add=6, div=4, sqrt=2)
    assert nonzero(rows["1"]["backward"]) == ops(mul=24 + 6, add=10 + 3, div=2)
    first = derive(Network([nn.RMSNorm(3)], batch=2)).by_layer["0"]["backward"]
    assert nonzero(first) == ops(mul=6, add=3)  # nothing before it has parameters: dw only


def test_attention_by_hand() -> None:
    # One head of hd = 2, T = 3, one sample (3 rows). Per row: RoPE on q and k (4 elements) 8 mul, 4 add; S 6 mul,
    # 3 add; the scale 3 mul; the mask 3 add; the softmax 2 cmp, 5 add, 3 exp, 3 div; P v 6 mul, 4 add.
    rows = derive(Network([nn.Linear(2, 2), nn.Attention(2, 1, 3)])).by_layer
    assert nonzero(rows["1"]["forward"]) == ops(mul=3 * 23, add=3 * 19, div=9, exp=9, cmp=6)
    unmasked = derive(Network([nn.Linear(2, 2), nn.Attention(2, 1, 3, causal=False)])).by_layer
    assert unmasked["1"]["forward"]["add"] == 3 * 16
    # Backward per row: dP 6 mul 3 add; dv 6 mul 4 add; the softmax's 6 mul 5 add; the scale 3 mul; dq 6 mul
    # 4 add; dk 6 mul 4 add; RoPE's 8 mul 4 add; the join of q's, k's and v's input gradients 4 add.
    assert nonzero(rows["1"]["backward"]) == ops(mul=3 * 41, add=3 * 28)
    first = derive(Network([nn.Attention(2, 1, 3), nn.Linear(2, 2)])).by_layer  # no input gradient, no join
    assert nonzero(first["0"]["backward"]) == ops(mul=3 * 41, add=3 * 24)


def test_grouped_query_attention_by_hand() -> None:
    # H = 2 query heads sharing K = 1 key/value head, hd = 2 (Dq = 4, Dkv = 2), T = 2, one sample (2 rows). Per row:
    # RoPE on 6 elements 12 mul 6 add; S 8 mul 4 add; scale 4 mul; mask 4 add; two softmaxes of 2: 2 cmp, 6 add,
    # 4 exp, 4 div; P v 8 mul 4 add.
    rows = derive(Network([nn.Linear(4, 4), nn.Attention(4, 2, 2, n_kv_heads=1)])).by_layer
    assert nonzero(rows["1"]["forward"]) == ops(mul=2 * 32, add=2 * 24, div=8, exp=8, cmp=4)
    # Backward per row: dP 8 mul 4 add; dv summed over both heads 8 mul 6 add; the softmaxes' 8 mul 6 add; the
    # scale 4 mul; dq 8 mul 4 add; dk summed over both heads 8 mul 6 add; RoPE's 12 mul 6 add; the join of the
    # three projections' input gradients 8 add.
    assert nonzero(rows["1"]["backward"]) == ops(mul=2 * 56, add=2 * 40)
    # The projections: k and v are d -> K hd.
    assert nonzero(rows["1.k_proj"]["forward"]) == ops(mul=2 * 8, add=2 * 6)


def test_a_window_changes_what_is_masked_not_the_count() -> None:
    # transformers' eager attention computes every score and adds the (windowed) mask to each.
    full = derive(Network([nn.Linear(4, 4), nn.Attention(4, 2, 5)], batch=2)).counts
    windowed = derive(Network([nn.Linear(4, 4), nn.Attention(4, 2, 5, window=2)], batch=2)).counts
    assert full == windowed


def test_swiglu_by_hand_and_its_parallel_projections() -> None:
    # First in the stack: nothing before has parameters, so gate_proj and up_proj compute no input gradient, the
    # MLP's own row no join; silu(g) * u 3 mul per row forward, d silu and du 6 mul per row backward.
    rows = derive(Network([nn.SwiGLU(2, 3)], batch=2)).by_layer
    assert nonzero(rows["0"]["forward"]) == ops(mul=6) and nonzero(rows["0"]["backward"]) == ops(mul=12)
    assert (
        nonzero(rows["0.gate_proj"]["backward"]) == nonzero(rows["0.up_proj"]["backward"]) == ops(mul=12, add=6)
    )  # dW only
    assert nonzero(rows["0.act_fn"]["backward"]) == ops(mul=6, act_grad=6)
    # After a layer with parameters: both projections compute dx (2 x 2 x 3 mul, 2 x 2 x 2 add), joined (4 add).
    rows = derive(Network([nn.Linear(2, 2), nn.SwiGLU(2, 3)], batch=2)).by_layer
    assert nonzero(rows["1.up_proj"]["backward"]) == ops(mul=12 + 12, add=6 + 8)
    assert nonzero(rows["1"]["backward"]) == ops(mul=12, add=4)


def test_an_attention_first_computes_no_input_gradient_in_its_projections() -> None:
    rows = derive(Network([nn.Attention(4, 2, 3), nn.Linear(4, 2)])).by_layer
    for name in ("q_proj", "k_proj", "v_proj"):
        assert rows[f"0.{name}"]["backward"]["mul"] == 3 * 4 * 4, name  # dW only, 3 rows
    assert rows["0.o_proj"]["backward"]["mul"] == 2 * 3 * 4 * 4  # dW and dx
    # In a block, the attention comes after input_layernorm, whose weight's gradient needs the projections' dx.
    block = derive(Network([nn.LlamaBlock(4, 2, 3, 5), nn.Linear(4, 2)])).by_layer
    assert block["0.self_attn.q_proj"]["backward"]["mul"] == 2 * 3 * 4 * 4
    assert block["0.input_layernorm"]["backward"]["mul"] == 3 * 4  # its dw only


def test_moe_by_hand() -> None:
    # d = 2, d_ff = 1, E = 2 experts, top_k = 1, one row, after a Linear. Router: logits 4 mul 2 add; softmax 1 cmp,
    # 3 add, 2 exp, 2 div; top-1 of 2, 1 cmp; renormalise over 1, 1 div. Experts: gate_up 4 mul 2 add; silu 1 act;
    # silu(g) u 1 mul; down 2 mul; times the weight 2 mul.
    rows = derive(Network([nn.Linear(2, 2), nn.MoE(2, 1, 2, 1)])).by_layer
    assert nonzero(rows["1.gate"]["forward"]) == ops(mul=4, add=5, div=3, exp=2, cmp=2)
    assert nonzero(rows["1.experts"]["forward"]) == ops(mul=9, add=2, act=1)
    # Router backward: renormalisation 1 mul 1 add 1 div; softmax 4 mul 3 add; dx 4 mul 2 add; dW 4 mul.
    assert nonzero(rows["1.gate"]["backward"]) == ops(mul=13, add=6, div=1)
    # Experts backward: do 2 mul; dw 2 mul 1 add; dh 2 mul 1 add; d silu, du 2 mul; silu' 1 act_grad 1 mul;
    # dx 4 mul 2 add; dW_gu, dW_down into zeros: 6 mul 6 add.
    assert nonzero(rows["1.experts"]["backward"]) == ops(mul=19, add=10, act_grad=1)
    assert nonzero(rows["1"]["backward"]) == ops(add=2)  # the join of the two input gradients
    assert nonzero(rows["1"]["forward"]) == ops()
    # The top 3 of 4 scores: 3, then 2, then 1 comparisons; with the softmax's 3, 9 per row.
    top3 = derive(Network([nn.Linear(2, 2), nn.MoE(2, 1, 4, 3)])).by_layer["1.gate"]["forward"]
    assert top3["cmp"] == 9 and top3["div"] == 4 + 3


def test_one_expert_of_one_is_a_swiglu_and_a_weight() -> None:
    # An MoE routing every token to its single expert does a SwiGLU's work, plus the weighting by the router (d mul
    # forward; do and dw backward) and the gradients' first additions into zero.
    R, d, f = 6, 4, 5
    moe = derive(Network([nn.Linear(d, d), nn.MoE(d, f, 1, 1)], batch=R)).by_layer
    mlp = derive(Network([nn.Linear(d, d), nn.SwiGLU(d, f)], batch=R)).by_layer
    dense = [mlp[f"1.{name}"] for name in ("gate_proj", "up_proj", "act_fn", "down_proj")] + [mlp["1"]]
    for op in ("mul", "add", "act"):
        assert moe["1.experts"]["forward"][op] == sum(row["forward"][op] for row in dense) + (
            R * d if op == "mul" else 0
        )
    backward = {op: sum(row["backward"][op] for row in dense) for op in ("mul", "add", "act_grad")}
    assert moe["1.experts"]["backward"]["mul"] == backward["mul"] + 2 * R * d
    # dw is a dot product (d - 1 add); the SwiGLU's join of dx_gate and dx_up is the experts' one gate_up product;
    # the three weights' gradients start from zero (3 f d add).
    assert moe["1.experts"]["backward"]["add"] == backward["add"] + R * (d - 1) + 3 * f * d
    assert moe["1.experts"]["backward"]["act_grad"] == backward["act_grad"]


def test_routed_experts_count_per_token_times_top_k() -> None:
    E, k = sym("E k")
    network = Network.mixtral(11, 4, 8, 2, 2, n_experts="E", top_k="k", d_ff=6, batch=3)
    experts = derive(network).by_layer["model.layers.0.mlp.experts"]
    # The computing is independent of E (the update is not: E experts' weights); in k, the forward's work is
    # linear: 2 routed pairs per token carry twice one's.
    assert all(
        E not in sympy.sympify(v).free_symbols for phase in ("forward", "backward") for v in experts[phase].values()
    )
    assert E in experts["update"]["mul"].free_symbols
    one = {op: v.xreplace({k: 1}) for op, v in experts["forward"].items()}
    two = {op: v.xreplace({k: 2}) for op, v in experts["forward"].items()}
    combine = 12 * 8  # the sum of the 2 experts' outputs: d add per token, for 12 tokens
    assert two["mul"] == 2 * one["mul"] and two["add"] == 2 * one["add"] + combine
    concrete = derive(Network.mixtral(11, 4, 8, 2, 2, n_experts=5, top_k=3, d_ff=6, batch=3)).counts
    at = {s: v for s, v in zip(sym("E k"), (5, 3))}
    assert {p: {o: v.xreplace(at) for o, v in c.items()} for p, c in derive(network).counts.items()} == concrete


# --- symbols, closed forms, the torch convention --------------------------------------------------------------------
def test_a_symbolic_llama_evaluates_to_the_concrete_counts() -> None:
    network = Network.mixtral("V", "T", "d", "L", "H", n_kv_heads="K", head_dim="h", d_ff="f", n_experts="E",
                              top_k="k", batch="B", window="W")  # fmt: skip
    values = {"V": 13, "T": 5, "d": 6, "L": 3, "H": 4, "K": 2, "h": 2, "f": 7, "E": 3, "k": 2, "B": 2, "W": 2}
    concrete = Network.mixtral(13, 5, 6, 3, 4, n_kv_heads=2, head_dim=2, d_ff=7, n_experts=3, top_k=2, batch=2,
                               window=2)  # fmt: skip
    assert network.xreplace(values) == concrete
    at = {sympy.Symbol(k, positive=True, integer=True): v for k, v in values.items()}
    symbolic, exact = derive(network, iterations="I"), derive(concrete, iterations=2)
    at[sympy.Symbol("I", positive=True, integer=True)] = 2
    for phase, by_op in exact.counts.items():
        for op, value in by_op.items():
            assert symbolic.counts[phase][op].xreplace(at) == value, (phase, op)
    for convention in ("torch", "fvcore"):
        assert flops(network, convention=convention).xreplace(at) == flops(concrete, convention=convention)
    assert flops(network, convention="torch", phase="training").xreplace(at) == flops(
        concrete, convention="torch", phase="training"
    )
    assert params(network).xreplace(at) == params(concrete)


def test_symbolic_depth_is_a_closed_form_with_template_rows() -> None:
    (L,) = sym("L,")
    d = derive(Network.llama(13, 4, 8, "L", 2, n_kv_heads=1, d_ff=6, batch=2))
    for depth in (1, 2, 4):
        concrete = derive(Network.llama(13, 4, 8, depth, 2, n_kv_heads=1, d_ff=6, batch=2)).counts
        assert {p: {o: v.xreplace({L: depth}) for o, v in c.items()} for p, c in d.counts.items()} == concrete
    assert "model.layers.{i}.self_attn.k_proj" in d.by_layer
    assert "model.layers.{i}.mlp.act_fn" in d.by_layer
    listed = derive(Network.llama(13, 4, 8, 2, 2, d_ff=6)).by_layer
    assert [p for p in listed if p.startswith("model.layers.1")] == [
        "model.layers.1",
        "model.layers.1.input_layernorm",
        "model.layers.1.self_attn",
        "model.layers.1.self_attn.q_proj",
        "model.layers.1.self_attn.k_proj",
        "model.layers.1.self_attn.v_proj",
        "model.layers.1.self_attn.o_proj",
        "model.layers.1.post_attention_layernorm",
        "model.layers.1.mlp",
        "model.layers.1.mlp.gate_proj",
        "model.layers.1.mlp.up_proj",
        "model.layers.1.mlp.act_fn",
        "model.layers.1.mlp.down_proj",
    ]


def test_the_torch_convention_of_a_llama() -> None:
    # Per token: q and o 2 d Hh each, k and v 2 d Kh each, the three MLP products 2 d f each, the head 2 d V (times
    # 2, a FLOP being a multiply and an add); per token and layer the two attention products 2 T Hh each.
    V, T, H, K, h, L, f, B = sym("V T H K h L f B")
    network = Network.llama("V", "T", "H*h", "L", "H", n_kv_heads="K", d_ff="f", batch="B")
    d = H * h
    expected = 2 * B * T * (L * (2 * d * H * h + 2 * d * K * h + 3 * d * f) + V * d) + 4 * B * L * T**2 * H * h
    assert sympy.expand(flops(network, convention="torch") - expected) == 0
    # Training: 3 times the forward, less the embedding-free first layer's nothing: every product has an input
    # gradient (the embedding before it has parameters).
    assert sympy.expand(flops(network, convention="torch", phase="training") - 3 * expected) == 0


def test_a_symbolic_llama_derives_and_takes_its_big_o() -> None:
    network = Network.llama("V", "T", "H*h", "L", "H", n_kv_heads="K", d_ff="f", batch="B")
    V, T, H, K, h, L, f, B = sym("V T H K h L f B")
    order = big_o(flops(network, phase="training"))
    assert order == sympy.Order(
        B * L * T * H**2 * h**2 + B * L * T * H * K * h**2 + B * L * T**2 * H * h + B * L * T * H * h * f
        + B * T * V * H * h,
        *((s, sympy.oo) for s in (B, H, K, L, T, V, f, h)),
    )  # fmt: skip


# --- parameters and configs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("gpt2", 124_439_808),
        ("llama-2-7b", 6_738_415_616),
        ("llama-3-8b", 8_030_261_248),
        ("mistral-7b", 7_241_732_096),
        ("qwen2-7b", 7_615_616_512),
        ("mixtral-8x7b", 46_702_792_704),
    ],
)
def test_the_shipped_configs_have_the_published_parameter_counts(name: str, published: int) -> None:
    # The model cards' counts (and transformers', tests/test_llama_torch.py): the dict, the file and the name alike.
    network = Network.from_config(name)
    assert params(network) == published
    path = Path(__file__).parent.parent / "complexa" / "configs" / f"{name}.json"
    assert Network.from_config(path) == network == Network.from_config(str(path))
    assert Network.from_config(json.loads(path.read_text())) == network


def test_the_symbolic_parameter_count() -> None:
    V, H, K, h, L, f = sym("V H K h L f")
    network = Network.llama("V", "T", "H*h", "L", "H", n_kv_heads="K", d_ff="f")
    d = H * h
    assert sympy.expand(params(network) - (2 * V * d + L * (2 * d * d + 2 * d * K * h + 3 * d * f + 2 * d) + d)) == 0
    tied = Network.llama("V", "T", "H*h", "L", "H", n_kv_heads="K", d_ff="f", tied=True)
    assert sympy.expand(params(network) - params(tied) - V * d) == 0


def test_from_config_options() -> None:
    llama3 = Network.from_config("Llama-3-8B", seq=2048, batch=4)
    assert llama3.seq == 2048 and llama3.batch == 4 and llama3.llama_config["rope_theta"] == 500000.0
    assert Network.from_config("mistral-7b-v0.1").llama_config["window"] == 4096
    assert Network.from_config("gpt2") == Network.gpt(50257, 1024, 768, 12, 12)
    qwen = Network.from_config("qwen2-7b").llama_config
    assert qwen["bias"] and not qwen["o_bias"] and qwen["window"] is None and qwen["eps"] == 1e-6
    # Fields left out mean what transformers' config classes make of them.
    small = {"vocab_size": 11, "hidden_size": 8, "intermediate_size": 6, "num_hidden_layers": 1}
    small["hidden_size"] = 16
    mistral = Network.from_config({"model_type": "mistral", "num_attention_heads": 8, **small}).llama_config
    assert (mistral["n_kv_heads"], mistral["window"], mistral["seq"]) == (8, 4096, 131072)
    llama = Network.from_config({"model_type": "llama", "num_attention_heads": 2, **small})
    assert llama.seq == 2048 and llama.llama_config["n_kv_heads"] is None


def test_repr_and_xreplace() -> None:
    network = Network.llama("V", "T", "H*h", "L", "H", n_kv_heads="K", d_ff="f", batch="B", tied=True, window="W")
    assert repr(network) == "Network.llama(V, T, H*h, L, H, n_kv_heads=K, d_ff=f, tied=True, window=W, batch=B)"
    concrete = network.xreplace({"V": 13, "T": 4, "H": 2, "h": 2, "L": 2, "K": 1, "f": 6, "B": 2, "W": 3})
    assert concrete == Network.llama(13, 4, 4, 2, 2, n_kv_heads=1, d_ff=6, batch=2, tied=True, window=3)
    mixtral = "Network.mixtral(32000, 32768, 4096, 32, 32, n_kv_heads=8, d_ff=14336)"
    assert repr(Network.from_config("mixtral-8x7b")) == mixtral
    assert repr(Network.llama(32000, 4096, 4096, 32, 32)) == "Network.llama(32000, 4096, 4096, 32, 32)"  # d_ff 11008
    assert concrete.ties == {"lm_head": "model.embed_tokens"}


# --- the command ---------------------------------------------------------------------------------------------------
def test_derive_config_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from test_cli import SCHEMAS, run, validate

    status, out, err = run(capsys, "derive", "--config", "mixtral-8x7b", "--seq", "T", "--format", "json")
    assert (status, err) == (0, "")
    doc = json.loads(out)
    validate(doc, SCHEMAS["derive.json"], "derive.json")
    assert doc["network"]["llama"]["n_experts"] == 8 and doc["network"]["seq"] == "T"
    assert doc["network"]["layers"][1]["layer"]["kind"] == "LlamaBlock"
    d = derive(Network.from_config("mixtral-8x7b", seq="T"))
    assert doc["counts"]["forward"]["exp"]["value"] == str(d.counts["forward"]["exp"])
    status, out, err = run(capsys, "derive", "--config", "llama-2-7b", "--flops", "torch")
    assert status == 0 and "Network.llama(32000, 4096, 4096, 32, 32, n_kv_heads=32, eps=1e-05)" in out
    for argv, message in [
        (["--config", "gpt3"], "neither a config complexa ships"),
        (["784", "10", "--config", "gpt2"], "SIZE '784 10' with --config"),
        (["--config", "gpt2", "--loss", "mse"], "--loss mse with --config"),
        (["--layers", "Linear(2, 3)", "--seq", "4"], "--seq '4' without --config"),
    ]:
        status, out, err = run(capsys, "derive", *argv)
        assert (status, out) == (2, "") and message in err and err.count("\n") == 1, err


@settings(max_examples=30, deadline=None)
@given(llamas())
def test_any_llama_adds_up(network: Network) -> None:
    # The rows add up to the counts; every product follows the embedding, so a training step is three forwards in
    # torch's convention; the parameters are the listed tensors', the tied head's once.
    from complexa.nn._stack import rows_of

    d = derive(network)
    for phase, by_op in d.counts.items():
        for op, value in by_op.items():
            assert sum(row[phase][op] for row in d.by_layer.values()) == value, (phase, op)
    assert flops(network, convention="torch", phase="training") == 3 * flops(network, convention="torch")
    shapes = {
        f"{row.path}.{name}": shape
        for row in rows_of(network, every_copy=True)
        for name, shape in row.layer.parameters(row.width)
    }
    tied = int(network.llama_config["vocab"] * network.llama_config["d_model"]) if network.ties else 0
    assert params(network) == sum(int(sympy.Mul(*shape)) for shape in shapes.values()) - tied
    assert network.xreplace({}) == network


def test_the_kinds_read_back_from_their_repr() -> None:
    from complexa._stack_parse import parse_layers

    kinds = [
        nn.RMSNorm("d", eps=1e-5),
        nn.SiLU(),
        nn.Attention("H*h", "H", "T", n_kv_heads="K", bias=True, o_bias=True, window="W", rope_theta=5e5),
        nn.Attention(8, 2, 4, head_dim=6, causal=False),
        nn.SwiGLU("d", "f"),
        nn.MoE("d", "f", "E", "k"),
        nn.LlamaBlock("d", 4, "T", "f", n_kv_heads=2, eps=1e-5, n_experts=8, top_k=2),
    ]
    for layer in kinds:
        assert parse_layers(repr(layer)).layers == (layer,), repr(layer)
