"""`Embedding(num_embeddings, embedding_dim)`, as `torch.nn.Embedding`, and `PositionEmbedding(num_positions,
embedding_dim)`, GPT's learned positions added to the token embeddings.

The stack's rows are tokens: B samples of `seq` tokens each are B seq rows (`complexa.Network`'s `seq`).

- `Embedding` takes one token id per row and gives its row of the table: a gather, no arithmetic. It starts a
  stack, so it never computes a gradient for its input. Its gradient is a scatter-add into a table of zeros: d add
  per row (torch's ``embedding_dense_backward`` does the same). When an output layer is tied to it (GPT's
  ``lm_head``), the scatter-add adds into that layer's weight gradient instead of zeros: the same count.
- `PositionEmbedding` adds the table's row of each token's position, t = row mod seq: d add per row. Its input's
  gradient is the output's, passed on (nothing computed); its table's gradient sums over the B samples of each
  position: (B - 1) seq d add, as a Linear's bias sums over the batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from complexa.errors import ComplexaError
from complexa.models._layers import Value
from complexa.nn._base import Convert, Cost, Layer, Width, cost, replaced, same, size

__all__ = ["Embedding", "PositionEmbedding"]


class Embedding(Layer):
    """A table of `num_embeddings` rows of `embedding_dim`, looked up by token id, as `torch.nn.Embedding`; the first
    layer of a stack, whose input is one int64 id per row.

    >>> Embedding("V", "d")
    Embedding(V, d)
    """

    kind = "Embedding"
    _fields = ("num_embeddings", "embedding_dim")

    def __init__(self, num_embeddings: object, embedding_dim: object) -> None:
        self.num_embeddings = size(num_embeddings, "Embedding", "num_embeddings")
        self.embedding_dim = size(embedding_dim, "Embedding", "embedding_dim")

    def output(self, width: Width | None, path: str) -> Width:
        if width is not None and width._layer is not None:  # a width that no layer gave is the network's input
            raise ComplexaError(
                f"layer {path} ({self!r}) takes token ids, so it must be the first layer of a network; {width.source} "
                "comes before it"
            )
        return Width(self.embedding_dim, self, path)

    def parameters(self, width: sympy.Expr) -> list[tuple[str, tuple[sympy.Expr, ...]]]:
        return [("weight", (self.num_embeddings, self.embedding_dim))]

    @property
    def has_parameters(self) -> bool:
        return True

    @property
    def fixed_input(self) -> sympy.Expr:
        return sympy.Integer(1)  # one token id per row

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        return cost(gradients={"add": batch * convert(self.embedding_dim)})

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        return batch * convert(self.embedding_dim), 0  # its output

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Embedding:
        return Embedding(
            replaced(self.num_embeddings, mapping, "Embedding(num_embeddings)"),
            replaced(self.embedding_dim, mapping, "Embedding(embedding_dim)"),
        )


class PositionEmbedding(Layer):
    """x + a learned row per position, as GPT adds ``wpe(pos)`` to its token embeddings: `num_positions` is the
    network's `seq`.

    >>> PositionEmbedding("T", "d")
    PositionEmbedding(T, d)
    """

    kind = "PositionEmbedding"
    _fields = ("num_positions", "embedding_dim")

    def __init__(self, num_positions: object, embedding_dim: object) -> None:
        self.num_positions = size(num_positions, "PositionEmbedding", "num_positions")
        self.embedding_dim = size(embedding_dim, "PositionEmbedding", "embedding_dim")

    def output(self, width: Width | None, path: str) -> Width:
        if width is None:
            raise ComplexaError(
                f"layer {path} ({self!r}): a network cannot start with a PositionEmbedding, which adds to its input; "
                "start it with an Embedding"
            )
        if not same(width.size, self.embedding_dim):
            raise ComplexaError(
                f"layer {path} ({self!r}) adds to {self.embedding_dim} features, but {width.source} gives {width.size}"
            )
        return Width(self.embedding_dim, self, path)

    def parameters(self, width: sympy.Expr) -> list[tuple[str, tuple[sympy.Expr, ...]]]:
        return [("weight", (self.num_positions, self.embedding_dim))]

    @property
    def has_parameters(self) -> bool:
        return True

    @property
    def fixed_input(self) -> sympy.Expr:
        return self.embedding_dim

    @property
    def seq(self) -> sympy.Expr:
        return self.num_positions

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        d, t = convert(self.embedding_dim), convert(self.num_positions)
        return cost({"add": batch * d}, None, {"add": batch * d - t * d})

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        return batch * convert(self.embedding_dim), 0  # its output; the gradient passes through

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> PositionEmbedding:
        return PositionEmbedding(
            replaced(self.num_positions, mapping, "PositionEmbedding(num_positions)"),
            replaced(self.embedding_dim, mapping, "PositionEmbedding(embedding_dim)"),
        )
