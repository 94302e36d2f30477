"""What every layer kind is: its spec (sizes, parameters, the torch module it stands for) and its cost rules.

A kind's cost rules give, per training step, what it computes in three sections, each op -> count:

- ``forward``: its output from its input;
- ``error``: the gradient with respect to its input, from the gradient with respect to its output; performed only
  when something before it has parameters (torch's autograd computes no gradient for the network's input either);
- ``gradients``: the gradients of its parameters, summed over the batch.

The ``update`` of its parameters is the optimizer's (`complexa.nn.optim`). Counts are Values (`complexa.models.
_layers.Value`): Python ints, polynomials or sympy expressions; each rule is written once and serves all three.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import sympy

from complexa._limits import show
from complexa._validate import as_size
from complexa.errors import ComplexaError
from complexa.models._layers import Value

__all__ = ["OPS", "BASE_OPS", "SECTIONS", "Cost", "Layer", "FixedWidth", "Width", "merge", "KINDS"]

OPS = ("mul", "add", "div", "sqrt", "exp", "cmp", "act", "act_grad")
"""Every operation counted, in the order counts list them (docs/counting.md defines each)."""
BASE_OPS = ("mul", "add", "act", "act_grad")
"""The operations every network's counts list; the others appear only where a kind, loss or optimizer uses them."""
SECTIONS = ("forward", "error", "gradients")
"""The sections of a training step a layer's rules give; the update is the optimizer's."""

Cost = dict[str, dict[str, Value]]
"""section -> op -> count; absent ops are zero."""

Convert = Callable[[sympy.Expr], Value]

KINDS: dict[str, type[Layer]] = {}
"""The registry: torch class name -> kind, filled as each kind's module defines it."""


def cost(
    forward: Mapping[str, Value] | None = None,
    error: Mapping[str, Value] | None = None,
    gradients: Mapping[str, Value] | None = None,
) -> Cost:
    """A cost from its sections, zero entries dropped."""
    out: Cost = {}
    for name, ops in (("forward", forward), ("error", error), ("gradients", gradients)):
        out[name] = {op: v for op, v in (ops or {}).items() if not (isinstance(v, int) and v == 0)}
    return out


def merge(costs: list[Cost]) -> Cost:
    """The sum of `costs`, section by section and op by op."""
    from complexa._poly import add

    columns: dict[str, dict[str, list[Value]]] = {name: {} for name in SECTIONS}
    for c in costs:
        for name, ops in c.items():
            into = columns.setdefault(name, {})
            for op, v in ops.items():
                into.setdefault(op, []).append(v)
    # One sum per column: adding polynomials one at a time would copy the growing total every time.
    return {name: {op: add(values) for op, values in ops.items()} for name, ops in columns.items()}


class Width:
    """A width flowing through a stack, with the layer that gave it (named only when an error message needs it)."""

    __slots__ = ("size", "_layer", "_path")

    def __init__(self, size: sympy.Expr, layer: Layer | None = None, path: str = "") -> None:
        self.size = size
        self._layer = layer
        self._path = path

    @property
    def source(self) -> str:
        """``layer 3 (Linear(h, 10))``."""
        return f"layer {self._path} ({self._layer!r})"


