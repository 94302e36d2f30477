"""The kernels of every kind, one module per kind, each built counting (`COUNTING`) and plain (`PLAIN`).

`complexa.reference._runtime` calls them by kind through a `Backend`; the CUDA ones live beside them, in the
``*_cuda`` modules, imported only for ``backend="cuda"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from complexa import nn
from complexa.reference.kinds import activation, attention, layernorm, linear, llama, loss, moe, optim, residual
from complexa.reference.kinds._jit import cached

__all__ = ["Kernels", "COUNTING", "PLAIN", "CACHED", "NODES", "node_for"]


class Kernels(NamedTuple):
    linear: linear.Kernels
    activation: activation.Kernels
    layernorm: layernorm.Kernels
    residual: residual.Kernels
    loss: loss.Kernels
    optim: optim.Kernels
    attention: attention.Kernels
    llama: llama.Kernels
    moe: moe.Kernels


def _make(count: bool) -> Kernels:
    return Kernels(
        linear.make(count),
        activation.make(count),
        layernorm.make(count),
        residual.make(count),
        loss.make(count),
        optim.make(count),
        attention.make(count),
        llama.make(count),
        moe.make(count),
    )


COUNTING = _make(True)
"""The kernels `measure` runs: they do the arithmetic and count it."""
PLAIN = _make(False)
"""The same kernels with counting compiled out; only the benchmark runs them."""
CACHED = cached(COUNTING.activation.forward)
"""Whether the kernels are cached on disk in this process (False after the fallback to plain `njit`)."""

NODES: dict[type, Callable[..., Any]] = {
    nn.Linear: linear.node,
    nn.Activation: activation.node,
    nn.LayerNorm: layernorm.node,
    nn.Residual: residual.node,
    nn.Embedding: attention.embedding_node,
    nn.PositionEmbedding: attention.position_node,
    nn.CausalSelfAttention: attention.attention_node,
    nn.MLP: attention.mlp_node,
    nn.Block: attention.block_node,
    nn.Repeat: attention.repeat_node,
    nn.Layers: attention.layers_node,
    nn.RMSNorm: llama.rms_norm_node,
    nn.Attention: llama.attention_node,
    nn.SwiGLU: llama.swiglu_node,
    nn.LlamaBlock: attention.block_node,
    nn.MoE: moe.moe_node,
}
"""The registry: a kind of `complexa.nn` -> the function that makes its node (in the kind's kernel module here)."""


def node_for(layer: object) -> Callable[..., Any]:
    """The node maker of `layer`'s kind, or of the nearest kind it derives from (every activation is one kind)."""
    for kind in type(layer).__mro__:
        if kind in NODES:
            return NODES[kind]
    from complexa.errors import ComplexaError

    raise ComplexaError(f"{layer!r}: measure has no counting kernels for this kind of layer yet; derive counts it")
