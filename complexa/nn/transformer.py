"""The pieces of a GPT as nanoGPT writes them: `MLP`, `Block`, and `Repeat`, a layer applied n times in sequence.

- `MLP(d_model, d_ff, bias=True)`: ``c_fc`` (Linear d -> d_ff), ``gelu`` (GELU, tanh approximation), ``c_proj``
  (Linear d_ff -> d); nothing of its own.
- `Block(d_model, n_heads, seq, d_ff=None, bias=True, causal=True)`: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)),
  with ``ln_1``, ``ln_2`` LayerNorm(d) and ``attn`` a `CausalSelfAttention`. Its own cost is the two residual
  additions, per row: forward 2 d add; backward d add for the gradient after the MLP's branch joins it, and d add
  more for the one after the attention's branch, when the block computes its input's gradient.
- `Repeat(layer, times)`: `times` copies of `layer`, each with its own parameters, applied in sequence (GPT's
  ``transformer.h``, an ``nn.ModuleList``); `times` may be a symbol. Nothing of its own.
- `Layers(runs)`: runs of copies of layers that differ along the depth, each copy with its own parameters, applied in
  sequence and numbered on from one run to the next (``model.layers`` of a Qwen2 whose first layers attend to every
  token and whose others to a sliding window); the copies are integers. Nothing of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from complexa.errors import ComplexaError
from complexa.models._layers import Value
from complexa.nn._base import Convert, Cost, FixedWidth, Layer, Width, cost, replaced, same, size
from complexa.nn.activations import GELU
from complexa.nn.attention import CausalSelfAttention
from complexa.nn.linear import Linear
from complexa.nn.norm import LayerNorm

__all__ = ["MLP", "Block", "Repeat", "Layers"]


class MLP(FixedWidth):
    """nanoGPT's MLP: Linear d -> d_ff, GELU (tanh), Linear d_ff -> d.

    >>> MLP("d", "4*d")
    MLP(d, 4*d)
    """

    kind = "MLP"
    _fields = ("d_model", "d_ff", "bias")

    def __init__(self, d_model: object, d_ff: object, bias: bool = True) -> None:
        self.d_model = size(d_model, "MLP", "d_model")
        self.d_ff = size(d_ff, "MLP", "d_ff")
        self.bias = bool(bias)
        self.c_fc = Linear(self.d_model, self.d_ff, bias=self.bias)
        self.gelu = GELU(approximate="tanh")
        self.c_proj = Linear(self.d_ff, self.d_model, bias=self.bias)

    def children(self) -> tuple[Layer, ...]:
        return (self.c_fc, self.gelu, self.c_proj)

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        return [("c_fc", self.c_fc, self.d_model), ("gelu", self.gelu, self.d_ff), ("c_proj", self.c_proj, self.d_ff)]

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        return cost()

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        return 0, 0

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> MLP:
        return MLP(
            replaced(self.d_model, mapping, "MLP(d_model)"), replaced(self.d_ff, mapping, "MLP(d_ff)"), self.bias
        )

    def __repr__(self) -> str:
        return f"MLP({self.d_model}, {self.d_ff}{'' if self.bias else ', bias=False'})"


class ResidualBlock(FixedWidth):
    """A pre-norm transformer block's own work, the two residual sums x + attention(norm(x)) and x + mlp(norm(x)) of
    d_model features a row (its layers count theirs): nanoGPT's `Block` and Llama's `complexa.nn.LlamaBlock`."""

    d_model: sympy.Expr
    seq_len: sympy.Expr

    @property
    def seq(self) -> sympy.Expr:
        return self.seq_len

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        d = convert(self.d_model)
        return cost({"add": 2 * batch * d}, {"add": (2 if input_grad else 1) * batch * d})

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        d = convert(self.d_model)
        # The two sums (after each branch); the gradient after the MLP's branch joins, and the input's.
        return 2 * batch * d, (2 if input_grad else 1) * batch * d


class Block(ResidualBlock):
    """nanoGPT's transformer block, pre-LayerNorm: x + attn(ln_1(x)), then x + mlp(ln_2(x)); `d_ff` is 4 d_model
    unless given.

    >>> Block("d", 12, "T")
    Block(d, 12, T)
    """

    kind = "Block"
    _fields = ("d_model", "n_heads", "seq_len", "d_ff", "bias", "causal")

    def __init__(
        self,
        d_model: object,
        n_heads: object,
        seq: object,
        d_ff: object = None,
        bias: bool = True,
        causal: bool = True,
    ) -> None:
        self.attn = CausalSelfAttention(d_model, n_heads, seq, bias, causal)
        self.d_model, self.n_heads, self.seq_len = self.attn.d_model, self.attn.n_heads, self.attn.seq_len
        self.bias, self.causal = self.attn.bias, self.attn.causal
        self.d_ff = 4 * self.d_model if d_ff is None else size(d_ff, "Block", "d_ff")
        self.ln_1 = LayerNorm(self.d_model)
        self.ln_2 = LayerNorm(self.d_model)
        self.mlp = MLP(self.d_model, self.d_ff, self.bias)

    def children(self) -> tuple[Layer, ...]:
        return (self.ln_1, self.attn, self.ln_2, self.mlp)

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        d = self.d_model
        return [("ln_1", self.ln_1, d), ("attn", self.attn, d), ("ln_2", self.ln_2, d), ("mlp", self.mlp, d)]

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Block:
        where = "Block"
        return Block(
            replaced(self.d_model, mapping, f"{where}(d_model)"),
            replaced(self.n_heads, mapping, f"{where}(n_heads)"),
            replaced(self.seq_len, mapping, f"{where}(seq)"),
            replaced(self.d_ff, mapping, f"{where}(d_ff)"),
            self.bias,
            self.causal,
        )

    def __repr__(self) -> str:
        extra = "" if sympy.expand(self.d_ff - 4 * self.d_model) == 0 else f", d_ff={self.d_ff}"
        extra += "" if self.bias else ", bias=False"
        extra += "" if self.causal else ", causal=False"
        return f"Block({self.d_model}, {self.n_heads}, {self.seq_len}{extra})"


class Repeat(Layer):
    """`times` copies of `layer` in sequence, each with parameters of its own, as GPT's ``transformer.h``; the layer
    must keep its width. `times` may be a symbol: the counts are then closed forms in it.

    >>> Repeat(Block("d", 4, "T"), "L")
    Repeat(Block(d, 4, T), L)
    """

    kind = "Repeat"
    _fields = ("layer", "times")

    def __init__(self, layer: Layer, times: object) -> None:
        if not isinstance(layer, Layer):
            raise ComplexaError(f"Repeat(layer) = {layer!r}: must be a layer of complexa.nn, such as nn.Block(...)")
        self.layer = layer
        self.times = size(times, "Repeat", "times")

    def children(self) -> tuple[Layer, ...]:
        return (self.layer,)

    @property
    def repeats(self) -> sympy.Expr:
        return self.times

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        return [(str(i), self.layer, width) for i in range(int(self.times))]

    def output(self, width: Width | None, path: str) -> Width:
        start = width
        inner = self.layer.output(width, f"{path}.0")
        if start is not None and not same(inner.size, start.size):
            raise ComplexaError(
                f"layer {path} ({self!r}) must keep the width: it takes {start.size} from {start.source}, and its "
                f"layer gives {inner.size}"
            )
        if start is None and self.layer.fixed_input is not None and not same(inner.size, self.layer.fixed_input):
            raise ComplexaError(f"layer {path} ({self!r}) must keep the width: its layer gives {inner.size}")
        return Width(inner.size, self, path)

    @property
    def has_parameters(self) -> bool:
        return self.layer.has_parameters

    @property
    def fixed_input(self) -> sympy.Expr | None:
        return self.layer.fixed_input

    @property
    def seq(self) -> sympy.Expr | None:
        return self.layer.seq

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        return cost()

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        return 0, 0

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Repeat:
        return Repeat(self.layer.xreplace(mapping), replaced(self.times, mapping, "Repeat(times)"))

    def __repr__(self) -> str:
        return f"Repeat({self.layer!r}, {self.times})"


MAX_LAYERS = 1000
"""The most layers a `Layers` lists (each one walked, measured and printed on its own)."""


class Layers(Layer):
    """Runs of copies of layers in sequence, each copy with parameters of its own, numbered 0, 1, ... on from one
    run to the next, as an ``nn.ModuleList`` whose layers differ along the depth (a Qwen2's ``model.layers``, full
    attention first, then a sliding window). Each layer must keep its width; the copies are integers (a run of a
    symbolic number of copies is a `Repeat`).

    **Arguments:** `runs`, a non-empty list of (layer, copies) pairs.

    >>> Layers([(Block("d", 4, "T"), 2), (Block("d", 4, "T", causal=False), 1)])
    Layers([(Block(d, 4, T), 2), (Block(d, 4, T, causal=False), 1)])
    """

    kind = "Layers"
    _fields = ("runs",)

    def __init__(self, runs: object) -> None:
        from complexa._limits import show

        if isinstance(runs, (str, bytes)) or not isinstance(runs, (list, tuple)) or not runs:
            raise ComplexaError(
                f"Layers(runs) = {show(runs)}: must be a non-empty list of (layer, copies) pairs, such as "
                "[(nn.Block(64, 4, 16), 2)]"
            )
        checked: list[tuple[Layer, sympy.Expr]] = []
        for k, run in enumerate(runs):
            if not (isinstance(run, (list, tuple)) and len(run) == 2 and isinstance(run[0], Layer)):
                raise ComplexaError(
                    f"Layers(runs)[{k}] = {show(run)}: must be a (layer, copies) pair, such as (nn.Block(64, 4, 16), 2)"
                )
            copies = size(run[1], "Layers", f"runs[{k}] copies")
            if not copies.is_Integer:
                raise ComplexaError(
                    f"Layers(runs)[{k}] copies = {copies}: must be an integer; a symbolic number of copies of one "
                    "layer is nn.Repeat(layer, times)"
                )
            checked.append((run[0], copies))
        self.runs = tuple(checked)
        total = sum(int(copies) for _, copies in self.runs)
        if total > MAX_LAYERS:
            raise ComplexaError(f"Layers: {total:,} layers, more than the {MAX_LAYERS:,} it lists one by one")

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Every copy, in order."""
        return tuple(layer for layer, copies in self.runs for _ in range(int(copies)))

    def children(self) -> tuple[Layer, ...]:
        return tuple(layer for layer, _ in self.runs)

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        return [(str(i), layer, width) for i, layer in enumerate(self.layers)]

    def output(self, width: Width | None, path: str) -> Width:
        first = width.size if width is not None else self.runs[0][0].fixed_input
        index = 0
        for layer, copies in self.runs:
            gives = layer.output(width, f"{path}.{index}").size
            if first is None or not same(gives, first):
                raise ComplexaError(
                    f"layer {path} ({self!r}) must keep the width: its layer {index} takes {first} and gives {gives}"
                )
            width, index = Width(first, self, path), index + int(copies)
        return Width(first, self, path)

    @property
    def has_parameters(self) -> bool:
        return any(layer.has_parameters for layer, _ in self.runs)

    @property
    def fixed_input(self) -> sympy.Expr | None:
        return self.runs[0][0].fixed_input

    @property
    def seq(self) -> sympy.Expr | None:
        return next((layer.seq for layer, _ in self.runs if layer.seq is not None), None)

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        return cost()

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        return 0, 0

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Layers:
        return Layers([(layer.xreplace(mapping), copies) for layer, copies in self.runs])

    def __repr__(self) -> str:
        return f"Layers([{', '.join(f'({layer!r}, {copies})' for layer, copies in self.runs)}])"
