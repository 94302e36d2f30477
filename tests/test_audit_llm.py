"""The audit of published LLM FLOP formulas: where each is exact, what it drops, its errors, and its docs page."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import sympy

from complexa import ComplexaError, Network, derive, flops, params
from complexa._audit import audit
from complexa._audit_llm import A4_READINGS, CLAIMS, CONFIGS, TABLE_A4, LLMAudit, audit_llm, recomputed, table_a4
from complexa._parse import parse
from complexa.cli import main

ROOT = Path(__file__).resolve().parent.parent
V, T, d, L, H, B = (parse(s) for s in ("V", "T", "d", "L", "H", "B"))
GPT = Network.gpt(V, T, d, L, H, batch=B)


@pytest.fixture(scope="module")
def result() -> LLMAudit:
    """Every source's rows, shared by this module's tests."""
    return audit_llm()


def torch_training() -> sympy.Expr:
    return flops(GPT, convention="torch", phase="training")


def test_the_torch_counts_that_the_conventions_are_made_of() -> None:
    # PyTorch's FlopCounterMode convention for nanoGPT's GPT-2: three parts, and backward = 2 x forward.
    forward = flops(GPT, convention="torch")
    assert sympy.expand(forward - (24 * B * L * T * d**2 + 4 * B * L * T**2 * d + 2 * B * T * V * d)) == 0
    assert sympy.expand(torch_training() - 3 * forward) == 0
    assert params(Network.gpt(50257, 1024, 768, 12, 12)) == 124439808


def test_megatron_formulas_are_exact_in_the_torch_convention(result: LLMAudit) -> None:
    # Korthikanti et al.'s model FLOPs are torch's training step; Narayanan et al.'s add the blocks' forward pass
    # once more (recomputation), not the logits'.
    s, layers, h = T, L, d
    model = 72 * B * s * layers * h**2 * (1 + s / (6 * h) + V / (12 * layers * h))
    assert sympy.simplify(model - torch_training()) == 0
    blocks_forward = 24 * B * L * T * d**2 + 4 * B * L * T**2 * d
    hardware = 96 * B * s * layers * h**2 * (1 + s / (6 * h) + V / (16 * layers * h))
    assert sympy.simplify(hardware - torch_training() - blocks_forward) == 0
    assert result.row("megatron_model").verdict == "exact in torch"
    assert result.row("megatron_recompute").verdict == "exact in torch, blocks recomputed"
    assert result.row("megatron_recompute").exact_in == ("torch, blocks recomputed",)


def test_palm_is_exact_with_n_the_weight_matrices(result: LLMAudit) -> None:
    matrices = 12 * L * d**2 + V * d  # the blocks' weights and the tied embedding, once
    assert sympy.expand(B * T * (6 * matrices + 12 * L * T * d) - torch_training()) == 0
    row = result.row("palm")
    assert row.exact_in[0] == "torch, N = weight matrices"
    assert row.dropped == -(78 * L * d + 6 * T * d + 12 * d)  # biases, LayerNorms, position embedding, times 6


def test_kaplan(result: LLMAudit) -> None:
    assert result.row("kaplan_params").exact_in == ("the blocks' weight matrices",)
    assert result.row("kaplan_params").dropped == 13 * L * d + 2 * d
    forward = result.row("kaplan_forward")
    assert forward.published == 24 * L * d**2 + 2 * L * T * d
    assert forward.dropped == 2 * L * T * d and forward.dropped_torch == 2 * L * T * d + 2 * V * d
    assert forward.exact_in[0] == "torch, no lm_head, half the attention products, N = the blocks' weight matrices"
    training = result.row("kaplan_training")
    assert training.dropped == 0 and training.dropped_torch == 12 * L * T * d + 6 * V * d
    assert training.verdict == "exact in torch, no lm_head, no attention products"


def test_chinchilla(result: LLMAudit) -> None:
    six = result.row("chinchilla_6nd")
    assert six.dropped == 12 * L * T * d - 78 * L * d - 6 * T * d - 12 * d
    assert six.exact_in[0] == "torch, no attention products, N = weight matrices"
    appendix = result.row("chinchilla_appendix_f")
    assert appendix.dropped == -(9 * B * H * L * T**2 + 6 * B * T * V * d)
    assert appendix.exact_in == ()


ERRORS = {  # row: torch-convention relative error at GPT-2 small, GPT-2 XL, GPT-3 175B, the small model
    "kaplan_training": (-0.404, -0.139, -0.0304, -0.950),
    "chinchilla_6nd": (-0.126, -0.0903, -0.0267, -0.0994),
    "palm": (0.00637, 0.00154, 0.000226, 0.0337),
    "megatron_model": (0, 0, 0, 0),
}


@pytest.mark.parametrize("key", ERRORS)
def test_relative_errors(result: LLMAudit, key: str) -> None:
    row = result.row(key)
    got = tuple(row.errors[c.name]["torch"] for c in CONFIGS)
    assert got == pytest.approx(ERRORS[key], rel=5e-3, abs=1e-12)


def test_kaplan_training_error_is_the_dropped_share() -> None:
    # 6N per token against torch at GPT-3 175B: 72 L d^2 / (72 L d^2 + 12 L T d + 6 V d) - 1, by hand.
    n_layer, t, dm, v = 96, 2048, 12288, 50257
    by_hand = 72 * n_layer * dm**2 / (72 * n_layer * dm**2 + 12 * n_layer * t * dm + 6 * v * dm) - 1
    assert audit("kaplan").row("kaplan_training").errors["GPT-3 175B"]["torch"] == pytest.approx(by_hand, rel=1e-12)


def test_recomputed() -> None:
    derivation = derive(GPT)
    counts = recomputed(derivation, "transformer.h")
    assert list(counts) == ["forward", "recompute", "backward", "update"]
    assert all(v.has(L) for v in counts["recompute"].values() if v != 0)
    whole = recomputed(derivation)
    assert whole["recompute"] == derivation.counts["forward"]
    with pytest.raises(ComplexaError, match="scope = 'nope': no layer at that path"):
        recomputed(derivation, "nope")


def test_names() -> None:
    assert [r.key for r in audit("megatron").rows] == [
        "megatron_recompute",
        "megatron_model",
        "megatron_selective",
        "megatron_activations",
        "megatron_activations_selective",
    ]
    with pytest.raises(
        ComplexaError,
        match=r"^name = 'gpt': must be one of essay, kaplan, chinchilla, megatron, palm, llama, mixtral, inference$",
    ):
        audit("gpt")


def test_formats(result: LLMAudit) -> None:
    text = str(result)
    assert "megatron_model: Korthikanti et al. 2022" in text
    assert max(len(line) for line in text.splitlines()) <= 120
    assert "| `megatron_model` | `12*B*L*T^2*d + 72*B*L*T*d^2 + 6*B*T*V*d` | per iteration | exact in torch |" in (
        result.markdown()
    )
    assert result.latex().startswith("\\begin{array}{llll}")


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "kaplan", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "audit_llm" and doc["sources"] == ["kaplan"]
    assert [r["key"] for r in doc["rows"]] == ["kaplan_params", "kaplan_forward", "kaplan_training"]
    assert doc["rows"][2]["published"] == "72*L*d**2" and doc["rows"][2]["dropped"] == 0
    assert main(["audit", "gemini"]) == 2
    said = capsys.readouterr().err
    assert "'gemini' must be one of essay, kaplan, chinchilla, megatron, palm, llama, mixtral, inference" in said


def test_the_docs_page_is_generated_from_the_audit() -> None:
    spec = importlib.util.spec_from_file_location("gen_audit_llm", ROOT / "docs" / "gen_audit_llm.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    page = gen.PAGE.read_text()
    assert gen.render(page, gen.audit_markdown()) == page, (
        "docs/audit-llm.md is out of date: python docs/gen_audit_llm.py"
    )
    with pytest.raises(ValueError, match="must hold the markers"):
        gen.render("no markers", "")


VERBATIM = {  # the sources' own words, checked against full-text copies of the papers in issue 21
    "C_forward ≈ 2N + 2 n_layer n_ctx d_model": "Kaplan et al. 2020, Section 2.1, Eq. (2.2)",
    "C ≈ 6N floating point operators per training token": "Kaplan et al. 2020, Section 2.1",
    "we do not include context-dependent terms in our training compute estimate": "Kaplan et al. 2020, Section 2.1",
    "FLOPs(N, D) ≈ 6ND": "Hoffmann et al. 2022, Section 3.3",
    "activation recomputation (an extra forward pass)": "Narayanan et al. 2021, Section 5.1",
    # issue 22: the two abstracts' sentences, as the arXiv abstracts print them (2407.21783, 2401.04088), found
    # word for word in several public copies of each (the search tools of issue 22's audit)
    "Our largest model is a dense Transformer with 405B parameters and a context window of up to 128K tokens": (
        "Dubey et al. 2024, abstract"
    ),
    "each token has access to 47B parameters, but only uses 13B active parameters during inference": (
        "Jiang et al. 2024, abstract"
    ),
}


def test_every_verbatim_quote_is_in_the_list_of_sources() -> None:
    verbatim = {q.text: c.cite for c in CLAIMS for q in c.quotes if q.verbatim}
    assert set(verbatim) == set(VERBATIM)
    for text, where in VERBATIM.items():
        assert verbatim[text].startswith(where.split(",")[0]) and where.split(", ")[-1].split(" ")[0] in verbatim[text]
    # every row says what its words are, and the formats carry the mark
    assert all(c.quotes for c in CLAIMS)
    text = str(audit("kaplan"))
    assert '"C_forward ≈ 2N + 2 n_layer n_ctx d_model"' in text and "[paraphrase] N ≈ 2 d_model" in text


def test_quotes_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "megatron", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"][0]["quotes"][1] == {"text": "activation recomputation (an extra forward pass)", "verbatim": True}
    assert doc["rows"][1]["quotes"][0]["verbatim"] is False
    assert doc["table_a4"] == []
    gpt3 = next(c for c in doc["configs"] if c["name"] == "GPT-3 175B")
    assert "locally banded sparse attention" in gpt3["note"]


def test_korthikanti_eq8_selective_recomputation(result: LLMAudit) -> None:
    # selective recomputation: the attention's own forward row (q k^T, mask, softmax, dropout, P v) once more
    counts = recomputed(derive(GPT), "transformer.h.{i}.attn", nested=False)
    assert counts["recompute"]["exp"] == B * H * L * T**2
    assert counts["recompute"]["mul"] == B * H * L * T**2 + 2 * B * L * T**2 * d  # no Linear layer's d^2
    row = result.row("megatron_selective")
    # torch with the attention products' forward pass again: 72 B L T d^2 + 16 B L T^2 d + 6 B T V d
    assert sympy.expand(row.in_authors - (72 * B * L * T * d**2 + 16 * B * L * T**2 * d + 6 * B * T * V * d)) == 0
    assert row.dropped == -8 * B * L * T**2 * d  # Eq. (8) adds 12 B L T^2 d, three times the products' forward
    assert row.verdict.startswith("adds 8*B*L*T^2*d from torch, attention recomputed")


def test_chinchilla_table_a4() -> None:
    rows = table_a4()
    assert [r.model.params for r in rows] == ["73M", "305M", "552M", "1.1B", "1.6B", "6.8B"]
    # Appendix F without embeddings and logits, by hand for the 73M model (nanoGPT's scaling_laws.ipynb: 929877196800)
    s, v, dm, layers, heads, ffw = 2048, 32000, 640, 10, 10, 2560
    per_layer = 2 * 3 * s * dm * dm + 2 * s * s * dm + 3 * heads * s * s + 2 * s * s * dm + 2 * s * dm * dm
    per_layer += 2 * s * (2 * dm * ffw)
    no_head = 3 * layers * per_layer
    assert no_head == 929877196800
    assert rows[0].ratios["no embeddings or logits"] == pytest.approx(no_head / (6 * 73e6 * s), rel=1e-12)
    written = no_head + 3 * (2 * s * v * dm + 2 * s * dm * v)
    assert rows[0].ratios["as written"] == pytest.approx(written / (6 * 73e6 * s), rel=1e-12)
    assert [all(r.reproduces[k] for r in rows) for k in A4_READINGS] == [False, True]
    assert not any(r.reproduces["as written"] for r in rows)
    assert len(TABLE_A4) == 6 and all(m.ffw_size == 4 * m.d_model == 4 * m.n_heads * m.kq_size for m in TABLE_A4)
    assert "The reading that reproduces them all: no embeddings or logits." in audit("chinchilla").markdown()


def test_nanogpt_prints_parameters_without_wpe() -> None:
    # docs/transformers.md: nanoGPT's get_num_params leaves out the position embedding: 123.65M
    assert params(Network.gpt(50257, 1024, 768, 12, 12)) - 1024 * 768 == 123653376


def test_activation_memory_rows(result: LLMAudit) -> None:
    # Korthikanti et al.'s sbh(34 + 5as/h) against what nanoGPT's block saves in bfloat16, without dropout. By
    # hand, in bytes per token: LayerNorms 2 (d + 2) each, c_attn, c_proj, c_fc d each, q k v 3d, GELU and the MLP's
    # c_proj 4d each, so 2 (16 d + 4); per sequence and head the softmax's T x T output, 2 bytes each; the causal
    # mask T^2 bools. tests/test_trace_memory.py checks the same against torch's real run.
    s, b, h, a = T, B, d, H
    row = result.row("megatron_activations")
    assert row.quantity == "activations" and row.unit == "bytes per layer"
    assert row.published == sympy.expand(s * b * h * (34 + 5 * a * s / h))
    assert row.in_authors == sympy.expand(2 * (16 * h + 4) * s * b + 2 * a * s**2 * b + s**2)
    assert row.dropped == sympy.expand(8 * s * b + s**2 - 2 * s * b * h - 3 * a * s**2 * b)
    selective = result.row("megatron_activations_selective")
    assert selective.in_authors == sympy.expand(2 * (16 * h + 4) * s * b)
    assert (
        selective.verdict == "drops 8*B*T, adds 2*B*T*d from torch, attention recomputed; exact in no convention tried"
    )


# --- issue 22: Llama 2 and 3, Mixtral, and decode, on the Llama kinds -----------------------------------------------

K, hd, f, E, k, C = (parse(s) for s in ("K", "hd", "f", "E", "k", "C"))


def llama_params(vocab: int, dm: int, layers: int, heads: int, kv: int, head: int, ffn: int, experts: int = 1) -> int:
    """By hand: embed and untied head V d each; per layer q and o d x H hd, k and v d x K hd, the experts' (or the
    MLP's) gate, up and down d x f each, the router d x E when there are experts, two RMSNorms; a final RMSNorm."""
    per_layer = 2 * dm * heads * head + 2 * dm * kv * head + experts * 3 * dm * ffn + 2 * dm
    per_layer += experts * dm if experts > 1 else 0
    return 2 * vocab * dm + layers * per_layer + dm