def same(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Whether two sizes are equal: sizes are expanded polynomials, so equal sizes are almost always equal
    structurally; `sympy.expand` settles the rest."""
    return a == b or sympy.expand(a - b) == 0


class Layer:
    """A kind of layer. Subclasses set `kind` (the torch class name), `uses` (ops beyond `BASE_OPS`) and implement
    the methods below; `__init_subclass__` registers them in `KINDS`."""

    kind: ClassVar[str] = ""
    uses: ClassVar[tuple[str, ...]] = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    parallel: ClassVar[frozenset[str]] = frozenset()
    """The names of the layers of `inner` that take this layer's own input, side by side (an attention's q, k and v
    projections): each computes its input's gradient when this layer does, whatever comes before it in `inner`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            KINDS[cls.kind] = cls

    # --- the spec ---------------------------------------------------------------------------------------------------
    def output(self, width: Width | None, path: str) -> Width:
        """The width this layer gives for `width` coming in (None at the start of a stack); raises `ComplexaError`
        when the two do not fit. Elementwise kinds keep the width."""
        if width is None:
            raise ComplexaError(
                f"layer {path} ({self!r}): a network cannot start with {self.kind}, whose width is whatever comes in; "
                "start it with a layer that fixes its input width, such as Linear"
            )
        return Width(width.size, self, path)

    def parameters(self, width: sympy.Expr) -> list[tuple[str, tuple[sympy.Expr, ...]]]:
        """(name, shape) of each parameter tensor, in torch's ``state_dict()`` order, for input `width`."""
        return []

    def children(self) -> tuple[Layer, ...]:
        """The layers inside this one (a `Residual`'s body)."""
        return ()

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        """The layers inside this one as the stack walks them: each with its name (its torch attribute, ``"0"``,
        ``"c_attn"``) and the width coming into it, for `width` coming into this layer. By default its `children`
        in sequence, named by position."""
        out: list[tuple[str, Layer, sympy.Expr]] = []
        for k, layer in enumerate(self.children()):
            out.append((str(k), layer, width))
            width = layer.output(Width(width), "").size
        return out

    @property
    def seq(self) -> sympy.Expr | None:
        """The tokens per sequence this layer works on (a position embedding's, an attention's), or None for a layer
        that treats every row alike; the network's `seq` must equal it."""
        return None

    @property
    def repeats(self) -> sympy.Expr | None:
        """How many times the one layer of `children` is applied in sequence (`complexa.nn.Repeat`), else None."""
        return None

    @property
    def has_parameters(self) -> bool:
        return False

    @property
    def fixed_input(self) -> sympy.Expr | None:
        """The input width the layer requires, or None when it takes whatever comes in (an elementwise kind)."""
        return None

    # --- the rules ------------------------------------------------------------------------------------------------
    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        """What one training step of this layer computes, for input `width` and `batch` samples; `input_grad` says
        whether the gradient with respect to its input is computed (the ``error`` section)."""
        raise NotImplementedError

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        """Float64 elements this layer keeps in a training step, as the reference network allocates them:
        (activations: its output and what its backward pass reads; deltas: the gradients it writes)."""
        raise NotImplementedError

    # --- the rest -------------------------------------------------------------------------------------------------
    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Layer:
        """This layer with symbols replaced in its sizes."""
        return self

    @property
    def free_symbols(self) -> frozenset[sympy.Symbol]:
        out: frozenset[sympy.Symbol] = frozenset()
        for value in self._values():
            if isinstance(value, sympy.Basic):
                out |= value.free_symbols
        for child in self.children():
            out |= child.free_symbols
        return out

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        return f"{self.kind}({', '.join(_show(v) for v in self._values())})"


class FixedWidth(Layer):
    """A layer with parameters that takes and gives `d_model` features (an attention, a transformer block)."""

    d_model: sympy.Expr

    def output(self, width: Width | None, path: str) -> Width:
        if width is not None and not same(width.size, self.d_model):
            raise ComplexaError(
                f"layer {path} ({self!r}) takes {self.d_model} features, but {width.source} gives {width.size}"
            )
        return Width(self.d_model, self, path)

    @property
    def has_parameters(self) -> bool:
        return True

    @property
    def fixed_input(self) -> sympy.Expr:
        return self.d_model


def _show(value: object) -> str:
    if isinstance(value, (Layer, sympy.Basic)):
        return str(value) if isinstance(value, sympy.Basic) else repr(value)
    return repr(value)


def size(value: object, kind: str, name: str) -> sympy.Expr:
    """A layer's size argument, checked, the error naming the kind and the argument."""
    return as_size(value, f"{kind}({name})")


def replaced(expr: sympy.Expr, mapping: Mapping[sympy.Symbol, sympy.Expr], where: str) -> sympy.Expr:
    value = sympy.sympify(expr.xreplace(mapping))
    if value.is_number and not (value.is_Integer and value > 0):
        raise ComplexaError(f"{where} = {expr} becomes {show(value)}, which is not a positive integer")
    return value
