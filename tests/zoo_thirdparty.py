"""Models nobody here wrote, built from their libraries' code with small configs and no weights (nothing is
downloaded): torchvision's classification models, timm's, and transformers' GPT-2, BERT, Llama (grouped-query
attention), Mistral and T5, each with eager and SDPA attention. `tests/test_zoo_thirdparty.py` traces them.

Each entry: (name, factory, inputs, dtype, sizes): the sizes at which the traced formula is compared with
FlopCounterMode on real tensors, 224 x 224 and an odd size among them for images.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import torch

IMAGES = [{"B": 1, "H": 224, "W": 224}, {"B": 2, "H": 97, "W": 131}, {"B": 1, "H": 160, "W": 96}]
TOKENS = [{"B": 1, "s": 16}, {"B": 2, "s": 7}, {"B": 3, "s": 33}]


def _torchvision(name: str, **kwargs: Any) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        import torchvision

        return getattr(torchvision.models, name)(**kwargs)

    return build


def _vit() -> torch.nn.Module:
    from torchvision.models import VisionTransformer

    return VisionTransformer(image_size=224, patch_size=32, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32)


def _timm(name: str) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        import timm

        return timm.create_model(name, pretrained=False)

    return build


def _transformers(kind: str, attention: str) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        import transformers as hf

        small = {"vocab_size": 97, "attn_implementation": attention}
        if kind == "gpt2":
            model = hf.GPT2LMHeadModel(hf.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=128, **small))
        elif kind == "bert":
            config = hf.BertConfig(
                hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, **small
            )
            model = hf.BertForMaskedLM(config)
        elif kind in ("llama", "mistral"):
            config_class, model_class = (
                (hf.LlamaConfig, hf.LlamaForCausalLM) if kind == "llama" else (hf.MistralConfig, hf.MistralForCausalLM)
            )
            config = config_class(
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,  # grouped-query attention: 2 heads share each key and value
                intermediate_size=64,
                **small,
            )
            model = model_class(config)
        else:
            config = hf.T5Config(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, **small)
            model = hf.T5EncoderModel(config)
        return model.eval()  # no dropout: FlopCounterMode's real run and the trace run the same operators

    return build


def available(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


ZOO: list[tuple[str, Callable[[], torch.nn.Module], tuple[Any, ...], Any, list[dict[str, int]], str]] = [
    *(
        (name, _torchvision(name), (("B", 3, "H", "W"),), torch.float32, IMAGES, "torchvision")
        for name in (
            "resnet18",
            "mobilenet_v3_small",
            "efficientnet_b0",
            "shufflenet_v2_x0_5",
            "squeezenet1_0",
            "densenet121",
            "convnext_tiny",
        )
    ),
    # A ViT checks its image size against its own: the image stays 224 x 224, the batch symbolic.
    ("vit", _vit, (("B", 3, 224, 224),), torch.float32, [{"B": 1}, {"B": 2}, {"B": 3}], "torchvision"),
    *(
        (f"timm_{name}", _timm(name), (("B", 3, "H", "W"),), torch.float32, IMAGES, "timm")
        for name in ("resnet10t", "mobilenetv3_small_050")
    ),
    *(
        (f"{kind}_{attention}", _transformers(kind, attention), (("B", "s"),), torch.long, TOKENS, "transformers")
        for kind in ("gpt2", "bert", "llama", "mistral", "t5")
        for attention in ("eager", "sdpa")
    ),
]
"""(name, factory, inputs, dtype, sizes, package): the third-party models checked against FlopCounterMode."""