@pytest.fixture(scope="module")
def llamas() -> LLMAudit:
    return audit_llm("llama", "mixtral", "inference")


def test_printed_parameter_counts(llamas: LLMAudit) -> None:
    assert llama_params(32000, 4096, 32, 32, 32, 128, 11008) == 6738415616  # Hugging Face's Llama-2-7b-hf
    assert llama_params(128256, 4096, 32, 32, 8, 128, 14336) == 8030261248  # Meta-Llama-3-8B
    assert llama_params(32000, 4096, 32, 32, 8, 128, 14336, experts=8) == 46702792704  # Mixtral-8x7B
    big = llama_params(128256, 16384, 126, 128, 8, 128, 53248)
    assert big == 405853388800
    for key, printed, count in [
        ("llama1_7b_params", "6.7B", 6738415616),
        ("llama2_7b_params", "7B", 6738415616),
        ("llama3_8b_params", "8B", 8030261248),
        ("mixtral_params", "47B", 46702792704),
    ]:
        row = llamas.row(key)
        assert row.printed == printed and row.values is not None and row.values["authors"] == count
        assert row.verdict == f"{printed} is all parameters at {row.at}, {count:,}, rounded"
        assert row.dropped == 0 and row.exact_in[0] == "all parameters"
    # 405B is the model's name: 405.85B is 406B to the nearest billion, and no reading of N is 405B
    row = llamas.row("llama3_405b_params")
    assert row.verdict == (
        "405B is not all parameters at Llama-3-405B, 405,853,388,800 (-0.21%); nothing tried rounds to it"
    )
    assert row.exact_in == () and row.errors["Llama-3-405B"]["exact"] == pytest.approx(405e9 / big - 1, rel=1e-12)
    # Table 3's vocabulary of 128,000 rather than 128,256 changes nothing to that
    assert round(llama_params(128000, 16384, 126, 128, 8, 128, 53248) / 1e9) == 406


