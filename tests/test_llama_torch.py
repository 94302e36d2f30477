"""Llama, Mistral, Qwen2 and Mixtral against Hugging Face's transformers (their own models, eager attention and eager
experts): `params` equals the parameters of each shipped config's model built on the meta device (no download);
the parameter names and shapes are the models' ``state_dict()``; flops(convention="torch") equals
``FlopCounterMode`` on the real model, forward and training step; and it equals `complexa.from_torch` of the same
model where that traces it. Skipped cleanly without torch or transformers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from complexa import Network, flops, from_torch, params  # noqa: E402
from complexa.configs import NAMES  # noqa: E402
from complexa.nn._stack import rows_of  # noqa: E402
from complexa.strategies import llamas  # noqa: E402

CONFIGS = Path(__file__).parent.parent / "complexa" / "configs"


def hf_model(config: dict[str, Any], experts: str = "eager", **kwargs: Any) -> Any:
    """transformers' own model for `config`, as its ``model_type`` says, eager attention, `experts` for Mixtral's."""
    values = dict(config)
    made = transformers.AutoConfig.for_model(values.pop("model_type"), **values)
    extra = {"experts_implementation": experts} if made.model_type == "mixtral" else {}
    return transformers.AutoModelForCausalLM.from_config(made, attn_implementation="eager", **extra, **kwargs)


# --- the published parameter counts ------------------------------------------------------------------------------
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
def test_params_are_the_published_and_transformers_counts(name: str, published: int) -> None:
    config = json.loads((CONFIGS / NAMES[name]).read_text())
    with torch.device("meta"):
        model = hf_model(config)
    counted = sum(p.numel() for p in model.parameters())  # a tied tensor once
    assert counted == published
    assert params(Network.from_config(name)) == published
    # transformers' config object (which writes out every default) describes the same network as its config.json.
    assert Network.from_config(transformers.AutoConfig.for_model(**config)) == Network.from_config(name)


# --- tiny models, counted by FlopCounterMode ------------------------------------------------------------------------
TINY = [
    {"model_type": "llama", "num_attention_heads": 4, "num_key_value_heads": 4},  # MHA
    {"model_type": "llama", "num_attention_heads": 4, "num_key_value_heads": 2, "attention_bias": True},  # GQA
    {"model_type": "llama", "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 4},  # MQA, own hd
    {"model_type": "llama", "num_attention_heads": 2, "tie_word_embeddings": True},
    {"model_type": "mistral", "num_attention_heads": 4, "num_key_value_heads": 2, "sliding_window": 2},
    {"model_type": "qwen2", "num_attention_heads": 2, "num_key_value_heads": 1},
    {"model_type": "mixtral", "num_attention_heads": 4, "num_key_value_heads": 2, "num_local_experts": 4},
    {
        "model_type": "mixtral",
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "num_local_experts": 3,
        "num_experts_per_tok": 1,
        "sliding_window": 3,
    },
]


def tiny(**options: Any) -> dict[str, Any]:
    base = {"vocab_size": 13, "hidden_size": 8, "intermediate_size": 6, "num_hidden_layers": 2}
    return {**base, "max_position_embeddings": 5, **options}


def flop_counts(model: Any, batch: int, seq: int, vocab: int) -> tuple[int, int]:
    """FlopCounterMode's forward and training-step totals (the loss summed cross-entropy over every position)."""
    idx = torch.randint(0, vocab, (batch, seq))
    with FlopCounterMode(display=False) as counter:
        model(idx)
    forward = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        logits = model(idx).logits
        torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), idx.reshape(-1), reduction="sum").backward()
    return forward, counter.get_total_flops()


def state_shapes(network: Network) -> dict[str, tuple[int, ...]]:
    """complexa's parameter names and shapes, every copy of a Repeat listed, a tied tensor under both names (as
    ``state_dict()`` has it)."""
    return {
        f"{row.path}.{name}": tuple(int(extent) for extent in shape)
        for row in rows_of(network, every_copy=True)
        for name, shape in row.layer.parameters(row.width)
    }


@pytest.mark.parametrize("options", TINY, ids=lambda o: "-".join(f"{v}" for v in o.values()))
def test_torch_flops_names_and_shapes_are_transformers(options: dict[str, Any]) -> None:
    torch.manual_seed(0)
    config = tiny(**options)
    model = hf_model(config, dtype=torch.float64)
    network = Network.from_config(config, batch=2)
    assert network.seq == 5
    forward, training = flop_counts(model, 2, 5, 13)
    assert flops(network, convention="torch") == forward
    assert flops(network, convention="torch", phase="training") == training
    assert state_shapes(network) == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert params(network) == sum(p.numel() for p in model.parameters())


def test_to_torch_is_transformers_model_of_the_same_counts() -> None:
    network = Network.llama(13, 4, 8, 2, 4, n_kv_heads=2, d_ff=6, batch=2, window=3)
    model = network.to_torch()
    assert type(model).__name__ == "MistralForCausalLM" and model.config.sliding_window == 3
    assert next(model.parameters()).dtype == torch.float64
    assert state_shapes(network) == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    qwen = Network.llama(13, 4, 8, 1, 2, d_ff=6, bias=True).to_torch()
    assert type(qwen).__name__ == "Qwen2ForCausalLM" and qwen.model.layers[0].self_attn.o_proj.bias is None
    mixtral = Network.mixtral(13, 4, 8, 1, 2, n_experts=3, top_k=2, d_ff=6).to_torch()
    assert type(mixtral).__name__ == "MixtralForCausalLM"
    assert tuple(mixtral.model.layers[0].mlp.experts.gate_up_proj.shape) == (3, 12, 8)


