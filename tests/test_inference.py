"""Inference (issue 22): a GPT's prefill, decode steps with a KV cache, and whole generations.

Measured: the counting kernels keep a real KV cache (`complexa.reference.generate`), and their counts equal the
derived ones on every op, for the prefill and for each decode step. Verified: transformers' own GPT2LMHeadModel
(eager attention) with complexa's weights, run step by step with a DynamicCache: FlopCounterMode equals the torch
convention on the prefill and on every decode step, the cache's bytes equal the derived KV cache, its logits equal
the counting network's, and ``model.generate`` as a whole equals `complexa.generate`'s closed form.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import complexa
from complexa import Network, derive, flops, memory, params
from complexa._inference import decode, prefill
from complexa.reference import generate as run
from complexa.strategies import gpts, llamas


@st.composite
def _runs(draw: st.DrawFn) -> tuple[Network, int, int]:
    """A small causal GPT and a prompt and a number of new tokens that fit its positions."""
    network = draw(gpts(max_vocab=12, max_seq=7, max_layers=2, max_batch=3, optimizers=("sgd",)))
    seq = int(network.gpt_config["seq"])
    if not network.gpt_config["causal"]:
        network = Network.gpt(**{**network.gpt_config, "causal": True}, batch=network.batch)
    prompt = draw(st.integers(1, seq))
    new = draw(st.integers(1, seq - prompt + 1))
    return network, prompt, new


# --- measured == derived, on every op -----------------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(_runs(), st.sampled_from(["last", "all"]))
def test_the_prefill_and_every_decode_step_are_measured(case: tuple[Network, int, int], logits: str) -> None:
    network, P, G = case
    g = run(network, prompt=P, new=G, logits=logits)
    assert g.counts["prefill"] == derive(network, phase="prefill", prompt=P, logits=logits).evaluate()["prefill"]
    assert len(g.counts["decode"]) == G - 1
    for C, measured in enumerate(g.counts["decode"], start=P):
        assert measured == derive(network, phase="decode", cache=C).evaluate()["decode"], C
    # The generation's closed form is the sum of what was measured, op by op.
    whole = complexa.generate(network, prompt=P, new=G).evaluate()
    assert whole["prefill"] == g.counts["prefill"] or logits == "all"
    assert whole["decode"] == {op: sum(step[op] for step in g.counts["decode"]) for op in whole["decode"]}
    # The caches as allocated: P + G - 1 tokens a sequence, every layer's keys and values.
    assert g.kv_tokens == P + G - 1
    assert g.kv_elements == complexa.generate(network, prompt=P, new=G).kv_elements


def test_the_prefill_with_every_logit_is_the_training_forward_pass_over_the_prompt() -> None:
    # Two code paths: the training rules of a GPT whose sequences are P long, and the prefill's rows of a longer one.
    V, T, d, L, H, B, P = sympy.symbols("V T d L H B P", positive=True, integer=True)
    every = derive(Network.gpt(V, T, d, L, H, batch=B), phase="prefill", prompt=P, logits="all").counts["prefill"]
    forward = derive(Network.gpt(V, P, d, L, H, batch=B)).counts["forward"]
    assert every == {op: v for op, v in forward.items() if op != "act_grad"}


def test_a_decode_step_grows_with_the_cache_in_the_attention_only() -> None:
    # One more cached token: per layer, sequence and head, one more score (hd mul, hd - 1 add), its scale, one more
    # compare, exp, add and div of the softmax, and one more value weighed in (hd mul, hd add).
    V, T, d, L, H, B, C = sympy.symbols("V T d L H B C", positive=True, integer=True)
    step = derive(Network.gpt(V, T, d, L, H, batch=B), phase="decode", cache=C).counts["decode"]
    grow = {op: sympy.expand(v.xreplace({C: C + 1}) - v) for op, v in step.items()}
    hd = d / H
    per_head = {"mul": 2 * hd + 1, "add": (hd - 1) + 2 + hd, "div": 1, "exp": 1, "cmp": 1}
    assert grow == {op: sympy.expand(B * L * H * per_head.get(op, 0)) for op in step}


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.integers(1, 3))
def test_generate_is_the_prefill_and_the_decode_steps_summed(P: int, G: int, L: int, B: int) -> None:
    network = Network.gpt("V", P + G, "d", L, "H", batch=B)
    closed = complexa.generate(network, prompt=P, new=G)
    steps = [decode(network, cache=C).counts["decode"] for C in range(P, P + G - 1)]
    summed = {op: sympy.expand(sympy.Add(*(s[op] for s in steps))) for op in closed.counts["decode"]}
    assert closed.counts["decode"] == summed
    assert closed.counts["prefill"] == prefill(network, prompt=P).counts["prefill"]
    symbolic = complexa.generate(Network.gpt("V", "T", "d", L, "H", batch=B), prompt="P", new="G")
    at = symbolic.evaluate(V=5, T=P + G, d=6, H=3, P=P, G=G)
    assert at == complexa.generate(Network.gpt(5, P + G, 6, L, 3, batch=B), prompt=P, new=G).evaluate()


def test_every_size_may_be_a_symbol_and_evaluates_to_the_concrete_derivation() -> None:
    network = Network.gpt("V", "T", "d", "L", "H", batch="B")
    values = {"V": 7, "T": 9, "d": 6, "L": 2, "H": 3, "B": 2}
    concrete = Network.gpt(7, 9, 6, 2, 3, batch=2)
    assert (
        derive(network, phase="prefill", prompt="P").evaluate(**values, P=5)
        == derive(concrete, phase="prefill", prompt=5).evaluate()
    )
    assert (
        derive(network, phase="decode", cache="C").evaluate(**values, C=4)
        == derive(concrete, phase="decode", cache=4).evaluate()
    )
    assert str(complexa.generate(network, prompt="P", new="G").big_o()).startswith("O(")


def test_kv_cache_memory_is_the_caches_after_the_phase() -> None:
    network = Network.gpt("V", "T", "d", "L", "H", batch="B")
    decoding = memory(network, phase="decode", cache="C", dtype="float16")
    # The measured caches, for the symbols' values, are the test below's; here the layout: a key and a value of d
    # per layer, sequence and token; nothing else but the parameters stays between steps.
    assert decoding.kv_cache == derive(network, phase="decode", cache="C").kv_elements
    assert decoding.bytes == sympy.expand(2 * (params(network) + decoding.kv_cache))
    assert memory(network, phase="prefill", prompt="P").kv_cache == prefill(network, prompt="P").kv_elements
    assert decoding.activations == decoding.gradients == decoding.optimizer == 0


def test_flops_speaks_the_inference_phases() -> None:
    network = Network.gpt("V", "T", "d", "L", "H", batch="B")
    assert flops(network, phase="decode", cache="C") == derive(network, phase="decode", cache="C").total
    assert flops(network, convention="torch", phase="prefill", prompt="P") == prefill(network, prompt="P").flops(
        "torch"
    )


# --- against transformers' GPT2LMHeadModel --------------------------------------------------------------------
def _hf_model(network: Network, state: dict[str, np.ndarray]) -> object:
    """transformers' GPT-2 of `network`'s sizes, eager attention, float64, with `state` (complexa's names and
    layouts: torch.nn.Linear's (out, in), which GPT-2's Conv1D stores transposed)."""
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers")
    c = network.gpt_config
    config = hf.GPT2Config(
        vocab_size=int(c["vocab"]),
        n_positions=int(c["seq"]),
        n_embd=int(c["d_model"]),
        n_layer=int(c["n_layers"]),
        n_head=int(c["n_heads"]),
        n_inner=int(c["d_ff"]),
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        tie_word_embeddings=bool(c["tied"]),
        bos_token_id=0,
        eos_token_id=None,
        pad_token_id=0,
    )
    config._attn_implementation = "eager"
    model = hf.GPT2LMHeadModel(config).double().eval()
    weights = {}
    for name, value in state.items():
        tensor = torch.from_numpy(value)
        if name.startswith("transformer.h.") and tensor.ndim == 2:  # Conv1D: (in, out)
            tensor = tensor.T
        weights[name] = tensor.contiguous()
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return model


def _cache_bytes(cache: object) -> int:
    return sum(
        t.numel() * t.element_size()
        for layer in cache.layers  # type: ignore[attr-defined]
        for t in (layer.keys, layer.values)
    )


@pytest.mark.parametrize(
    ("sizes", "batch", "prompt", "new"),
    [((13, 12, 8, 2, 2), 2, 4, 5), ((11, 9, 6, 1, 3), 1, 1, 4), ((10, 7, 4, 3, 1), 3, 6, 2)],
)
def test_transformers_gpt2_agrees_step_by_step(sizes: tuple[int, ...], batch: int, prompt: int, new: int) -> None:
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers")
    from torch.utils.flop_counter import FlopCounterMode

    network = Network.gpt(*sizes, batch=batch)
    g = run(network, prompt=prompt, new=new)
    model = _hf_model(network, g.state)
    cache = hf.DynamicCache(config=model.config)
    inputs = [torch.from_numpy(g.prompt)] + [torch.from_numpy(g.tokens[:, k : k + 1]) for k in range(new - 1)]
    with torch.no_grad():
        for k, ids in enumerate(inputs):
            phase = derive(network, phase="prefill", prompt=prompt) if k == 0 else None
            if phase is None:
                phase = derive(network, phase="decode", cache=prompt + k - 1)
            with FlopCounterMode(display=False) as counter:
                out = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)  # as generate calls it
            assert counter.get_total_flops() == phase.flops("torch"), k
            assert _cache_bytes(cache) == 8 * phase.kv_elements
            np.testing.assert_allclose(out.logits[:, -1].numpy(), g.logits[k], rtol=0, atol=1e-12)
        # The caches hold the same keys and values, token for token.
        for layer, (keys, values) in zip(cache.layers, g.cache, strict=True):
            np.testing.assert_allclose(layer.keys.numpy(), keys, rtol=0, atol=1e-12)
            np.testing.assert_allclose(layer.values.numpy(), values, rtol=0, atol=1e-12)
        # generate as a whole: the same tokens (greedy), and FlopCounterMode's total is the closed form's.
        mask = torch.ones_like(inputs[0])
        with FlopCounterMode(display=False) as counter:
            tokens = model.generate(
                inputs[0], attention_mask=mask, max_new_tokens=new, min_new_tokens=new, do_sample=False
            )
    np.testing.assert_array_equal(tokens[:, prompt:].numpy(), g.tokens)
    assert counter.get_total_flops() == complexa.generate(network, prompt=prompt, new=new).flops("torch")


def test_every_logit_of_the_prefill_is_transformers() -> None:
    torch = pytest.importorskip("torch")
    network = Network.gpt(9, 6, 6, 2, 2, batch=2)
    g = run(network, prompt=5, new=1, logits="all")
    model = _hf_model(network, g.state)
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(input_ids=torch.from_numpy(g.prompt))
    np.testing.assert_allclose(out.logits.numpy(), g.logits[0], rtol=0, atol=1e-12)
    assert counter.get_total_flops() == derive(network, phase="prefill", prompt=5, logits="all").flops("torch")


# --- the command ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ("--phase", "prefill", "--prompt", "P"),
        ("--phase", "decode", "--cache", "C", "--batch", "B", "--dtype", "bfloat16"),
        ("--phase", "generate", "--prompt", "P", "--new", "G", "--assume", "d=H"),
    ],
)
def test_derive_phase_json_matches_schema_and_the_api(capsys: pytest.CaptureFixture[str], argv: tuple[str]) -> None:
    from test_cli import SCHEMAS, _json, validate

    from complexa._parse import parse as read

    def parse(value: object) -> sympy.Expr:
        return read(str(value))

    doc = _json(capsys, "derive", "--gpt", "V, T, d, L, H", *argv)
    validate(doc, SCHEMAS["inference.json"], "inference.json")
    network = Network.gpt("V", "T", "d", "L", "H", batch=parse(doc["network"]["batch"]))
    if doc["phase"] == "generate":
        d = complexa.generate(network, prompt="P", new="G")
    else:
        d = derive(network, phase=doc["phase"], prompt=doc["prompt"], cache=doc["cache"])
    assert {p: {op: parse(c["value"]) for op, c in ops.items()} for p, ops in doc["counts"].items()} == d.counts
    assert {p: parse(f["torch"]["value"]) for p, f in doc["flops"].items()} == d.torch_flops
    assert parse(doc["kv_cache"]["bytes"]["value"]) == d.kv_bytes(doc["kv_cache"]["dtype"])
    for phase, ops in d.counts.items():  # the layers add up to the counts
        for op, value in ops.items():
            rows = [parse(row["counts"][phase][op]) for row in doc["by_layer"].values()]
            assert sympy.expand(sympy.Add(*rows) - value) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("derive", "3", "4", "--phase", "decode", "--cache", "3"), "prefill and decode are a language model's"),
        (("derive", "--gpt", "V, T, d, L, H", "--cache", "3"), "--cache is the inference phases'"),
        (("derive", "--gpt", "V, T, d, L, H", "--phase", "decode"), "--phase decode needs --cache"),
        (("derive", "--gpt", "V, T, d, L, H", "--phase", "prefill", "--prompt", "P", "--new", "2"), "--new with"),
        (("derive", "--gpt", "V, T, d, L, H", "--phase", "prefill", "--prompt", "P", "--iterations", "T"), "drop"),
    ],
)
def test_derive_phase_refuses_in_one_line(capsys: pytest.CaptureFixture[str], argv: tuple[str], message: str) -> None:
    from test_cli import run as cli

    status, out, err = cli(capsys, *argv)
    assert (status, out) == (2, "") and message in err and err.count("\n") == 1


# --- the Llama kinds: grouped-query attention, RoPE, SwiGLU, a mixture of experts ---------------------------------
LLAMAS = [
    ("llama, GQA", lambda: Network.llama(13, 12, 8, 2, 4, n_kv_heads=2, d_ff=6, batch=2), 4, 4),
    ("qwen2, MQA and biases", lambda: Network.llama(13, 12, 8, 1, 2, n_kv_heads=1, d_ff=6, bias=True), 3, 3),
    ("mixtral", lambda: Network.mixtral(13, 12, 8, 1, 2, n_experts=3, top_k=2, d_ff=6, batch=2), 3, 3),
    # Mistral's sliding window: transformers' cache keeps the last W - 1 tokens, a step attends to min(C + 1, W) keys
    ("mistral, a prompt beyond the window", lambda: Network.llama(13, 16, 8, 2, 4, n_kv_heads=2, window=3), 5, 4),
    ("mistral, into the window", lambda: Network.llama(13, 16, 8, 1, 2, d_ff=6, batch=2, window=4), 1, 6),
    # Qwen2's window on its layers from max_window_layers on: each layer's cache by its own (issue 22 windows)
    ("qwen2, layer types", lambda: Network.llama(13, 16, 8, 3, 2, d_ff=6, bias=True, window=[None, 3, 3]), 4, 4),
    ("qwen2, into the window", lambda: Network.llama(13, 16, 8, 3, 2, d_ff=6, bias=True, window=[3, None, 3]), 1, 5),
    ("llama, mlp_bias", lambda: Network.llama(13, 12, 8, 2, 4, n_kv_heads=2, d_ff=6, mlp_bias=True), 3, 3),
]


@pytest.mark.parametrize(("make", "prompt", "new"), [c[1:] for c in LLAMAS], ids=[c[0] for c in LLAMAS])
def test_transformers_llamas_count_as_derived_step_by_step(make: object, prompt: int, new: int) -> None:
    # Their transformers twins (to_torch: LlamaForCausalLM, Qwen2ForCausalLM, MixtralForCausalLM, eager attention
    # and experts), random weights: FlopCounterMode and the DynamicCache's bytes on every step, and generate's total.
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers")
    from torch.utils.flop_counter import FlopCounterMode

    network = make()  # type: ignore[operator]
    torch.manual_seed(0)
    model = network.to_torch().eval()
    B, V = int(network.batch), int(network.llama_config["vocab"])
    cache = hf.DynamicCache(config=model.config)
    ids = torch.randint(0, V, (B, prompt))
    with torch.no_grad():
        for k in range(new):
            if k == 0:
                phase = derive(network, phase="prefill", prompt=prompt)
            else:
                phase = derive(network, phase="decode", cache=prompt + k - 1)
            with FlopCounterMode(display=False) as counter:
                out = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)
            assert counter.get_total_flops() == phase.flops("torch"), k
            assert _cache_bytes(cache) == 8 * phase.kv_elements, k
            ids = out.logits[:, -1].argmax(-1, keepdim=True)
        first = torch.randint(0, V, (B, prompt))
        with FlopCounterMode(display=False) as counter:
            model.generate(first, attention_mask=torch.ones_like(first), max_new_tokens=new, min_new_tokens=new)
    assert counter.get_total_flops() == complexa.generate(network, prompt=prompt, new=new).flops("torch")


def test_a_llamas_prefill_with_every_logit_is_its_training_forward_pass_and_its_cache_is_grouped() -> None:
    V, T, d, L, H, K, f, B, P = sympy.symbols("V T d L H K f B P", positive=True, integer=True)
    hd = sympy.Symbol("hd", positive=True, integer=True)
    network = Network.llama(V, T, d, L, H, n_kv_heads=K, head_dim=hd, d_ff=f, batch=B)
    every = derive(network, phase="prefill", prompt=P, logits="all").counts["prefill"]
    forward = derive(Network.llama(V, P, d, L, H, n_kv_heads=K, head_dim=hd, d_ff=f, batch=B)).counts["forward"]
    assert every == {op: v for op, v in forward.items() if op != "act_grad"}
    # A key and a value of K hd per layer, sequence and token: H / K times less than multi-head attention's.
    per_token = sympy.expand(prefill(network, prompt=P).kv_elements / (B * P))
    assert per_token == sympy.expand(2 * L * K * hd)


@settings(max_examples=15, deadline=None)
@given(llamas(max_seq=5, optimizers=("sgd",)), st.data())
def test_any_llamas_prefill_is_its_forward_pass_and_its_decode_steps_sum_to_generate(
    network: Network, data: st.DataObject
) -> None:
    # Any Llama-style network drawn (GQA, MQA, biases, experts, a sliding window).
    config = dict(network.llama_config)
    make = Network.mixtral if config["n_experts"] else Network.llama
    for key in ("bias", "o_bias", "mlp_bias") if config["n_experts"] else ("n_experts", "top_k"):
        assert not config.pop(key)  # Network.mixtral takes no biases
    network = make(**config, batch=network.batch)
    P = data.draw(st.integers(1, int(config["seq"])), "prompt")
    G = data.draw(st.integers(1, 4), "new")
    shorter = make(**{**config, "seq": P}, batch=network.batch)
    every = derive(network, phase="prefill", prompt=P, logits="all").evaluate()["prefill"]
    assert every == {op: v for op, v in derive(shorter).evaluate().counts["forward"].items() if op != "act_grad"}
    steps = [derive(network, phase="decode", cache=C).evaluate()["decode"] for C in range(P, P + G - 1)]
    whole = complexa.generate(network, prompt=P, new=G).evaluate()["decode"]
    assert whole == {op: sum(step[op] for step in steps) for op in whole}


def test_derive_phase_text_in_either_units(capsys: pytest.CaptureFixture[str]) -> None:
    from test_cli import run as cli

    network = Network.gpt(50257, 1024, 768, 12, 12, batch=8)
    mul = int(derive(network, phase="decode", cache=1023).counts["decode"]["mul"])
    argv = ("derive", "--gpt", "50257, 1024, 768, 12, 12", "--batch", "8", "--phase", "decode", "--cache", "1023")
    exact = cli(capsys, *argv, "--units", "exact")[1]
    si = cli(capsys, *argv, "--units", "si")[1]
    assert f"decode mul                  {mul:,}\n" in exact
    assert f"decode mul                  {mul / 1e9:.4g} G\n" in si