def test_mixtral_active_parameters(llamas: LLMAudit) -> None:
    # a token uses 2 of the 8 experts of each layer: the 6 others' gate, up and down, d x f each, are not active
    active = 46702792704 - 32 * 6 * 3 * 4096 * 14336
    assert active == 12879925248
    row = llamas.row("mixtral_active")
    assert row.values is not None and row.values["authors"] == active
    assert row.verdict == "13B is active parameters at Mixtral-8x7B, 12,879,925,248, rounded"
    assert (
        row.published
        == E * L * d + 2 * H * L * d * hd + 2 * K * L * d * hd + 3 * L * d * f * k + 2 * L * d + 2 * V * d + d
    )
    assert row.published - row.published.xreplace({k: E}) != 0  # the experts' term taken for k of them
    assert "47B parameters" in row.quotes[0].text and row.quotes[0].verbatim


def test_llama3_405b_training_flops(llamas: LLMAudit) -> None:
    # 3.8e25 on 15.6T tokens: 6ND with N every parameter, not the torch count at the context of 8,192 tokens
    n, tokens, seq, layers, dm, heads, head = 405853388800, 15_600_000_000_000, 8192, 126, 16384, 128, 128
    matrices = n - 128256 * 16384 - (2 * layers + 1) * dm  # the embedding and the norms do no matrix product
    torch_per_token = 6 * matrices + 12 * layers * seq * heads * head  # forward 2 x, backward 4 x; q k^T and P v
    row = llamas.row("llama3_405b_flops")
    assert row.values is not None
    assert row.values["published"] == 6 * n * tokens and row.values["torch"] == torch_per_token * tokens
    assert row.exact_in[0] == "6*N*D, N = all parameters"
    assert row.dropped == 12 * H * L * T * hd - 12 * L * d - 6 * V * d - 6 * d
    assert row.verdict == (
        "3.8e25 is not torch at Llama-3-405B, 4.096e+25 (-7.22%); it is 6*N*D, N = all parameters, rounded; 6*N*D "
        "drops 12*H*L*T*hd, adds 12*L*d + 6*V*d + 6*d from torch"
    )
    assert row.errors["Llama-3-405B"]["torch"] == pytest.approx(3.8e25 / (torch_per_token * tokens) - 1, rel=1e-12)


