"""`Network`: the layer sizes, batch and options of a dense feed-forward network, validated once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy

from complexa._choices import ACTIVATIONS, LOSSES
from complexa._limits import show
from complexa._validate import as_choice, as_flag, as_size
from complexa.errors import ComplexaError

__all__ = ["Network", "ACTIVATIONS", "LOSSES", "MAX_LISTED_LAYERS"]

MAX_LISTED_LAYERS = 10**6
"""Deepest uniform network whose sizes `Network.sizes` lists; deeper ones (and symbolic depths) stay in closed form."""


class Network:
    """A dense feed-forward network: sizes n_0..n_L (input to output), a batch size and options.

    **Arguments:**

    - `sizes`: n_0, ..., n_L, at least two. Each is a positive int, a sympy expression, or a string in complexa's
      grammar such as ``"h"``, ``"2*h"`` or ``"h/2 + 1"``. Symbols are positive integers. Sizes count neurons without a
      bias unit: the bias is a separate vector (see `bias`).
    - `batch`: samples per step, B; a positive int or a symbol.
    - `bias`: whether every layer adds a bias vector.
    - `activation`: one of `ACTIVATIONS`, applied in every layer, the output layer included.
    - `loss`: one of `LOSSES`; ``"bce"`` needs ``activation="sigmoid"``.

    **Raises:** `ComplexaError` naming the bad argument.

    >>> Network([784, "h", "h", 10])
    Network([784, h, h, 10])
    >>> Network.uniform("n", "L")
    Network.uniform(n, L)
    """

    __slots__ = ("_sizes", "width", "depth", "batch", "bias", "activation", "loss", "_free_symbols")

    _sizes: tuple[sympy.Expr, ...] | None
    width: sympy.Expr | None
    depth: sympy.Expr
    batch: sympy.Expr
    bias: bool
    activation: str
    loss: str

    def __init__(
        self,
        sizes: Sequence[object],
        *,
        batch: object = 1,
        bias: bool = True,
        activation: str = "sigmoid",
        loss: str = "mse",
    ) -> None:
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise ComplexaError(
                f"sizes = {show(sizes)}: must be a list of layer sizes n_0..n_L, such as [784, 'h', 10]"
            )
        if len(sizes) < 2:
            raise ComplexaError(
                f"sizes = {show(list(sizes))}: a network needs at least two sizes, the input and the output layer"
            )
        checked = tuple(as_size(size, f"sizes[{k}]") for k, size in enumerate(sizes))
        self._init(checked, None, sympy.Integer(len(checked) - 1), batch, bias, activation, loss)

    def _init(
        self,
        sizes: tuple[sympy.Expr, ...] | None,
        width: sympy.Expr | None,
        depth: sympy.Expr,
        batch: object,
        bias: object,
        activation: object,
        loss: object,
    ) -> None:
        self._sizes = sizes
        if width is None and sizes is not None and all(size == sizes[0] for size in sizes):
            width = sizes[0]
        self.width = width
        self.depth = depth
        self.batch = as_size(batch, "batch")
        self.bias = as_flag(bias, "bias")
        self.activation = as_choice(activation, ACTIVATIONS, "activation")
        self.loss = as_choice(loss, LOSSES, "loss")
        if self.loss == "bce" and self.activation != "sigmoid":
            raise ComplexaError(
                f"loss = 'bce' with activation = {self.activation!r}: binary cross-entropy needs sigmoid outputs"
            )

    @classmethod
    def uniform(
        cls,
        width: object,
        depth: object,
        *,
        batch: object = 1,
        bias: bool = True,
        activation: str = "sigmoid",
        loss: str = "mse",
    ) -> Network:
        """The essay's network: `depth` layers of weights between `depth` + 1 layers of `width` neurons.

        `depth` may be a symbol (``"L"``); sums over layers then keep symbolic bounds.

        >>> Network.uniform(3, 2).sizes
        (3, 3, 3)
        """
        network = cls.__new__(cls)
        width_expr = as_size(width, "width")
        depth_expr = as_size(depth, "depth")
        # Kept in closed form whatever the depth: a depth of 10**18 is as quick to derive as a symbolic one.
        network._init(None, width_expr, depth_expr, batch, bias, activation, loss)
        return network

    @property
    def sizes(self) -> tuple[sympy.Expr, ...]:
        """n_0..n_L; raises `ComplexaError` when the depth is a symbol or above `MAX_LISTED_LAYERS`."""
        if self._sizes is not None:
            return self._sizes
        if self.symbolic_depth:
            raise ComplexaError(f"depth = {self.depth}: the sizes of a network of symbolic depth are not a list")
        if self.depth > MAX_LISTED_LAYERS:
            raise ComplexaError(
                f"depth = {self.depth}: a uniform network deeper than {MAX_LISTED_LAYERS:,} layers is kept in closed "
                "form; its sizes are not listed"
            )
        assert self.width is not None
        return (self.width,) * (int(self.depth) + 1)

    @property
    def listed(self) -> bool:
        """Whether `sizes` is a list: the depth is an integer of at most `MAX_LISTED_LAYERS`."""
        return not self.symbolic_depth and self.depth <= MAX_LISTED_LAYERS

    @property
    def symbolic_depth(self) -> bool:
        """Whether the number of layers is a symbol."""
        return not self.depth.is_Integer

    @property
    def is_uniform(self) -> bool:
        """Whether every layer, input and output included, has the same size."""
        return self.width is not None

    @property
    def free_symbols(self) -> frozenset[sympy.Symbol]:
        """Every symbol in the sizes, the depth and the batch."""
        try:
            return self._free_symbols
        except AttributeError:  # found once: a network never changes
            exprs = [self.batch, self.depth, *(self._sizes or (self.width,))]
            self._free_symbols: frozenset[sympy.Symbol] = frozenset().union(
                *(e.free_symbols for e in exprs if not e.is_Integer)
            )
            return self._free_symbols

    @property
    def is_concrete(self) -> bool:
        """Whether every size and the batch are integers."""
        return not self.free_symbols

    def options(self) -> dict[str, object]:
        """The keyword options, as `Network` takes them."""
        return {"batch": self.batch, "bias": self.bias, "activation": self.activation, "loss": self.loss}

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Network:
        """This network with symbols replaced; each new size must still be a positive integer or a symbol."""
        options = self.options()
        options["batch"] = _replaced(self.batch, mapping, "batch")
        if self._sizes is None:
            assert self.width is not None
            depth = _replaced(self.depth, mapping, "depth")
            return Network.uniform(_replaced(self.width, mapping, "width"), depth, **options)  # type: ignore[arg-type]
        sizes = [_replaced(size, mapping, f"sizes[{k}]") for k, size in enumerate(self._sizes)]
        return Network(sizes, **options)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        shape = (self.width, self.depth) if self.width is not None else self._sizes
        return (shape, self.batch, self.bias, self.activation, self.loss)

    def __repr__(self) -> str:
        defaults = {"batch": sympy.Integer(1), "bias": True, "activation": "sigmoid", "loss": "mse"}
        extra = "".join(f", {k}={v!r}" for k, v in self.options().items() if v != defaults[k])
        if self.width is not None and (self.symbolic_depth or self.depth > 7):
            return f"Network.uniform({self.width}, {self.depth}{extra})"
        return f"Network([{', '.join(map(str, self.sizes))}]{extra})"


def _replaced(expr: sympy.Expr, mapping: Mapping[sympy.Symbol, sympy.Expr], where: str) -> sympy.Expr:
    value = expr.xreplace(mapping)
    if value.is_number and not (value.is_Integer and value > 0):
        raise ComplexaError(f"{where} = {expr} becomes {value}, which is not a positive integer")
    return value
