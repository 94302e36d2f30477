"""The exact model: every scalar operation a network performs in one training step (docs/counting.md).

Every count comes from the cost rules of the layer kinds (`complexa.nn`), the loss and the optimizer. A network
given as layers is walked layer by layer (`stack`); a dense network given by its sizes is the same rules summed over
its layers with `Layers` (`sections`), so that a symbolic depth, a uniform network of any depth and the textbook
form with n^{(k)} and sums all come from one source: Linear n_{k-1} -> n_k and the activation, for k = 1..L, whose
first Linear computes no gradient for the network's input.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy

from complexa.models._layers import Layers, Value
from complexa.nn import activations, linear
from complexa.nn import losses as _losses
from complexa.nn._base import BASE_OPS, OPS, SECTIONS, Cost, Layer, merge
from complexa.nn._stack import Row as StackRow
from complexa.nn._stack import rows_of
from complexa.nn.optim import SGD, Optimizer

__all__ = [
    "OPS",
    "PHASES",
    "SECTIONS",
    "Row",
    "ops_of",
    "optimizer_of",
    "parameter_counts",
    "parameters",
    "parts",
    "sections",
    "stack",
    "tensors",
]

PHASES = ("forward", "backward", "update")
"""The phases of a training step; ``backward`` is the ``error`` and ``gradients`` sections together."""

Row = tuple[str, Cost, Value, Value]
"""(torch path, per-step cost, parameter elements, parameter tensors) of one layer, or of the loss."""


def optimizer_of(network: object) -> Optimizer:
    """The network's optimizer; ``"sgd"`` is plain SGD."""
    value = network.optimizer  # type: ignore[attr-defined]
    return SGD() if isinstance(value, str) else value


def ops_of(network: object) -> tuple[str, ...]:
    """The ops the network's counts list: `BASE_OPS` and any its kinds, loss and optimizer use, in `OPS` order."""
    used = set(BASE_OPS) | set(_losses.USES[network.loss]) | set(optimizer_of(network).uses)  # type: ignore[attr-defined]
    if network.is_stack:  # type: ignore[attr-defined]
        for row in rows_of(network):
            used |= set(row.layer.uses)
    return tuple(op for op in OPS if op in used)


def parameters(layers: Layers, *, bias: bool) -> Value:
    """The number of weights and biases of a dense network: sum over k of n_k n_{k-1} (+ n_k)."""
    n, b = layers.n, int(bias)
    return layers.total(1, 0, lambda k: n(k) * (n(k - 1) + b))


def tensors(layers: Layers, *, bias: bool) -> Value:
    """The number of parameter tensors of a dense network: a weight matrix (and a bias vector) per layer."""
    return layers.total(1, 0, lambda k: 1 + int(bias))


def parts(layers: Layers, batch: Value, *, bias: bool, activation: str, loss: str) -> tuple[Cost, Cost, Cost]:
    """What one training step of a dense network computes, (its Linear layers, its activations, its loss), each by
    section (`SECTIONS`) and op; absent ops are zero.

    **Arguments:** `layers` (concrete, uniform or general sizes), `batch` (B), and `bias`, `activation`, `loss` as in
    `Network`.
    """
    n, L, B = layers.n, layers.depth, batch
    dense = merge(
        [
            {"forward": layers.totals(1, 0, lambda k: linear.forward(n(k - 1), n(k), B, bias))},
            # The gradient for a layer's input: every Linear's but the first's.
            {"error": layers.totals(2, 0, lambda k: linear.error(n(k - 1), n(k), B))},
            {"gradients": layers.totals(1, 0, lambda k: linear.gradients(n(k - 1), n(k), B, bias))},
        ]
    )
    acts: list[Cost] = []
    if activations.BY_NAME[activation] is not activations.Identity:
        acts.append({"forward": layers.totals(1, 0, lambda k: activations.forward(n(k), B))})
        # Every activation's backward; the output layer's is taken in by a loss that fuses it (bce).
        acts.append({"error": layers.totals(1, -1, lambda k: activations.error(n(k), B))})
        if not _losses.FUSES[loss]:
            acts.append({"error": activations.error(n(L), B)})
    return dense, merge(acts), {"forward": {}, "error": _losses.error(loss, n(L), B), "gradients": {}}


def sections(layers: Layers, batch: Value, *, bias: bool, activation: str, loss: str) -> Cost:
    """What one training step of a dense network computes, by section (`SECTIONS`) and op: its `parts` together."""
    return merge(list(parts(layers, batch, bias=bias, activation=activation, loss=loss)))


def parameter_counts(layer: Layer, width: sympy.Expr, convert: Callable[[sympy.Expr], Value]) -> tuple[Value, int]:
    """(elements, tensors) of `layer`'s own parameters, for input `width`."""
    shapes = layer.parameters(width)
    elements: Value = 0
    for _, shape in shapes:
        numel: Value = 1
        for extent in shape:
            numel = numel * convert(extent)
        elements = elements + numel
    return elements, len(shapes)


def row_parameters(network: object, row: StackRow, convert: Callable[[sympy.Expr], Value]) -> tuple[Value, Value]:
    """(elements, tensors) of the parameters a stack's row owns: none for a layer tied to another's parameters (GPT's
    ``lm_head``), times the copies a `Repeat`'s template row stands for."""
    if row.path in network.ties:  # type: ignore[attr-defined]
        return 0, 0
    elements, tensors = parameter_counts(row.layer, row.width, convert)
    if row.times != 1:
        times = convert(row.times)
        return times * elements, times * tensors if tensors else 0
    return elements, tensors


def times_cost(c: Cost, times: Value) -> Cost:
    """`c` for `times` copies of its layer."""
    return {name: {op: times * v for op, v in ops.items()} for name, ops in c.items()}


def stack(network: object, convert: Callable[[sympy.Expr], Value], batch: Value) -> list[Row]:
    """One row per layer of a network given as layers (its torch path, its per-step cost over `batch` rows, its
    parameters), and the loss's row (``"loss"``). A `Repeat` of symbolic (or many) copies has one row per layer of
    a copy, its path with ``{i}``, its cost the copies' total."""
    from complexa.nn._base import cost

    layers = network.layers  # type: ignore[attr-defined]
    rows = rows_of(network)
    out: list[Row] = []
    fused = _losses.FUSES[network.loss]  # type: ignore[attr-defined]
    names = network.names  # type: ignore[attr-defined]
    last = names[-1] if names else str(len(layers) - 1)
    for row in rows:
        c = row.layer.cost(convert(row.width), batch, row.input_grad, convert)
        if fused and row.path == last:
            c = cost(c["forward"], None, c["gradients"])  # the loss computes this sigmoid's gradient
        if row.times != 1:
            c = times_cost(c, convert(row.times))
        out.append((row.path, c, *row_parameters(network, row, convert)))
    width = convert(network.output_width)  # type: ignore[attr-defined]
    out.append(("loss", {"forward": {}, "error": _losses.error(network.loss, width, batch), "gradients": {}}, 0, 0))  # type: ignore[attr-defined]
    return out
