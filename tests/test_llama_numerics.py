"""Llama's measured numerics are Hugging Face's: a tiny ``LlamaForCausalLM`` (MHA, GQA, MQA), ``MistralForCausalLM``
(a sliding window), ``Qwen2ForCausalLM`` (biases on q, k and v) and ``MixtralForCausalLM`` (top-k routed experts),
eager attention and experts, float64, loaded with the
reference network's ``state_dict()`` under the same names and fed the same token ids: the logits, the loss (summed,
as complexa's), every gradient and the parameters after two steps of plain SGD agree to 1e-10.

transformers computes RMSNorm, the softmax and the rotary tables in float32 whatever the model's dtype; its modules
run here under `float64_throughout`, which makes those casts float64 and changes nothing else (tests/
test_llama_kernels.py), and Mixtral's router, which casts its logits with ``.float()``, runs its own source without
that cast (`router_in_float64`). Skipped without torch and transformers."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from test_llama_kernels import float64_throughout  # noqa: E402
from test_llama_measure import llama  # noqa: E402
from transformers.models.llama import modeling_llama  # noqa: E402
from transformers.models.mistral import modeling_mistral  # noqa: E402
from transformers.models.mixtral import modeling_mixtral  # noqa: E402
from transformers.models.qwen2 import modeling_qwen2  # noqa: E402

from complexa import Network, measure  # noqa: E402

CLOSE = {"rtol": 1e-10, "atol": 1e-12}
LR = 0.1


def hugging_face(network: Network, family: str) -> Any:
    """The transformers model of `network` (a `Network.llama`), float64, eager attention."""
    block = network.layers[1].layer
    attn = block.self_attn
    common = {
        "vocab_size": int(network.layers[0].num_embeddings),
        "hidden_size": int(attn.d_model),
        "intermediate_size": int(block.d_ff),
        "num_hidden_layers": int(network.layers[1].times),
        "num_attention_heads": int(attn.n_heads),
        "num_key_value_heads": int(attn.n_kv_heads),
        "head_dim": int(attn.q_dim) // int(attn.n_heads),
        "max_position_embeddings": int(attn.seq_len),
        "rms_norm_eps": block.eps,
        "rope_parameters": {"rope_type": "default", "rope_theta": attn.rope_theta},
        "tie_word_embeddings": bool(network.llama_config["tied"]),
        "attn_implementation": "eager",
    }
    if family == "llama":
        config = transformers.LlamaConfig(**common, attention_bias=attn.bias)
        model = transformers.LlamaForCausalLM(config)
    elif family == "mixtral":
        moe = block.mlp
        config = transformers.MixtralConfig(
            **common,
            num_local_experts=int(moe.n_experts),
            num_experts_per_tok=int(moe.top_k),
            sliding_window=None if attn.window is None else int(attn.window),
            router_jitter_noise=0.0,
            experts_implementation="eager",
        )
        model = transformers.MixtralForCausalLM(config)
    elif family == "mistral":
        config = transformers.MistralConfig(**common, sliding_window=None if attn.window is None else int(attn.window))
        model = transformers.MistralForCausalLM(config)
    else:
        config = transformers.Qwen2Config(**common, use_sliding_window=False)
        model = transformers.Qwen2ForCausalLM(config)
    return model.double()


CASES = [
    ("llama", llama(13, 6, 8, 2, 4, 10, batch=2)),  # MHA
    ("llama", llama(13, 6, 8, 2, 4, 10, batch=2, n_kv_heads=2)),  # GQA
    ("llama", llama(11, 5, 12, 1, 3, 7, batch=3, n_kv_heads=1, eps=1e-5)),  # MQA
    ("llama", llama(11, 4, 6, 1, 2, 5, batch=2, head_dim=4, rope_theta=500.0)),  # H hd != d
    ("mistral", llama(13, 7, 8, 2, 4, 9, batch=2, n_kv_heads=2, window=3)),  # a sliding window
    ("qwen2", llama(11, 4, 8, 1, 4, 6, batch=2, n_kv_heads=2, bias=True, rope_theta=1e6)),  # biases on q, k, v
    ("llama", llama(9, 4, 8, 1, 2, 6, batch=2, tied=True)),  # lm_head is the embedding
    # Mixtral: two of four experts (GQA); one of three with a window; every one of three.
    ("mixtral", Network.mixtral(11, 5, 8, 2, 4, n_kv_heads=2, n_experts=4, top_k=2, d_ff=6, batch=2)),
    ("mixtral", Network.mixtral(9, 4, 4, 1, 2, n_kv_heads=1, n_experts=3, top_k=1, d_ff=5, batch=2, window=2)),
    ("mixtral", Network.mixtral(9, 3, 4, 1, 2, n_experts=3, top_k=3, d_ff=3, batch=2)),
]


@pytest.fixture
def router_in_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mixtral's router computing its softmax in the model's dtype: its ``forward``, compiled from its own source with
    the one ``router_logits.float()`` made ``router_logits``."""
    router = modeling_mixtral.MixtralTopKRouter
    source = textwrap.dedent(inspect.getsource(router.forward))
    assert source.count(".float()") == 1 and "router_logits.float()" in source
    namespace: dict[str, Any] = {}
    exec(source.replace("router_logits.float()", "router_logits"), vars(modeling_mixtral), namespace)
    monkeypatch.setattr(router, "forward", namespace["forward"])


