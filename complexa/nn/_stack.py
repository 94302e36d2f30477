"""A stack of layers walked in order: the widths checked, each layer's torch path, and which layers compute the
gradient with respect to their input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from complexa._limits import show
from complexa.errors import ComplexaError
from complexa.nn._base import Layer, Width

__all__ = ["Row", "walk", "rows_of", "check", "MAX_LISTED_REPEATS"]

MAX_LISTED_REPEATS = 1000
"""The most copies of a `Repeat`'s body walked one by one, nested Repeats' copies multiplied; more (or a symbolic
number) are walked once, as a template whose path has ``{i}`` for the copy and whose `Row.times` says how many copies
it stands for."""

MAX_LISTED_ROWS = 20_000
"""The most rows a walk lists copy by copy, all its Repeats together: a Repeat whose copies would list more rows is
walked as a template. Work is bounded by the rows listed, not by the layers written (``Repeat(Repeat(..., 1000),
1000)`` is 60 characters and a million layers)."""


@dataclass(frozen=True)
class Row:
    """One layer of a stack, the layers inside it included (after its own row)."""

    path: str
    """Its torch module path: ``"3"``, ``"3.0"``, ``"transformer.h.0.attn"``; ``"transformer.h.{i}.attn"`` for a
    template of `times` copies."""
    layer: Layer
    width: sympy.Expr
    """The width coming in."""
    input_grad: bool
    """Whether it computes the gradient with respect to its input: some layer before it has parameters."""
    times: sympy.Expr = sympy.S.One
    """How many layers this row stands for: 1, or the copies of a `Repeat`'s body it is a template of."""


def check(layers: Sequence[object]) -> tuple[tuple[Layer, ...], sympy.Expr, sympy.Expr]:
    """`layers` as a tuple, its input width and its output width; raises `ComplexaError` naming the layer that does
    not fit."""
    if not layers:
        raise ComplexaError("layers = []: a network needs at least one layer, such as [nn.Linear(784, 10)]")
    width: Width | None = None
    first: sympy.Expr | None = None
    for k, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise ComplexaError(
                f"layers[{k}] = {show(layer)}: must be a layer of complexa.nn, such as nn.Linear(784, 'h'); a list of "
                "sizes may not mix with layers"
            )
        if width is None:
            first = layer.fixed_input  # the layer's own `output` refuses a start without one
        width = layer.output(width, str(k))
    assert width is not None and first is not None
    return tuple(layers), first, width.size  # type: ignore[arg-type]


def walk(
    layers: Sequence[Layer], width: sympy.Expr, names: Sequence[str] | None = None, *, every_copy: bool = False
) -> list[Row]:
    """Every layer of the stack with its path, input width and whether it computes its input's gradient; `names`
    are the top-level layers' torch names (by default their positions). A `Repeat` of more than
    `MAX_LISTED_REPEATS` copies is walked as a template unless `every_copy` (the runtime, which trains every one)."""
    rows: list[Row] = []
    items: list[tuple[str, Layer, sympy.Expr]] = []
    for k, layer in enumerate(layers):
        items.append((names[k] if names is not None else str(k), layer, width))
        width = layer.output(Width(width), "").size
    _walk(items, "", False, sympy.Integer(1), rows, every_copy, 1, {})
    return rows


def rows_of(network: object, *, every_copy: bool = False) -> list[Row]:
    """`walk` of a `complexa.Network` given as layers, its layers named as its torch module's."""
    return walk(network.layers, network.input_width, network.names, every_copy=every_copy)  # type: ignore[attr-defined]


def _walk(
    items: list[tuple[str, Layer, sympy.Expr]],
    prefix: str,
    needs: bool,
    times: sympy.Expr,
    rows: list[Row],
    every_copy: bool,
    copies: int,
    sizes: dict[int, int],
    parallel: frozenset[str] = frozenset(),
) -> bool:
    """Append the rows of `items` to `rows`; `copies` is how many times the caller lists them (the product of the
    enclosing Repeats listed copy by copy), `sizes` the rows each layer walks as a template, by id. The items named
    in `parallel` take the caller's input, so they compute its gradient only when the caller does."""
    entry = needs
    for name, layer, width in items:
        path = f"{prefix}{name}"
        after = needs  # what the layers after this one see, whatever this one is
        if name in parallel:
            needs = entry
        rows.append(Row(path, layer, width, needs, times))
        count = layer.repeats
        listed = (
            count is not None
            and count.is_Integer
            and (
                every_copy
                or (
                    copies * count <= MAX_LISTED_REPEATS
                    and len(rows) + int(count) * _template_rows(layer.children()[0], sizes) <= MAX_LISTED_ROWS
                )
            )
        )
        if count is not None and not listed:
            (body,) = layer.children()
            if needs or not body.has_parameters:
                _walk([("{i}", body, width)], f"{path}.", needs, times * count, rows, every_copy, copies, sizes)
            else:  # the first copy computes no gradient for its input; the others do
                _walk([("0", body, width)], f"{path}.", needs, times, rows, every_copy, copies, sizes)
                _walk([("{i}", body, width)], f"{path}.", True, times * (count - 1), rows, every_copy, copies, sizes)
        else:
            listed_copies = copies if count is None else copies * int(count)
            inner = layer.inner(width)
            _walk(inner, f"{path}.", needs, times, rows, every_copy, listed_copies, sizes, layer.parallel)
        needs = after or needs or layer.has_parameters
    return needs


def _template_rows(layer: Layer, sizes: dict[int, int]) -> int:
    """The rows `layer` walks as, its Repeats as templates (two rows each for its body, at most): what one listed copy
    of it costs at least."""
    key = id(layer)
    if key not in sizes:
        children = layer.children()
        if layer.repeats is not None:
            sizes[key] = 1 + 2 * _template_rows(children[0], sizes)
        else:
            sizes[key] = 1 + sum(_template_rows(child, sizes) for child in children)
    return sizes[key]
