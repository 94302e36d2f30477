"""A window on some layers only (Qwen2's ``use_sliding_window`` with ``max_window_layers``, or its ``layer_types``)
and Llama's ``mlp_bias``: derive equals measure; params, numerics, FlopCounterMode and the KV cache are transformers'
own (skipped without torch and transformers where they need them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_llama_measure import assert_derive_is_measure

import complexa
from complexa import Network, derive, flops, measure, nn, params
from complexa._inference import kv_cache
from complexa._llama import transformers_config
from complexa._stack_parse import parse_layers
from complexa.configs import NAMES
from complexa.nn._stack import rows_of
from complexa.strategies import llamas

CONFIGS = Path(__file__).parent.parent / "complexa" / "configs"


def qwen2(**changes: Any) -> dict[str, Any]:
    """A tiny Qwen2 config: 4 layers, the last two windowed (max_window_layers = 2, a window of 2 tokens)."""
    return {
        "model_type": "qwen2",
        "vocab_size": 13,
        "hidden_size": 8,
        "intermediate_size": 6,
        "num_hidden_layers": 4,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 6,
        "use_sliding_window": True,
        "sliding_window": 2,
        "max_window_layers": 2,
        **changes,
    }


def llama_mlp_bias(**changes: Any) -> dict[str, Any]:
    """A tiny Llama with biases on its MLP's three projections (and on the attention's four)."""
    return {
        "model_type": "llama",
        "vocab_size": 11,
        "hidden_size": 8,
        "intermediate_size": 5,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 5,
        "mlp_bias": True,
        "attention_bias": True,
        **changes,
    }


# --- the API ------------------------------------------------------------------------------------------------------
def test_qwen2_windows_the_layers_from_max_window_layers_on() -> None:
    network = Network.from_config(qwen2(), batch=2)
    assert network.llama_config["window"] == (None, None, 2, 2)
    windows = [row.layer.window for row in rows_of(network) if isinstance(row.layer, nn.Attention)]
    assert windows == [None, None, 2, 2]
    # its layer_types, given, says the same; max_window_layers 0 windows every layer, at or past the depth none
    types = ["full_attention"] * 2 + ["sliding_attention"] * 2
    assert Network.from_config(qwen2(layer_types=types), batch=2) == network
    assert Network.from_config(qwen2(max_window_layers=0)).llama_config["window"] == 2
    assert Network.from_config(qwen2(max_window_layers=4)).llama_config["window"] is None
    assert Network.from_config(qwen2(use_sliding_window=False)).llama_config["window"] is None
    other = Network.from_config(qwen2(layer_types=["sliding_attention", "full_attention"] * 2))
    assert other.llama_config["window"] == (2, None, 2, None)


def test_a_window_for_each_layer_reads_back_and_collapses_when_uniform() -> None:
    network = Network.llama(13, 6, 8, 4, 2, d_ff=6, bias=True, window=[None, None, 2, 2], batch=2)
    assert repr(network) == "Network.llama(13, 6, 8, 4, 2, d_ff=6, window=[None] * 2 + [2] * 2, bias=True, batch=2)"
    assert eval(repr(network), {"Network": Network}) == network
    assert network.xreplace({}) == network
    assert Network.llama(13, 6, 8, 2, 2, d_ff=6, window=[3, 3]) == Network.llama(13, 6, 8, 2, 2, d_ff=6, window=3)
    assert Network.llama(13, 6, 8, 2, 2, d_ff=6, window=[None, None]) == Network.llama(13, 6, 8, 2, 2, d_ff=6)
    # symbols in the windows, the depth an integer: the training counts do not depend on the window
    symbolic = Network.llama("V", "T", "H*h", 3, "H", d_ff="f", window=[None, "W", "W"])
    assert derive(symbolic).counts == derive(Network.llama("V", "T", "H*h", 3, "H", d_ff="f")).counts
    assert symbolic.xreplace({"W": 4}).llama_config["window"] == (None, 4, 4)


def test_the_mlp_bias_counts() -> None:
    # Three bias vectors a layer (d_ff, d_ff, d): their parameters, and their forward adds in the projections' rows.
    L, d, f, T, B = 3, 8, 5, 4, 2
    plain = Network.llama(11, T, d, L, 2, d_ff=f, batch=B)
    biased = Network.llama(11, T, d, L, 2, d_ff=f, batch=B, mlp_bias=True)
    assert params(biased) - params(plain) == L * (2 * f + d)
    more = derive(biased).counts["forward"]["add"] - derive(plain).counts["forward"]["add"]
    assert more == L * B * T * (2 * f + d)
    assert repr(nn.SwiGLU("d", "f", bias=True)) == "SwiGLU(d, f, bias=True)"
    assert parse_layers("SwiGLU(d, f, bias=True)").layers == (nn.SwiGLU("d", "f", bias=True),)
    block = nn.LlamaBlock("d", 2, "T", "f", mlp_bias=True)
    assert parse_layers(repr(block)).layers == (block,)


def test_the_transformers_config_round_trips() -> None:
    for network in (
        Network.from_config(qwen2(), batch=2),
        Network.from_config(qwen2(layer_types=["sliding_attention", "full_attention"] * 2)),
        Network.from_config(llama_mlp_bias()),
    ):
        config = transformers_config(network)
        assert Network.from_config(config, batch=network.batch) == network
    assert transformers_config(Network.from_config(qwen2()))["max_window_layers"] == 2


# --- derive equals measure ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "network",
    [
        Network.llama(11, 5, 8, 3, 2, d_ff=6, bias=True, window=[None, 2, 2], batch=2),
        Network.llama(9, 4, 8, 3, 4, n_kv_heads=2, d_ff=5, window=[3, None, 1], optimizer=nn.Adam(eps=1e-3)),
        Network.llama(9, 4, 8, 2, 2, d_ff=5, mlp_bias=True, batch=2),
        Network.mixtral(9, 4, 4, 2, 2, n_experts=3, top_k=2, d_ff=3, window=[2, None]),
    ],
    ids=repr,
)
def test_derive_equals_measure_by_example(network: Network) -> None:
    assert_derive_is_measure(network, iterations=2)


@settings(max_examples=10, deadline=None)
@given(llamas(max_vocab=7, max_seq=5, max_layers=3, max_batch=2, layer_windows=True, mlp_bias=True))
def test_derive_equals_measure(network: Network) -> None:
    assert_derive_is_measure(network)


# --- inference: each layer's cache by its own window ----------------------------------------------------------------
def test_each_layer_caches_by_its_own_window() -> None:
    mixed = Network.llama(13, 16, 8, 3, 2, d_ff=6, bias=True, window=[None, 3, 3], batch=2)
    full = Network.llama(13, 16, 8, 1, 2, d_ff=6, bias=True, batch=2)
    windowed = Network.llama(13, 16, 8, 2, 2, d_ff=6, bias=True, window=3, batch=2)
    for C in (1, 2, 5, 9):
        step = derive(mixed, phase="decode", cache=C)
        assert step.kv_elements == (
            derive(full, phase="decode", cache=C).kv_elements + derive(windowed, phase="decode", cache=C).kv_elements
        )
        assert step.kv_tokens == C + 1
        # the attention's work: one full layer's and two windowed layers', whatever else the layers do
        attention = {p: o for p, (layer, o) in step.by_layer.items() if p.endswith("self_attn")}
        assert attention["model.layers.1.self_attn"] == attention["model.layers.2.self_attn"]
        if C >= 3:
            assert attention["model.layers.0.self_attn"] != attention["model.layers.1.self_attn"]
    g = complexa.generate(mixed, prompt=2, new=6)
    steps = [derive(mixed, phase="decode", cache=C).evaluate()["decode"] for C in range(2, 7)]
    assert g.evaluate()["decode"] == {op: sum(step[op] for step in steps) for op in steps[0]}
    torch_steps = [derive(mixed, phase="decode", cache=C).flops("torch") for C in range(2, 7)]
    assert g.torch_flops["decode"] == sum(torch_steps)
    assert g.kv_elements == derive(mixed, phase="decode", cache=6).kv_elements
    assert kv_cache(mixed, 7, dtype="float32") == 4 * g.kv_elements
    assert complexa.memory(mixed, phase="decode", cache=6).kv_cache == g.kv_elements


@settings(max_examples=10, deadline=None)
@given(llamas(max_seq=5, max_layers=3, optimizers=("sgd",), layer_windows=True, mlp_bias=True), st.data())
def test_any_mixed_windows_decode_steps_sum_to_generate(network: Network, data: st.DataObject) -> None:
    P = data.draw(st.integers(1, int(network.seq)), "prompt")
    G = data.draw(st.integers(1, 4), "new")
    steps = [derive(network, phase="decode", cache=C) for C in range(P, P + G - 1)]
    whole = complexa.generate(network, prompt=P, new=G)
    summed = {op: sum(s.evaluate()["decode"][op] for s in steps) for op in whole.counts["decode"]}
    assert whole.evaluate()["decode"] == summed
    assert whole.torch_flops["decode"] == sum(s.torch_flops["decode"] for s in steps)
    assert whole.kv_elements == derive(network, phase="prefill", prompt=P + G - 1).kv_elements


# --- against transformers -------------------------------------------------------------------------------------------
def test_params_are_transformers_counts() -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    qwen = {**json.loads((CONFIGS / NAMES["qwen2-7b"]).read_text()), "use_sliding_window": True}
    qwen.update(max_window_layers=14, sliding_window=4096)
    llama = {**json.loads((CONFIGS / NAMES["llama-3-8b"]).read_text()), "mlp_bias": True}
    for config in (qwen, llama):
        made = transformers.AutoConfig.for_model(**config)
        with torch.device("meta"):
            model = transformers.AutoModelForCausalLM.from_config(made)
        network = Network.from_config(config)
        assert params(network) == sum(p.numel() for p in model.parameters())
        assert Network.from_config(made) == network
    assert Network.from_config(qwen).llama_config["window"] == (None,) * 14 + (4096,) * 14
    # Llama-3-8B's 32 layers of MLP biases: 2 * 14336 + 4096 each
    assert params(Network.from_config(llama)) == 8_030_261_248 + 32 * (2 * 14336 + 4096)


@pytest.mark.parametrize(
    "config", [qwen2(), qwen2(max_window_layers=1), llama_mlp_bias()], ids=["qwen2", "qwen2-1", "llama"]
)
def test_the_numerics_are_transformers(config: dict[str, Any]) -> None:
    # transformers' own model of the config (eager attention, float64 throughout), loaded with the reference
    # network's parameters: logits, loss and gradients of the first step, and the parameters after two, to 1e-10.
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from test_llama_kernels import float64_throughout
    from test_llama_numerics import assert_two_steps_are_measured
    from transformers.models.llama import modeling_llama
    from transformers.models.qwen2 import modeling_qwen2

    network = Network.from_config(config, batch=2)
    m = measure(network, lr=0.1, iterations=2)
    values = dict(config)
    made = transformers.AutoConfig.for_model(values.pop("model_type"), **values)
    with float64_throughout(modeling_llama, modeling_qwen2):
        model = transformers.AutoModelForCausalLM.from_config(made, attn_implementation="eager").double()
        assert model.config.to_dict().get("layer_types") == network.to_torch().config.to_dict().get("layer_types")
        assert_two_steps_are_measured(model, m, 0.1)
    # the windows matter: without them the logits differ
    if "sliding_window" in config:
        unwindowed = Network.from_config({**config, "use_sliding_window": False}, batch=2)
        assert not np.allclose(measure(unwindowed, lr=0.1).outputs, m.outputs)


@pytest.mark.parametrize("config", [qwen2(), llama_mlp_bias()], ids=["qwen2", "llama"])
def test_torch_flops_are_flop_counter_modes(config: dict[str, Any]) -> None:
    pytest.importorskip("transformers")
    from test_llama_torch import flop_counts

    network = Network.from_config(config, batch=2)
    forward, training = flop_counts(network.to_torch(), 2, int(network.seq), int(config["vocab_size"]))
    assert flops(network, convention="torch") == forward
    assert flops(network, convention="torch", phase="training") == training


@pytest.mark.parametrize("dtype", ["float64", "bfloat16"])
@pytest.mark.parametrize("config", [qwen2(), llama_mlp_bias()], ids=["qwen2", "llama"])
def test_the_saved_tensors_are_what_transformers_saves(config: dict[str, Any], dtype: str) -> None:
    # memory(layout="torch"): neither the windows nor the MLP's biases change what autograd saves.
    pytest.importorskip("transformers")
    from test_trace_memory import _check_rules

    network = Network.from_config(config, batch=2)
    _check_rules(network, dtype, network.llama_config)


# --- the command --------------------------------------------------------------------------------------------------
def test_derive_config_json_and_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from test_cli import SCHEMAS, run, validate

    path = tmp_path / "config.json"
    path.write_text(json.dumps(qwen2()))
    for argv in (["derive"], ["derive", "--phase", "decode", "--cache", "3"]):
        status, out, err = run(capsys, *argv, "--config", str(path), "--format", "json")
        assert (status, err) == (0, "")
        doc = json.loads(out)
        schema = "inference.json" if "--phase" in argv else "derive.json"
        validate(doc, SCHEMAS[schema], schema)
    status, out, err = run(capsys, "derive", "--config", str(path), "--format", "json")
    doc = json.loads(out)
    assert doc["network"]["llama"]["window"] == [None, None, 2, 2]
    runs = doc["network"]["layers"][1]["runs"]
    assert [(run[0]["window"], run[1]) for run in runs] == [(None, 2), (2, 2)]
    status, out, err = run(capsys, "derive", "--config", str(path))
    assert status == 0 and "window=[None] * 2 + [2] * 2" in out
    llama = tmp_path / "llama.json"
    llama.write_text(json.dumps(llama_mlp_bias()))
    status, out, err = run(capsys, "derive", "--config", str(llama), "--format", "json")
    validate(json.loads(out), SCHEMAS["derive.json"], "derive.json")
    assert json.loads(out)["network"]["layers"][1]["layer"]["mlp_bias"] is True


def test_layers_in_any_stack() -> None:
    # nn.Layers is a kind of its own: GPT blocks, the last unmasked, measured as derived; its torch twin's names.
    layers = nn.Layers([(nn.Block(8, 2, 4), 2), (nn.Block(8, 2, 4, causal=False), 1)])
    network = Network([nn.Embedding(11, 8), layers, nn.Linear(8, 11)], batch=2, loss="cross_entropy")
    assert_derive_is_measure(network, iterations=2)
    assert [row.path for row in rows_of(network) if isinstance(row.layer, nn.Block)] == ["1.0", "1.1", "1.2"]
    assert layers.xreplace({}) == layers and layers.layers[2] == nn.Block(8, 2, 4, causal=False)
    pytest.importorskip("torch")
    names = {f"{row.path}.{name}" for row in rows_of(network) for name, _ in row.layer.parameters(row.width)}
    assert set(network.to_torch().state_dict()) == names