def test_moe_6n(llamas: LLMAudit) -> None:
    row = llamas.row("moe_6n")
    # torch: 3 x 2 per multiply-add of q, k, v, o, the router, k experts' SwiGLUs, lm_head; and the products
    per_token = 6 * (2 * H * L * d * hd + 2 * K * L * d * hd + E * L * d + 3 * L * d * f * k + V * d)
    per_token += 12 * L * T * H * hd
    assert sympy.expand(row.torch - per_token) == 0
    assert row.dropped == 12 * H * L * T * hd - 12 * L * d - 6 * V * d - 6 * d
    assert row.exact_in[0] == "torch, no attention products, N = active weight matrices"
    assert row.verdict.startswith("drops 12*H*L*T*hd, adds 12*L*d + 6*V*d + 6*d from torch")
    # at Mixtral-8x7B's 32K context the attention products are most of what 6 N_active leaves out
    n = 12879925248
    torch = 6 * (n - 32000 * 4096 - 65 * 4096) + 12 * 32 * 32768 * 32 * 128
    assert row.errors["Mixtral-8x7B"]["torch"] == pytest.approx(6 * n / torch - 1, rel=1e-12)


def test_decode_rule_of_thumb(llamas: LLMAudit) -> None:
    # a decode step: every weight matrix once (2 per multiply-add), and q k^T and P v of the H query heads over the
    # C + 1 keys (C cached, the new token's own): 4 L H hd (C + 1), whatever the key/value heads K
    attention = sympy.expand(4 * L * H * hd * (C + 1))
    charged = 4 * L * d + 2 * V * d + 2 * d  # 2 x the norms' weights and the token embedding: no product
    row = llamas.row("decode_2n")
    assert row.unit == "per generated token" and row.quantity == "decode"
    assert row.dropped == attention - charged and row.dropped_torch == attention - charged
    assert row.exact_in[0] == "torch, no attention products, N = weight matrices"
    assert row.verdict == (
        "drops 4*C*H*L*hd + 4*H*L*hd, adds 4*L*d + 2*V*d + 2*d from torch; exact in torch, no attention products, "
        "N = weight matrices"
    )
    matrices = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008) + 32000 * 4096  # Llama-2-7B's, lm_head once
    at_full_context = 4 * 32 * 32 * 128 * 4096  # C = 4095: 4,096 keys
    by_hand = 2 * 6738415616 / (2 * matrices + at_full_context) - 1
    assert row.errors["Llama-2-7B"]["torch"] == pytest.approx(by_hand, rel=1e-12)
    moe = llamas.row("decode_2n_moe")
    assert moe.dropped == attention - charged
    assert moe.exact_in[0] == "torch, no attention products, N = active weight matrices"
    kaplan = llamas.row("decode_kaplan_context")  # Kaplan's context term: half the products; lm_head apart
    assert kaplan.dropped == sympy.expand(attention / 2) and kaplan.dropped_torch == sympy.expand(
        attention / 2 + 2 * V * d
    )
    assert kaplan.exact_in[0] == "torch, no lm_head, half the attention products, N = the blocks' weight matrices"


