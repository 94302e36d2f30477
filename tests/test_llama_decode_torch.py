"""Llama's generation against transformers' own model, step by step (issue 22, item 3): ``LlamaForCausalLM``
(MHA, GQA, MQA), ``Qwen2ForCausalLM`` (biases on q, k and v), ``MistralForCausalLM`` (a sliding window, prompts
inside and past it) and ``MixtralForCausalLM``, eager attention and experts, float64, loaded with the counting
network's parameters and fed its tokens with a ``DynamicCache``: the logits of the prefill and of every decode step
agree to 1e-10, and the cache after every step holds what the counting network's does: its bytes the derived KV
cache's, and at the end the same rotated keys and values, token for token.

As in tests/test_llama_numerics.py, transformers' float32 casts (RMSNorm, softmax, rotary tables, Mixtral's router)
run in float64 here. Skipped without torch and transformers."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from test_llama_kernels import float64_throughout  # noqa: E402
from test_llama_numerics import router_in_float64  # noqa: E402, F401 (a fixture)
from transformers.models.llama import modeling_llama  # noqa: E402
from transformers.models.mistral import modeling_mistral  # noqa: E402
from transformers.models.mixtral import modeling_mixtral  # noqa: E402
from transformers.models.qwen2 import modeling_qwen2  # noqa: E402

from complexa import Network, derive  # noqa: E402
from complexa.reference import generate  # noqa: E402

CLOSE = {"rtol": 1e-10, "atol": 1e-12}

CASES = [
    ("llama, MHA", Network.llama(13, 6, 8, 2, 4, d_ff=10, batch=2), 3, 4),
    ("llama, GQA", Network.llama(13, 6, 8, 2, 4, n_kv_heads=2, d_ff=10, batch=2), 4, 4),
    ("llama, MQA, head_dim", Network.llama(11, 5, 12, 1, 3, n_kv_heads=1, head_dim=2, d_ff=7, batch=3), 2, 5),
    ("qwen2, biases", Network.llama(11, 4, 8, 1, 4, n_kv_heads=2, d_ff=6, bias=True, rope_theta=1e6), 3, 3),
    ("mistral, a prompt past the window", Network.llama(13, 7, 8, 2, 4, n_kv_heads=2, d_ff=9, window=3), 5, 4),
    ("mistral, into the window", Network.llama(13, 7, 8, 1, 2, d_ff=6, batch=2, window=4), 1, 6),
    ("mixtral", Network.mixtral(11, 5, 8, 2, 4, n_kv_heads=2, n_experts=4, top_k=2, d_ff=6, batch=2), 3, 4),
    ("mixtral, window", Network.mixtral(9, 4, 4, 1, 2, n_kv_heads=1, n_experts=3, top_k=1, d_ff=5, window=2), 3, 3),
    # Qwen2's layer_types: the second layer windowed, the first full (to_torch gives a Qwen2ForCausalLM).
    ("qwen2, layer_types", Network.llama(11, 5, 8, 2, 4, n_kv_heads=2, d_ff=6, bias=True, window=[None, 3]), 4, 4),
    ("llama, mlp_bias", Network.llama(11, 4, 8, 1, 2, d_ff=5, mlp_bias=True, batch=2), 3, 3),
]


def _bytes(cache: object) -> int:
    return sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))  # type: ignore[attr-defined]


@pytest.mark.usefixtures("router_in_float64")
@pytest.mark.parametrize(("network", "prompt", "new"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_step_is_transformers(network: Network, prompt: int, new: int) -> None:
    g = generate(network, prompt=prompt, new=new)
    with float64_throughout(modeling_llama, modeling_mistral, modeling_qwen2, modeling_mixtral):
        model = network.to_torch().eval()
        state = {name: torch.from_numpy(value) for name, value in g.state.items()}
        assert sorted(state) == sorted(model.state_dict())  # the same names, every one
        model.load_state_dict(state)
        cache = transformers.DynamicCache(config=model.config)
        inputs = [torch.from_numpy(g.prompt)] + [torch.from_numpy(g.tokens[:, k : k + 1]) for k in range(new - 1)]
        with torch.no_grad():
            for k, ids in enumerate(inputs):
                if k == 0:
                    phase = derive(network, phase="prefill", prompt=prompt)
                else:
                    phase = derive(network, phase="decode", cache=prompt + k - 1)
                out = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)
                np.testing.assert_allclose(out.logits[:, -1].numpy(), g.logits[k], err_msg=f"step {k}", **CLOSE)
                assert _bytes(cache) == 8 * phase.kv_elements, k
    # The greedy tokens are transformers' own choice, and the caches hold the same keys (rotated) and values.
    assert int(out.logits[:, -1].argmax(-1)[0]) == g.tokens[0, -1]
    assert len(cache.layers) == len(g.cache)
    for layer, (keys, values) in zip(cache.layers, g.cache):
        assert layer.keys.shape == keys.shape and layer.values.shape == values.shape
        np.testing.assert_allclose(layer.keys.numpy(), keys, **CLOSE)
        np.testing.assert_allclose(layer.values.numpy(), values, **CLOSE)
    assert g.kv_elements == sum(k.size + v.size for k, v in g.cache)
