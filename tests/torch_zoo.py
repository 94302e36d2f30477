"""The zoo of PyTorch models that `tests/test_from_torch.py` traces, written here in plain torch (no downloads).

Each entry of `ZOO` is (name, factory, inputs, dtype, concrete sizes to check): the factory builds the module, the
inputs are shapes in complexa's sense (ints and symbol names), and each dict of sizes gives the symbols values at
which the traced formula is compared with `FlopCounterMode` on real tensors.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 4))


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


class BasicBlock(nn.Module):
    """ResNet's basic block with a strided projection shortcut."""

    def __init__(self, cin: int = 8, cout: int = 16, stride: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def depthwise_separable() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 24, 1, bias=False),
        nn.BatchNorm2d(24),
        nn.ReLU6(),
    )


class SelfAttention(nn.Module):
    """`nn.MultiheadAttention` used as self-attention."""

    def __init__(self, d: int = 16, heads: int = 4) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x)[0]


class CausalSelfAttention(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(d, 4 * d)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = MLP(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's model, in plain torch: token and position embeddings, pre-norm blocks with causal SDPA, a tied
    language-model head."""

    def __init__(self, vocab: int = 64, block_size: int = 64, d: int = 32, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.block_size = block_size
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(vocab, d),
                wpe=nn.Embedding(block_size, d),
                h=nn.ModuleList([Block(d, heads) for _ in range(layers)]),
                ln_f=nn.LayerNorm(d),
            )
        )
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


class LSTMModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.head = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0])


ZOO: list[tuple[str, Any, tuple[Any, ...], Any, list[dict[str, int]]]] = [
    ("mlp", mlp, (("B", 12),), torch.float32, [{"B": 3}, {"B": 7}]),
    (
        "small_cnn",
        small_cnn,
        (("B", 3, "H", "W"),),
        torch.float32,
        [{"B": 2, "H": 10, "W": 10}, {"B": 3, "H": 11, "W": 17}, {"B": 1, "H": 224, "W": 224}],
    ),
    (
        "basic_block",
        BasicBlock,
        (("B", 8, "H", "W"),),
        torch.float32,
        [{"B": 2, "H": 8, "W": 8}, {"B": 1, "H": 7, "W": 10}, {"B": 1, "H": 3, "W": 3}],
    ),
    (
        "depthwise_separable",
        depthwise_separable,
        (("B", 8, "H", "W"),),
        torch.float32,
        [{"B": 2, "H": 5, "W": 6}, {"B": 3, "H": 4, "W": 4}],
    ),
    ("multihead_attention", SelfAttention, (("B", "s", 16),), torch.float32, [{"B": 2, "s": 5}, {"B": 3, "s": 9}]),
    ("gpt", GPT, (("B", "s"),), torch.long, [{"B": 2, "s": 8}, {"B": 3, "s": 13}]),
]
"""(name, factory, inputs, dtype, sizes): the models checked against FlopCounterMode."""