def test_decode_counts_by_hand() -> None:
    # the audit's decode step, in its parts: the weight matrices once, q k^T and P v over C + 1 keys, lm_head
    from complexa._audit_llm import _llama_model

    model = _llama_model("llama").flops["decode"]
    matrices = B * (4 * H * L * d * hd + 4 * K * L * d * hd + 6 * L * d * f + 2 * V * d)
    products = 4 * B * L * H * hd * (C + 1)
    assert sympy.expand(model["torch"] - matrices - products) == 0
    assert sympy.expand(model["torch, no attention products"] - matrices) == 0
    half = model["torch, no lm_head, half the attention products"]
    assert sympy.expand(half - (matrices - 2 * B * V * d + products / 2)) == 0
    # exact: derive's decode step (docs/inference.md); its softmax takes one exp a head and key, C cached and its own
    net = Network.llama(V, T, d, L, H, n_kv_heads=K, head_dim=hd, d_ff=f, batch=B)
    step = derive(net, phase="decode", cache=C)
    assert sympy.expand(step.counts["decode"]["exp"] - B * H * L * (C + 1)) == 0
    assert sympy.expand(model["exact"] - sympy.Add(*step.counts["decode"].values())) == 0


def test_llama_audits_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "mixtral", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["key"] for r in doc["rows"]] == ["mixtral_params", "mixtral_active", "moe_6n"]
    assert "do not say the sequence length" in doc["configs"][0]["note"]
    assert doc["configs"] == [
        {
            "name": "Mixtral-8x7B",
            "V": 32000,
            "T": 32768,
            "d": 4096,
            "L": 32,
            "H": 32,
            "B": 1,
            "note": doc["configs"][0]["note"],
            "K": 8,
            "hd": 128,
            "f": 14336,
            "E": 8,
            "k": 2,
        }
    ]
    assert doc["rows"][1]["printed"] == {
        "text": "13B",
        "at": "Mixtral-8x7B",
        "values": {
            "published": 12879925248,
            "authors": 12879925248,
            "torch": 46702792704,
            "exact": 46702792704,
        },
    }
    assert "printed" not in doc["rows"][2]
