"""A stack of layers walked in order: the widths checked, each layer's torch path, and which layers compute the
gradient with respect to their input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from complexa._limits import show
from complexa.errors import ComplexaError
from complexa.nn._base import Layer, Width

__all__ = ["Row", "walk", "check"]


@dataclass(frozen=True)
class Row:
    """One layer of a stack, a Residual's body layers included (after the Residual's own row)."""

    path: str
    """Its torch module path: ``"3"``, ``"3.0"``."""
    layer: Layer
    width: sympy.Expr
    """The width coming in."""
    input_grad: bool
    """Whether it computes the gradient with respect to its input: some layer before it has parameters."""


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


def walk(layers: Sequence[Layer], width: sympy.Expr) -> list[Row]:
    """Every layer of the stack with its path, input width and whether it computes its input's gradient."""
    rows: list[Row] = []
    _walk(layers, "", width, False, rows)
    return rows


def _walk(layers: Sequence[Layer], prefix: str, width: sympy.Expr, needs: bool, rows: list[Row]) -> None:
    for k, layer in enumerate(layers):
        rows.append(Row(f"{prefix}{k}", layer, width, needs))
        children = layer.children()
        if children:
            _walk(children, f"{prefix}{k}.", width, needs, rows)
        width = layer.output(Width(width), "").size
        needs = needs or layer.has_parameters
