"""A `Network` as PyTorch writes it, and what a training step in PyTorch needs besides: its states, loss and optimizer.

`to_torch` builds the float64 ``torch.nn.Sequential``; `load_state` copies numpy arrays into it by ``state_dict()``
name; `torch_loss` and `torch_optimizer` give the network's loss (summed over the batch) and optimizer. torch is
imported when one of them is called, and only then: this module is where complexa's kinds meet torch's classes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from complexa.errors import ComplexaError
from complexa.network import Network
from complexa.nn.activations import GELU, Identity, ReLU, Sigmoid, Tanh
from complexa.nn.attention import CausalSelfAttention
from complexa.nn.embedding import Embedding, PositionEmbedding
from complexa.nn.linear import Linear
from complexa.nn.norm import LayerNorm
from complexa.nn.optim import SGD, Adam
from complexa.nn.residual import Residual
from complexa.nn.transformer import MLP, Block, Layers, Repeat

__all__ = ["to_torch", "load_state", "torch_loss", "torch_optimizer"]


def _torch() -> Any:
    """The torch module, or a one-line `ComplexaError` saying what to install."""
    try:
        import torch
    except ImportError:
        raise ComplexaError("PyTorch is not installed; complexa needs it here: pip install 'complexa[torch]'") from None
    return torch


@functools.cache
def _residual_type() -> type:
    """`torch.nn.Sequential` whose forward adds its input: a `Residual`'s body, its parameters named like a
    Sequential's (``"3.0.weight"``). Made once torch is imported; `__getattr__` below names it for pickle."""
    sequential: Any = _torch().nn.Sequential

    class TorchResidual(sequential):
        """x + layers(x)."""

        def forward(self, x: Any) -> Any:
            return x + super().forward(x)

    TorchResidual.__module__, TorchResidual.__qualname__ = __name__, "TorchResidual"
    return TorchResidual


@functools.cache
def _gpt_types() -> dict[str, type]:
    """nanoGPT's modules (model.py), in float64, made once torch is imported: its explicit attention (the path it
    takes without flash attention), the causal mask a buffer outside ``state_dict()``."""
    torch = _torch()
    tnn, functional = torch.nn, torch.nn.functional
    Module: Any = tnn.Module  # torch is imported at run time: a name mypy can take as a base

    class CausalSelfAttention(Module):
        def __init__(self, d: int, heads: int, seq: int, bias: bool, causal: bool) -> None:
            super().__init__()
            self.c_attn = tnn.Linear(d, 3 * d, bias=bias)
            self.c_proj = tnn.Linear(d, d, bias=bias)
            self.n_head, self.n_embd, self.causal = heads, d, causal
            self.register_buffer("bias", torch.tril(torch.ones(seq, seq)).view(1, 1, seq, seq), persistent=False)

        def forward(self, x: Any) -> Any:
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            if self.causal:
                att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = functional.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class MLP(Module):
        def __init__(self, d: int, d_ff: int, bias: bool) -> None:
            super().__init__()
            self.c_fc = tnn.Linear(d, d_ff, bias=bias)
            self.gelu = tnn.GELU(approximate="tanh")
            self.c_proj = tnn.Linear(d_ff, d, bias=bias)

        def forward(self, x: Any) -> Any:
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(Module):
        def __init__(self, d: int, heads: int, seq: int, d_ff: int, bias: bool, causal: bool) -> None:
            super().__init__()
            self.ln_1 = tnn.LayerNorm(d)
            self.attn = CausalSelfAttention(d, heads, seq, bias, causal)
            self.ln_2 = tnn.LayerNorm(d)
            self.mlp = MLP(d, d_ff, bias)

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class PositionEmbedding(Module):
        """x + wpe(positions), GPT's learned positions as a layer of a stack."""

        def __init__(self, seq: int, d: int) -> None:
            super().__init__()
            self.weight = tnn.Parameter(torch.randn(seq, d))

        def forward(self, x: Any) -> Any:
            return x + self.weight[: x.size(1)]

    class GPT(Module):
        def __init__(self, c: Mapping[str, Any]) -> None:
            super().__init__()
            d, seq = int(c["d_model"]), int(c["seq"])
            self.transformer = tnn.ModuleDict(
                {
                    "wte": tnn.Embedding(int(c["vocab"]), d),
                    "wpe": tnn.Embedding(seq, d),
                    "h": tnn.ModuleList(
                        Block(d, int(c["n_heads"]), seq, int(c["d_ff"]), c["bias"], c["causal"])
                        for _ in range(int(c["n_layers"]))
                    ),
                    "ln_f": tnn.LayerNorm(d),
                }
            )
            self.lm_head = tnn.Linear(d, int(c["vocab"]), bias=False)
            if c["tied"]:
                self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx: Any) -> Any:
            t = idx.size(1)
            pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            for block in self.transformer.h:
                x = block(x)
            return self.lm_head(self.transformer.ln_f(x))

    types = {"CausalSelfAttention": CausalSelfAttention, "MLP": MLP, "Block": Block, "GPT": GPT}
    types["PositionEmbedding"] = PositionEmbedding
    for name, kind in types.items():
        kind.__module__, kind.__qualname__ = __name__, f"Torch{name}"
    return types


