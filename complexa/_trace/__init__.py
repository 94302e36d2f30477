"""`from_torch`: the exact, symbolic operation counts of any ``torch.nn.Module``, forward and backward, by tracing it
with symbolic sizes and counting every ATen operator by its rule (`complexa._trace._rules`). torch is imported only
when `from_torch` runs; docs/torch.md is the guide."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sympy

from complexa._limits import show
from complexa._validate import as_flag, as_size
from complexa.errors import ComplexaError

from ._floors import flat
from ._result import PHASES, TracedDerivation

if TYPE_CHECKING:
    from ._domain import Domain

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
        if not 0 < value.dim() <= MAX_DIMS:
            raise ComplexaError(
                f"{where}: an example tensor of {value.dim()} dimensions; give one of 1 to {MAX_DIMS}, or a shape"
            )
        if any(s == 0 for s in value.shape):
            raise ComplexaError(f"{where}: an example tensor of shape {tuple(value.shape)} has no elements")
        return tuple(int(s) for s in value.shape), value.dtype
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
    _refuse_grouped_mm(module)
    dtypes = _dtypes(torch, module, dtype, len(inputs))
    specs = [_input(torch, value, dtypes[i], f"inputs[{i}]") for i, value in enumerate(inputs)]
    from ._domain import Domain
    from ._tracing import HINT_SCALES, DataDependent, TraceFailed, hints_from, trace

    names = list(dict.fromkeys(e for shape, _ in specs for e in shape if isinstance(e, str)))

    def at(hints: dict[str, int], fixed: dict[str, int] | None = None) -> Any:
        fixed = fixed or {}
        shapes = [(tuple(fixed.get(e, e) if isinstance(e, str) else e for e in shape), t) for shape, t in specs]
        return trace(module, shapes, training=training, loss=loss, hints=hints)

    failure: TraceFailed | None = None
    for scale in HINT_SCALES:
        hints = hints_from(names, scale)
        try:
            first = at(hints)
            break
        except TraceFailed as error:
            failure = failure or error
        except DataDependent as error:
            raise ComplexaError(f"{error}{_eager_experts_hint(module)}") from None
    else:
        assert failure is not None
        hint = "; give that size as an int to trace it concretely" if names else ""
        raise ComplexaError(f"{failure}{hint}") from None
    derived = _derive(module, first, training, strict)
    symbols = [first.symbols[n] for n in names]
    domain = Domain.of(first.guards, symbols)
    _check_and_widen(derived, domain, names, hints, at, lambda t: _derive(module, t, training, strict))
    derived.assumptions = domain.assumptions()
    return derived


def _experts(module: Any) -> list[tuple[str, str | None]]:
    """(path, experts_implementation) of each transformers experts module in `module` (the ones its
    ``use_experts_implementation`` decorator dispatches: Mixtral's ``MixtralExperts`` and others)."""
    return [
        (path, getattr(getattr(sub, "config", None), "_experts_implementation", None))
        for path, sub in module.named_modules()
        if hasattr(sub, "_is_expert_parallel") and hasattr(sub, "has_gate")
    ]


def _refuse_grouped_mm(module: Any) -> None:
    """transformers' grouped_mm experts are not traced: in torch 2.13 on the CPU ``grouped_mm``'s shape function
    takes bfloat16 only (its kernel runs float32 too), and FlopCounterMode has no formula for it, so no count of it
    could be checked."""
    for path, implementation in _experts(module):
        if implementation == "grouped_mm":
            raise ComplexaError(
                f"{path!r} runs transformers' grouped_mm experts, which torch traces in bfloat16 only and "
                "FlopCounterMode does not count: switch them to batched_mm, model.set_experts_implementation("
                "'batched_mm')"
            )


def _eager_experts_hint(module: Any) -> str:
    """For a size that depends on the data in a transformers model whose experts run eager (a loop over the experts
    a batch hits, `nonzero`'s), how to trace it: transformers' batched_mm experts gather each token's expert weights,
    sizes that are the input's."""
    for path, implementation in _experts(module):
        if implementation in (None, "eager"):
            return (
                f"; {path!r} runs transformers' eager experts, a loop over the experts a batch hits: switch them to "
                "batched_mm to trace it, model.set_experts_implementation('batched_mm')"
            )
    return ""


MAX_LOWERINGS = 3
"""How many times `_check_and_widen` may lower one size's bound by tracing again."""


def _signature(d: TracedDerivation) -> list[sympy.Expr]:
    """Every formula of a traced result that a second trace must reproduce."""
    return [
        *(v for phase in d.counts.values() for v in phase.values()),
        *d.torch_flops.values(),
        *d.tool_flops.values(),
        d.saved,
        d.saved_bytes,
    ]


def _same(first: TracedDerivation, other: TracedDerivation, values: dict[sympy.Symbol, sympy.Expr]) -> bool:
    a, b = _signature(first), _signature(other)
    # Compared with every size canonical: the same function of integer sizes may be written with other shifts.
    return len(a) == len(b) and all(flat(x.xreplace(values)) == flat(y) for x, y in zip(a, b))


def _check_and_widen(
    derived: TracedDerivation,
    domain: Domain,
    names: list[str],
    hints: dict[str, int],
    at: Callable[..., Any],
    derive: Callable[[Any], TracedDerivation],
) -> None:
    """Check the formula by tracing again at a second set of sizes inside `domain`, lower the bounds that only
    compare a size with a number (a module's ``if x.shape[0] > 8``) where a trace below gives the same formula, and
    admit sizes of 1 where traces at 1 do; `domain` is widened in place (docs/torch.md)."""
    from ._tracing import hints_from

    if not names:
        return
    symbols = {n: derived.symbols[n] for n in names}
    # A second set of sizes, inside the domain and distinct from the first.
    second: dict[str, int] = {}
    taken = set(hints.values())
    for name, hint in hints_from(names, max(hints.values()), skip=frozenset(taken)).items():
        low, high = domain.intervals.get(symbols[name], (1, None))
        if high is not None and hint > high:
            hint = int(sympy.prevprime(high + 1)) if high > 2 else high
            while hint in taken and hint > low:
                hint = int(sympy.prevprime(hint))
        second[name] = hint if low <= hint else hints[name]
        taken.add(second[name])
    checked = False  # at the second set of sizes: a trial at 1 of another size checks it too (one trace less)

    def check() -> None:
        try:
            again = at(second)
        except ComplexaError as error:
            raise ComplexaError(f"the formula could not be checked at a second set of sizes: {error}") from None
        if not _same(derived, derive(again), {}):
            raise ComplexaError(
                f"the traced formula differs at a second set of sizes ({_sizes(second)} against {_sizes(hints)}): "
                "the module's work depends on the sizes in a way the trace cannot follow; give the sizes as ints"
            )

    # Lower each bound that compares a size with a number while a trace below it gives the same formula, on a
    # domain that is this one's in every other size: the two domains join.
    for name in names:
        s = symbols[name]
        for _ in range(MAX_LOWERINGS):
            low, high = domain.intervals[s]
            if low <= 2 or s not in domain.plain:
                break
            trial = _trial(at, derive, derived, domain, symbols, hints, {name: low - 1})
            if trial is None:
                break
            domain.intervals[s] = (trial.intervals[s][0], high)
    # torch takes no symbolic size to be 1: trace each set of sizes at 1 that a formula should cover, the sizes
    # whose domain starts at 2 (at most three: every subset of them is a trace).
    ones = [n for n in names if domain.intervals[symbols[n]][0] == 2 and symbols[n] in domain.plain][:MAX_ONES]
    results: dict[tuple[str, ...], bool] = {}

    def holds_at_one(subset: tuple[str, ...]) -> bool:
        nonlocal checked
        if subset not in results:
            base = hints if checked else second
            trial = _trial(at, derive, derived, domain, symbols, base, dict.fromkeys(subset, 1))
            checked = checked or trial is not None
            results[subset] = trial is not None
        return results[subset]

    while ones:
        subsets = [c for k in range(1, len(ones) + 1) for c in itertools.combinations(ones, k)]
        failed = next((c for c in subsets if not holds_at_one(c)), None)
        if failed is None:
            for n in ones:
                domain.intervals[symbols[n]] = (1, domain.intervals[symbols[n]][1])
            break
        ones.remove(failed[-1])
    if not checked:
        check()


MAX_ONES = 3
"""How many sizes `_check_and_widen` tries at 1 together (2^k - 1 traces)."""


def _trial(
    at: Callable[..., Any],
    derive: Callable[[Any], TracedDerivation],
    derived: TracedDerivation,
    domain: Domain,
    symbols: dict[str, sympy.Symbol],
    hints: dict[str, int],
    sizes: dict[str, int],
) -> Any:
    """Trace at `sizes` (the rest at their hints) and say whether the formula there is `derived`'s, on a domain that
    is `domain`'s in every other size: that domain (a size of 1 is traced as the int), or None."""
    from ._domain import Domain

    ones = {n for n, v in sizes.items() if v == 1}
    try:
        trial = at({**hints, **{n: v for n, v in sizes.items() if n not in ones}}, dict.fromkeys(ones, 1))
    except ComplexaError:  # torch fails there, or fixes the size
        return None
    kept = {symbols[n]: v for n, v in hints.items() if n not in ones}
    below = Domain.of(trial.guards, list(kept))
    values = {symbols[n]: sympy.Integer(1) for n in ones}
    others = {g.xreplace(values) for g in domain.others if not domain.implied(g)} - {sympy.true}
    moved = {symbols[n] for n in sizes}
    if any(below.intervals.get(t) != domain.intervals[t] for t in kept if t not in moved):
        return None
    if {g for g in below.others if not below.implied(g)} != others:
        return None
    for n in sizes:  # the trial's interval must reach up to this domain's, or the two leave a gap
        top = below.intervals[symbols[n]][1] if n not in ones else None
        if top is not None and top < domain.intervals[symbols[n]][0] - 1:
            return None
    return below if _same(derived, derive(trial), values) else None


def _sizes(hints: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in hints.items())


def _derive(module: Any, traced: Any, training: bool, strict: bool) -> TracedDerivation:
    """The counts of a trace: every call by its rule, per phase, op and module path."""
    from . import _result, _rules, _tools

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
        rule = _rules.rule(call.packet)
        counted = rule(call.args, call.kwargs, call.outs) if rule is not None else None
        if counted is None:
            if _rules.free(call.packet):
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
    shapes = traced.inputs
    parameters = sum(p.numel() for p in module.parameters())
    modules = _result.module_infos(module, traced.outputs)
    state = {
        "parameter_bytes": sum(p.numel() * p.element_size() for p in module.parameters()),
        "trainable": sum(p.numel() for p in module.parameters() if p.requires_grad),
        "trainable_bytes": sum(p.numel() * p.element_size() for p in module.parameters() if p.requires_grad),
    }
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
        saved_by_layer=traced.saved_by_layer,
        **state,
        modules=modules,
    )


def _dtypes(torch: Any, module: Any, dtype: Any, count: int) -> list[Any]:
    """The dtype of each input given as a shape: `dtype`, or the module's first floating-point parameter's (as the
    module would be called), or float32."""
    if dtype is None:
        floating = next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)
        return [floating] * count
    if isinstance(dtype, torch.dtype):
        return [dtype] * count
    if isinstance(dtype, (list, tuple)) and len(dtype) == count and all(isinstance(d, torch.dtype) for d in dtype):
        return list(dtype)
    raise ComplexaError(f"dtype = {show(dtype)}: must be a torch.dtype, or one per input ({count})")