@settings(max_examples=12, deadline=None)
@given(llamas(max_vocab=12, max_seq=4, max_layers=2, max_experts=3))
def test_torch_flops_are_flop_counter_modes(network: Network) -> None:
    # Any Llama-style network drawn: its transformers twin counts as complexa says.
    model = network.to_torch()
    assert sum(p.numel() for p in model.parameters()) == params(network)
    forward, training = flop_counts(model, int(network.batch), int(network.seq), int(network.llama_config["vocab"]))
    assert flops(network, convention="torch") == forward
    assert flops(network, convention="torch", phase="training") == training


@pytest.mark.parametrize("options", TINY, ids=lambda o: o["model_type"])
def test_from_torch_counts_the_transformers_model_as_derive(options: dict[str, Any]) -> None:
    # complexa's own tracer on transformers' model agrees with the derivation in torch's convention (Mixtral's
    # experts as batched_mm, which traces: test_from_torch_counts_mixtrals_batched_mm_experts).
    config = tiny(**options)
    model = hf_model(config, experts="batched_mm", dtype=torch.float64)
    network = Network.from_config(config, batch=2)
    traced = from_torch(model, (2, 5), dtype=torch.long, loss=lambda out: out.logits.sum())
    assert flops(traced, convention="torch") == flops(network, convention="torch")
    assert flops(traced, convention="torch", phase="training") == flops(network, convention="torch", phase="training")


def test_from_torch_refuses_mixtrals_data_dependent_routing() -> None:
    # transformers' eager experts loop over the experts a batch hits (nonzero): sizes no formula in the input gives.
    from complexa import ComplexaError

    config = tiny(model_type="mixtral", num_attention_heads=2, num_key_value_heads=2, num_local_experts=3)
    model = hf_model(config, dtype=torch.float64)
    with pytest.raises(ComplexaError, match="depends on its data") as error:
        from_torch(model, (2, 5), dtype=torch.long, loss=lambda out: out.logits.sum())
    assert str(error.value).endswith(
        "'model.layers.0.mlp.experts' runs transformers' eager experts, a loop over the experts a batch hits: switch "
        "them to batched_mm to trace it, model.set_experts_implementation('batched_mm')"
    )
    model.set_experts_implementation("batched_mm")  # as the message says: then it traces
    assert from_torch(model, (2, 5), dtype=torch.long, loss=lambda out: out.logits.sum()).unsupported == {}


def test_from_torch_refuses_mixtrals_grouped_mm_experts() -> None:
    # torch 2.13's grouped_mm has a bfloat16-only shape function and no FlopCounterMode formula.
    from complexa import ComplexaError

    config = tiny(model_type="mixtral", num_attention_heads=2, num_local_experts=3)
    model = hf_model(config, experts="grouped_mm", dtype=torch.bfloat16)
    with pytest.raises(ComplexaError, match=r"^'model.layers.0.mlp.experts' runs transformers' grouped_mm experts"):
        from_torch(model, ("B", "s"), dtype=torch.long)


@pytest.mark.parametrize(
    ("options", "dtype"),
    list(zip([o for o in TINY if o["model_type"] == "mixtral"], [torch.float64, torch.bfloat16])),
    ids=["top2-of-4-float64", "top1-of-3-window-bfloat16"],
)
def test_from_torch_counts_mixtrals_batched_mm_experts(options: dict[str, Any], dtype: torch.dtype) -> None:
    # transformers' batched_mm experts: every token's k experts' weights gathered (S = R k of them, R = B s rows),
    # batched products, a weighted sum: sizes of the input's. The traced formula, symbolic in B and s, against
    # FlopCounterMode and the tensors a real run saves (real random routing), module by module, at two sizes.
    from complexa.testing import flop_counter_total, saved_by_torch

    torch.manual_seed(0)
    config = tiny(**options, num_hidden_layers=1, max_position_embeddings=16)
    model = hf_model(config, experts="batched_mm", dtype=dtype)
    loss = lambda out: out.logits.sum()  # noqa: E731
    traced = from_torch(model, ("B", "s"), dtype=torch.long, loss=loss)
    assert traced.unsupported == {}
    d, f, k = config["hidden_size"], config["intermediate_size"], options.get("num_experts_per_tok", 2)
    w = torch.finfo(dtype).bits // 8
    for B, s in [(2, 5), (3, 7)]:
        idx = torch.randint(0, config["vocab_size"], (B, s))
        for training in (False, True):
            phase = "training" if training else "forward"
            assert traced.at(traced.flops("torch", phase), B=B, s=s) == flop_counter_total(
                model, [idx], training=training, loss=loss
            )
        real = saved_by_torch(model, [idx], loss=loss)
        assert {path: traced.at(v, B=B, s=s) for path, v in traced.saved_bytes_by_layer.items()} == real
        # Each pair keeps its expert's gathered gate_up (2f x d) and down (d x f) weights, the products' inputs (d,
        # f), SiLU's output (f), the down product's output (d) and its float32 routing weight; act_fn the gate and
        # up halves (2f).
        pairs = B * s * k
        assert real["model.layers.0.mlp.experts"] == pairs * (w * (3 * f * d + 2 * d + 2 * f) + 4)
        assert real["model.layers.0.mlp.experts.act_fn"] == pairs * w * 2 * f