def __getattr__(name: str) -> Any:
    if name == "TorchResidual":
        return _residual_type()
    if name.startswith("Torch") and name[5:] in ("CausalSelfAttention", "MLP", "Block", "GPT", "PositionEmbedding"):
        return _gpt_types()[name[5:]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# kind -> its torch module, given torch.nn and the layer (a Residual's body is built by `_module`).
_MODULES: dict[type, Callable[[Any, Any], Any]] = {
    Linear: lambda nn, layer: nn.Linear(int(layer.in_features), int(layer.out_features), bias=layer.bias),
    Sigmoid: lambda nn, layer: nn.Sigmoid(),
    Tanh: lambda nn, layer: nn.Tanh(),
    ReLU: lambda nn, layer: nn.ReLU(),
    GELU: lambda nn, layer: nn.GELU(approximate=layer.approximate),
    Identity: lambda nn, layer: nn.Identity(),
    LayerNorm: lambda nn, layer: nn.LayerNorm(
        int(layer.normalized_shape), eps=layer.eps, elementwise_affine=layer.elementwise_affine
    ),
    Embedding: lambda nn, layer: nn.Embedding(int(layer.num_embeddings), int(layer.embedding_dim)),
}


def _module(torch: Any, layer: Any) -> Any:
    if isinstance(layer, Residual):
        return _residual_type()(*(_module(torch, child) for child in layer.layers))
    if isinstance(layer, Repeat):
        return torch.nn.Sequential(*(_module(torch, layer.layer) for _ in range(int(layer.times))))
    if isinstance(layer, Layers):
        return torch.nn.Sequential(*(_module(torch, child) for child in layer.layers))
    gpt = _gpt_types()
    if isinstance(layer, CausalSelfAttention):
        d, h, t = int(layer.d_model), int(layer.n_heads), int(layer.seq_len)
        return gpt["CausalSelfAttention"](d, h, t, layer.bias, layer.causal)
    if isinstance(layer, MLP):
        return gpt["MLP"](int(layer.d_model), int(layer.d_ff), layer.bias)
    if isinstance(layer, Block):
        d, h, t, f = int(layer.d_model), int(layer.n_heads), int(layer.seq_len), int(layer.d_ff)
        return gpt["Block"](d, h, t, f, layer.bias, layer.causal)
    if isinstance(layer, PositionEmbedding):
        return gpt["PositionEmbedding"](int(layer.num_positions), int(layer.embedding_dim))
    make = _MODULES.get(type(layer))
    if make is None:
        raise ComplexaError(f"{layer!r}: to_torch has no torch module for this kind of layer")
    return make(torch.nn, layer)


def to_torch(network: Network) -> Any:
    """The float64 ``torch.nn.Sequential`` that `network` stands for, with torch's own initial parameters.

    Each layer is the torch module of the same name and arguments; a `Residual` is a ``torch.nn.Sequential`` of its
    body whose forward adds its input, so that its parameters are named like ``"3.0.weight"``. The batch is no part
    of a module and may be a symbol.

    **Arguments:**

    - `network`: a `Network` whose layer sizes are integers.

    **Returns:** a ``torch.nn.Sequential`` of float64 parameters.

    **Raises:** `ComplexaError` when a layer size is a symbol (name them with `Network.xreplace`), or when PyTorch is
    not installed.
    """
    torch = _torch()
    symbols = _symbols(network)
    if symbols:
        names = ", ".join(sorted(str(s) for s in symbols))
        raise ComplexaError(
            f"{network!r} has symbols in its layers ({names}): a torch module needs every size an integer; substitute "
            "integers for them first, with Network.xreplace"
        )
    layers = _layer_count(network)
    if layers > MAX_TORCH_LAYERS:
        raise ComplexaError(
            f"{network!r}: {layers:,} layers, every copy of a Repeat's included, more than to_torch builds "
            f"({MAX_TORCH_LAYERS:,}; each is a torch module of its own); use fewer layers"
        )
    if network.gpt_config is not None:
        return _gpt_types()["GPT"](network.gpt_config).double()
    if network.llama_config is not None:
        return transformers_model(network)
    return torch.nn.Sequential(*(_module(torch, layer) for layer in network.layers)).double()


def transformers_model(network: Network) -> Any:
    """The float64 transformers model a `Network.llama` (or `Network.mixtral`) stands for, made from its config
    (`complexa._llama.transformers_config`) with eager attention and eager experts, the implementations complexa
    counts: ``LlamaForCausalLM``, ``MistralForCausalLM``, ``Qwen2ForCausalLM`` or ``MixtralForCausalLM``. Needs
    transformers (``pip install transformers``); raises `ComplexaError` without it."""
    _torch()
    try:
        import transformers
    except ImportError:
        raise ComplexaError(
            "transformers is not installed; a Llama network's torch module is transformers' own: pip install "
            "transformers"
        ) from None
    from complexa._llama import transformers_config

    torch = _torch()
    values = transformers_config(network)
    try:
        config = transformers.AutoConfig.for_model(values.pop("model_type"), **values)
        extra = {"experts_implementation": "eager"} if config.model_type == "mixtral" else {}
        model = transformers.AutoModelForCausalLM.from_config(
            config, attn_implementation="eager", dtype=torch.float64, **extra
        )
    except Exception as error:  # transformers' own validation (huggingface_hub's strict dataclasses raise their own)
        if not isinstance(error, ValueError) and "Validation" not in type(error).__name__:
            raise
        message = " ".join(str(error).split())
        raise ComplexaError(f"{network!r}: transformers refuses its config: {message[:300]}") from None
    return model.double()


MAX_TORCH_LAYERS = 100_000
"""Most layers `to_torch` builds, counted as `measure` counts them: nested Repeats multiply, and a 60-character stack
can stand for a billion modules."""


def _layer_count(network: Network) -> int:
    """The layers `network` stands for, each copy of a Repeat's body one, in closed form for a uniform network."""
    if not network.is_stack:
        return 2 * (int(network.depth) if network.width is not None else len(network.sizes) - 1)
    from complexa.nn._stack import rows_of

    return sum(int(row.times) for row in rows_of(network))


def _symbols(network: Network) -> frozenset[Any]:
    """The symbols in `network`'s layer sizes and depth, not its batch's."""
    if network.is_stack:
        return frozenset().union(*(layer.free_symbols for layer in network.layers))
    shape = [network.width] if network.width is not None else list(network.sizes)
    return frozenset().union(*(expr.free_symbols for expr in (network.depth, *shape)))


def load_state(module: Any, state: Mapping[str, Any]) -> None:
    """Copy `state` (``state_dict()`` name -> float64 array) into `module`'s parameters, in place.

    **Raises:** `ComplexaError` when the names are not exactly the module's, or an array's shape is not its tensor's.
    """
    torch = _torch()
    tensors = module.state_dict()
    if set(state) != set(tensors):
        raise ComplexaError(f"state names {sorted(state)}: the module's are {sorted(tensors)}")
    with torch.no_grad():
        for name, tensor in tensors.items():
            array = np.asarray(state[name], dtype=np.float64)
            if array.shape != tuple(tensor.shape):
                raise ComplexaError(
                    f"state[{name!r}] has shape {array.shape}: the module's tensor has {tuple(tensor.shape)}"
                )
            tensor.copy_(torch.tensor(array))


def torch_loss(network: Network) -> Callable[[Any, Any], Any]:
    """`network`'s loss in torch, summed over the batch: (outputs, targets) -> a scalar tensor. ``mse`` is
    1/2 sum (outputs - targets)^2; ``bce`` takes sigmoid outputs; ``cross_entropy`` takes logits and int64 classes."""
    torch = _torch()
    functional = torch.nn.functional
    if network.loss == "mse":
        return lambda outputs, targets: 0.5 * ((outputs - targets) ** 2).sum()
    if network.loss == "bce":
        return lambda outputs, targets: functional.binary_cross_entropy(outputs, targets, reduction="sum")
    # Over every position of a sequence: (B, T, V) logits and (B, T) targets flattened, as nanoGPT does.
    return lambda outputs, targets: functional.cross_entropy(
        outputs.reshape(-1, outputs.size(-1)), targets.reshape(-1), reduction="sum"
    )


def torch_optimizer(network: Network, params: Iterable[Any], lr: float) -> Any:
    """`network`'s optimizer in torch over `params`: ``"sgd"`` at the learning rate `lr`, or `complexa.nn.SGD` or
    `complexa.nn.Adam` at their own hyperparameters (`lr` unused)."""
    torch = _torch()
    optimizer = network.optimizer
    if isinstance(optimizer, SGD):
        return torch.optim.SGD(params, lr=optimizer.lr, momentum=optimizer.momentum)
    if isinstance(optimizer, Adam):
        # One tensor at a time, as complexa counts it; the result is the same as foreach's.
        return torch.optim.Adam(params, lr=optimizer.lr, betas=optimizer.betas, eps=optimizer.eps, foreach=False)
    return torch.optim.SGD(params, lr=lr)
