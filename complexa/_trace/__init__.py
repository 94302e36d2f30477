"""`from_torch`: the exact, symbolic operation counts of any ``torch.nn.Module``, forward and backward, by tracing it
with symbolic sizes and counting every ATen operator by its rule (`complexa._trace._rules`). torch is imported only
when `from_torch` runs; docs/torch.md is the guide."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import sympy

from complexa._limits import show
from complexa._validate import as_flag, as_size
from complexa.errors import ComplexaError

from ._result import PHASES, TracedDerivation

__all__ = ["from_torch", "TracedDerivation", "torch_module"]

MAX_INPUTS = 16
MAX_DIMS = 8
MAX_ELEMENTS = 2**40
"""Most elements the integer entries of one input shape may give together: torch counts a tensor's bytes in int64,
and the trace multiplies them by the sizes it gives the names and by the widths of the module's own tensors."""


def torch_module() -> Any:
    """The torch module, or a one-line `ComplexaError` saying what to install."""
    try:
        import torch
    except ImportError:
        raise ComplexaError(
            "PyTorch is not installed; complexa.from_torch needs it: pip install 'complexa[torch]'"
        ) from None
    return torch


def _entry(value: object, where: str) -> int | str:
    """One entry of an input shape: a positive int, or a symbol's name, as complexa's size grammar reads it."""
    size = as_size(value, where)
    if size.is_Integer:
        return int(size)
    if isinstance(size, sympy.Symbol):
        return size.name
    raise ComplexaError(
        f"{where} = {show(value)}: an input size must be a positive integer or one name, such as 'B'; a size such as "
        "'2*h' is computed by the module from the names of its inputs"
    )


def _input(torch: Any, value: object, dtype: Any, where: str) -> tuple[tuple[int | str, ...], Any]:
    if isinstance(value, torch.Tensor):
        names = value.names if any(n is not None for n in value.names) else (None,) * value.dim()
        shape = tuple(
            _entry(n, f"{where}.names[{i}]") if n else int(s) for i, (n, s) in enumerate(zip(names, value.shape))
        )
        return shape, value.dtype
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ComplexaError(
            f"{where} = {show(value)}: an input is a shape such as ('B', 3, 'H', 'W'), or an example tensor, not a "
            f"{type(value).__name__}"
        )
    if not 0 < len(value) <= MAX_DIMS:
        raise ComplexaError(f"{where} = {show(value)}: a shape has 1 to {MAX_DIMS} entries")
    shape = tuple(_entry(v, f"{where}[{i}]") for i, v in enumerate(value))
    elements = math.prod(e for e in shape if isinstance(e, int))
    if elements > MAX_ELEMENTS:
        raise ComplexaError(
            f"{where} = {show(value)}: its integer sizes make {elements:.3g} elements, more than a tensor may have "
            f"here (2**40); give a smaller size, or a name such as 'B' for a size that may be anything"
        )
    return shape, dtype


