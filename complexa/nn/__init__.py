"""Layer kinds, losses and optimizers, named and parametrised as in `torch.nn` and `torch.optim`.

>>> from complexa import Network, nn, derive
>>> net = Network([nn.Linear(784, "h"), nn.ReLU(), nn.Linear("h", 10)], loss="cross_entropy")
>>> derive(net).counts["forward"]["mul"]
794*h

Each kind's spec and cost rules live in its own module here (docs/counting.md has their tables); its kernels live in
`complexa.reference`; `KINDS` ties the names to the kinds.
"""

from complexa.nn._base import BASE_OPS, KINDS, OPS, Layer
from complexa.nn.activations import GELU, Activation, Identity, ReLU, Sigmoid, SiLU, Tanh
from complexa.nn.attention import CausalSelfAttention
from complexa.nn.embedding import Embedding, PositionEmbedding
from complexa.nn.linear import Linear
from complexa.nn.llama import Attention, LlamaBlock, RotaryEmbedding, SwiGLU
from complexa.nn.moe import MoE
from complexa.nn.norm import LayerNorm, RMSNorm
from complexa.nn.optim import SGD, Adam, Optimizer
from complexa.nn.residual import Residual
from complexa.nn.transformer import MLP, Block, Layers, Repeat

__all__ = [
    "BASE_OPS",
    "GELU",
    "MLP",
    "Block",
    "CausalSelfAttention",
    "Embedding",
    "PositionEmbedding",
    "Repeat",
    "KINDS",
    "OPS",
    "SGD",
    "Activation",
    "Adam",
    "Identity",
    "Layer",
    "LayerNorm",
    "Linear",
    "Optimizer",
    "ReLU",
    "Residual",
    "Sigmoid",
    "Tanh",
    # issue 22: Llama, Mistral, Qwen2 and Mixtral
    "Attention",
    "LlamaBlock",
    "MoE",
    "RMSNorm",
    "RotaryEmbedding",
    "SiLU",
    "SwiGLU",
    "Layers",
]