@pytest.mark.parametrize(("family", "network"), CASES, ids=[f"{f}-{n!r}" for f, n in CASES])
def test_the_numerics_are_hugging_faces(family: str, network: Network, router_in_float64: None) -> None:
    # Two steps: the first's outputs, loss and gradients, and the parameters after both (each step's gradients from
    # zero, as optimizer.zero_grad() has them).
    m = measure(network, lr=LR, iterations=2)
    modules = (modeling_llama, modeling_mistral, modeling_qwen2, modeling_mixtral)
    with float64_throughout(*modules):
        assert_two_steps_are_measured(hugging_face(network, family), m, LR)


def assert_two_steps_are_measured(model: Any, m: Any, lr: float) -> None:
    """`model` (a transformers causal LM in float64), loaded with the measured network's parameters and trained two
    SGD steps as `measure` trained it (`m`, with `lr`): the first step's logits, loss and gradients, and the
    parameters after both, agree to `CLOSE`."""
    state = {name: torch.tensor(value) for name, value in m.state_before.items()}
    assert sorted(state) == sorted(model.state_dict())  # the same names, every one
    model.load_state_dict(state)
    parameters = dict(model.named_parameters())
    assert sorted(parameters) == sorted(m.gradients)
    optimizer = torch.optim.SGD(parameters.values(), lr=lr)
    ids, targets = torch.tensor(m.inputs), torch.tensor(m.targets)
    for step in range(2):
        optimizer.zero_grad()
        logits = model(input_ids=ids).logits
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum"
        )
        loss.backward()
        if step == 0:
            np.testing.assert_allclose(logits.detach().numpy(), m.outputs, **CLOSE)
            np.testing.assert_allclose(loss.item(), m.loss, **CLOSE)
            for name, parameter in parameters.items():
                np.testing.assert_allclose(parameter.grad.numpy(), m.gradients[name], err_msg=name, **CLOSE)
        optimizer.step()
    for name, tensor in model.state_dict().items():
        np.testing.assert_allclose(tensor.numpy(), m.state_after[name], err_msg=name, **CLOSE)


def test_without_float64_throughout_hugging_face_is_float32_accurate() -> None:
    # The same model as transformers runs it: its float32 casts cost about 1e-7 of agreement, no more.
    network = CASES[1][1]
    m = measure(network, lr=LR)
    model = hugging_face(network, "llama")
    model.load_state_dict({name: torch.tensor(value) for name, value in m.state_before.items()})
    logits = model(input_ids=torch.tensor(m.inputs)).logits.detach().numpy()
    difference = np.abs(logits - m.outputs).max()
    assert 1e-12 < difference < 1e-5