def from_torch(
    module: Any,
    *inputs: object,
    training: bool = True,
    loss: Callable[[Any], Any] | None = None,
    dtype: Any = None,
    strict: bool = False,
) -> TracedDerivation:
    """Trace `module` with symbolic input sizes and count every operator of its forward pass and, when `training`,
    of the backward pass of `loss`, exactly, as formulas in the sizes the inputs name.

    **Arguments:**

    - `module`: a ``torch.nn.Module``. Its parameters keep their sizes; it is called in the mode it is in
      (``train()`` or ``eval()``) and left unchanged.
    - `inputs`: one per argument of its ``forward``: a shape whose entries are positive ints or names
      (``("B", 3, "H", "W")``), or an example tensor, whose named dimensions (``torch.randn(2, 5, names=("B",
      None))``) become symbols and the rest stay as they are.
    - `training`: also trace ``loss.backward()``: the gradients of every parameter that requires one (not of the
      inputs, as in a training step).
    - `loss`: outputs -> a scalar tensor; default the sum of every floating-point output.
    - `dtype`: the dtype of inputs given as shapes (``torch.long`` for token ids), one for all or one per input;
      default ``torch.float32``.
    - `strict`: raise `ComplexaError` when an operator has no counting rule, instead of listing it in
      `TracedDerivation.unsupported`.

    **Returns:** a `TracedDerivation`.

    **Raises:** `ComplexaError` for a bad input, an operator without a rule under `strict`, a module PyTorch cannot
    trace with symbolic sizes (give the size as an int), or PyTorch not installed.

    >>> import pytest; torch = pytest.importorskip("torch")
    >>> d = from_torch(torch.nn.Linear(3, 4), ("B", 3))
    >>> d.counts["forward"]["mul"], d.torch_flops
    (12*B, {'forward': 24*B, 'backward': 24*B})
    """
    torch = torch_module()
    if not isinstance(module, torch.nn.Module):
        raise ComplexaError(
            f"module = {show(module)}: must be a torch.nn.Module, such as torch.nn.Linear(3, 4), not a "
            f"{type(module).__name__}"
        )
    training = as_flag(training, "training")
    strict = as_flag(strict, "strict")
    if loss is not None and not callable(loss):
        raise ComplexaError(f"loss = {show(loss)}: must be a function of the outputs returning a scalar tensor")
    if not 0 < len(inputs) <= MAX_INPUTS:
        raise ComplexaError(
            f"inputs: give 1 to {MAX_INPUTS} shapes or example tensors, one per input; got {len(inputs)}"
        )
    dtypes = _dtypes(torch, dtype, len(inputs))
    specs = [_input(torch, value, dtypes[i], f"inputs[{i}]") for i, value in enumerate(inputs)]
    from . import _rules, _tools
    from ._tracing import trace

    traced = trace(module, specs, training=training, loss=loss)
    calls, symbols, saved = traced.calls, traced.symbols, traced.saved
    rows: dict[str, dict[str, dict[str, list[sympy.Expr]]]] = {}
    torch_rows: dict[str, dict[str, list[sympy.Expr]]] = {}
    torch_layers: dict[str, dict[str, list[sympy.Expr]]] = {}
    tools: dict[str, dict[str, list[sympy.Expr]]] = {"fvcore": {}, "ptflops": {}}
    for convention, entries in traced.tools.items():
        for path, value in entries:
            tools[convention].setdefault(path, []).append(value)
    unsupported: dict[str, list[str]] = {}
    for call in calls:
        phase = PHASES[1] if call.backward else PHASES[0]
        if not call.backward and call.path != "loss":
            value = _tools.fvcore_flops(call.packet, call.args, call.outs)
            if value is not None:
                tools["fvcore"].setdefault(call.path, []).append(value)
        row = rows.setdefault(call.path, {})
        rule = _rules.RULES.get(call.packet)
        counted = rule(call.args, call.kwargs, call.outs) if rule is not None else None
        if counted is None:
            if call.packet in _rules.FREE:
                continue
            paths = unsupported.setdefault(call.op, [])
            if call.path not in paths:
                paths.append(call.path)
            continue
        ops, flops = counted
        for op, value in ops.items():
            row.setdefault(phase, {}).setdefault(op, []).append(sympy.sympify(value))
        if flops != 0:
            torch_rows.setdefault(call.op, {}).setdefault(phase, []).append(flops)
            torch_layers.setdefault(call.path, {}).setdefault(phase, []).append(flops)
    if unsupported and strict:
        first = next(iter(unsupported))
        raise ComplexaError(
            f"strict: no counting rule for {first} (in {', '.join(repr(p) for p in unsupported[first])}); "
            f"unsupported: {', '.join(unsupported)}"
        )
    shapes = tuple(tuple(sympy.Integer(e) if isinstance(e, int) else symbols[e] for e in shape) for shape, _ in specs)
    parameters = sum(p.numel() for p in module.parameters())
    return TracedDerivation(
        type(module).__name__,
        shapes,
        training,
        rows,
        torch_rows,
        torch_layers,
        unsupported,
        parameters,
        saved,
        symbols,
        tools,
    )


def _dtypes(torch: Any, dtype: Any, count: int) -> list[Any]:
    if dtype is None:
        return [torch.float32] * count
    if isinstance(dtype, torch.dtype):
        return [dtype] * count
    if isinstance(dtype, (list, tuple)) and len(dtype) == count and all(isinstance(d, torch.dtype) for d in dtype):
        return list(dtype)
    raise ComplexaError(f"dtype = {show(dtype)}: must be a torch.dtype, or one per input ({count})")
