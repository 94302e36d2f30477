"""Assertions for your own test suite: the derived counts of a network against the counts of a real one."""

from __future__ import annotations

from typing import Any

from complexa.network import Network
from complexa.reference import Measurement, measure

__all__ = ["assert_counts_match", "assert_flops_match"]


def assert_counts_match(network: Network, *, backend: str = "cpu", iterations: int = 1) -> Measurement:
    """Assert that `complexa.derive` and `complexa.measure` agree on every phase and op of `network`.

    **Arguments:**

    - `network`: a concrete `Network` (integer sizes and batch).
    - `backend`: where to measure, ``"cpu"`` or ``"cuda"``.
    - `iterations`: training steps; both sides count their total.

    **Returns:** the `Measurement`, for further checks.

    **Raises:** `AssertionError` listing every phase and op that differs, with the derived count, the measured
    count and their difference; `ComplexaError` for a network or argument `measure` refuses.

    >>> from complexa import Network
    >>> assert_counts_match(Network([3, 4, 2], batch=2)).counts["update"]["mul"]
    26
    """
    # Imported here: the derivation imports this package's symbolic side, which must not import this module back.
    from complexa import derive

    derived = derive(network, iterations=iterations).evaluate().counts
    measured = measure(network, backend=backend, iterations=iterations)
    differences = []
    for phase in dict.fromkeys([*derived, *measured.counts]):
        derived_ops = derived.get(phase, {})
        measured_ops = measured.counts.get(phase, {})
        for op in dict.fromkeys([*derived_ops, *measured_ops]):
            d, m = int(derived_ops.get(op, 0)), int(measured_ops.get(op, 0))
            if d != m:
                differences.append(f"  {phase}.{op}: derived {d}, measured {m}, difference {d - m:+d}")
    if differences:
        raise AssertionError(
            f"derived and measured counts differ for {network!r} (iterations={iterations}, backend={backend!r}):\n"
            + "\n".join(differences)
        )
    return measured


# --- from_torch (issue 13): the traced formula against FlopCounterMode --------------------------------------------


def flop_counter_total(module: Any, inputs: list[Any], *, training: bool, loss: Any = None) -> int:
    """What ``FlopCounterMode`` counts for `module` on real `inputs`: the forward pass and, when `training`, the
    backward pass of `loss` (default, as `from_torch`'s, the sum of every floating-point output, nested ones too)."""
    from torch.utils.flop_counter import FlopCounterMode

    from complexa._trace._tracing import default_loss

    counter = FlopCounterMode(display=False)
    with counter:
        out = module(*inputs)
        if training:
            value = loss(out) if loss is not None else default_loss(out)
            value.backward()
    return int(counter.get_total_flops())


def saved_by_torch(module: Any, inputs: list[Any], *, loss: Any = None) -> dict[str, int]:
    """The bytes of the tensors autograd saves for the backward pass when `module` runs on real `inputs`, by the path
    of the module that saved them (``""`` the root's own operators, ``"loss"`` the loss outside the module; the
    default loss is `from_torch`'s): each storage once, its whole size, in the first module that saved it;
    parameters' and buffers' storages are the module's state and are left out. The real run that
    `TracedDerivation.saved_bytes_by_layer` is checked against."""
    import torch

    from complexa._trace._tracing import _tracker, default_loss

    state = {t.untyped_storage().data_ptr() for t in (*module.parameters(), *module.buffers())}
    root = type(module).__name__
    tracker = _tracker(root)
    seen: set[int] = set()
    out: dict[str, int] = {}

    def pack(tensor: Any) -> Any:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in state and storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            name = tracker.current()
            path = "loss" if name == "Global" else "" if name == root else name[len(root) + 1 :]
            out[path] = out.get(path, 0) + storage.nbytes()
        return tensor

    with tracker, torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = module(*inputs)
        loss(result) if loss is not None else default_loss(result)
    return out


def uncounted_by_flop_counter(traced: Any, sizes: dict[str, int], *, training: bool) -> int:
    """The torch-convention FLOPs of the traced operators ``FlopCounterMode`` has no formula for (it counts them as
    zero: CPU scaled-dot-product attention is one), at `sizes`."""
    from torch.utils.flop_counter import flop_registry

    known = {str(packet) for packet in flop_registry}
    phases = ("forward", "backward") if training else ("forward",)
    total = 0
    for op, by_phase in traced.torch_by_op.items():
        if op.rsplit(".", 1)[0] not in known:
            total += sum(traced.at(by_phase[p], **sizes) for p in phases)
    return total


def real_inputs(traced: Any, sizes: dict[str, int], dtypes: list[Any]) -> list[Any]:
    """Tensors of the traced input shapes at `sizes`: random floats, and zeros (a valid index) for integer dtypes."""
    import torch

    out = []
    for shape, dtype in zip(traced.inputs, dtypes):
        concrete = [traced.at(s, **sizes) for s in shape]
        out.append(
            torch.randn(concrete, dtype=dtype) if dtype.is_floating_point else torch.zeros(concrete, dtype=dtype)
        )
    return out


def assert_flops_match(
    module: Any,
    *inputs: object,
    training: bool = True,
    loss: Any = None,
    dtype: Any = None,
    min_size: int = 2,
    max_size: int = 8,
    max_examples: int = 5,
) -> Any:
    """Assert that `complexa.from_torch`'s formula in the ``torch`` convention, at sizes hypothesis draws, equals
    what ``FlopCounterMode`` counts on real tensors of those sizes.

    Operators FlopCounterMode has no formula for (CPU scaled-dot-product attention) are taken out of the traced
    count first, and the assertion message says so: docs/torch.md has the finding.

    **Arguments:** `module`, `inputs`, `training`, `loss` and `dtype` as `complexa.from_torch` takes them; each symbol
    is drawn from `min_size`..`max_size`, `max_examples` times, where the formula holds (past a lower bound of its
    `assumptions`, from that bound).

    **Returns:** the `TracedDerivation`.

    **Raises:** `AssertionError` with the sizes, both counts and their difference.
    """
    import sympy
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import strategies as st

    from complexa._trace import from_torch

    traced = from_torch(module, *inputs, training=training, loss=loss, dtype=dtype)
    import torch

    count = len(traced.inputs)
    dtypes = [dtype or torch.float32] * count if not isinstance(dtype, (list, tuple)) else list(dtype)
    for i, value in enumerate(inputs):
        if isinstance(value, torch.Tensor):
            dtypes[i] = value.dtype
    names = sorted(traced.symbols)
    # Sizes where the formula holds (its `assumptions`): each size from its lower bound, the rest assumed.
    low = {name: min_size for name in names}
    for assumption in traced.assumptions:
        if isinstance(assumption, sympy.GreaterThan) and isinstance(assumption.lhs, sympy.Symbol):
            low[assumption.lhs.name] = max(low[assumption.lhs.name], int(assumption.rhs))
    strategy = st.fixed_dictionaries({name: st.integers(low[name], max(low[name], max_size)) for name in names})

    @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(sizes: dict[str, int]) -> None:
        at = {traced.symbols[k]: sympy.Integer(v) for k, v in sizes.items()}
        assume(all(a.xreplace(at) is sympy.true for a in traced.assumptions))
        expected = traced.at(traced.flops("torch", "training" if training else "forward"), **sizes)
        gap = uncounted_by_flop_counter(traced, sizes, training=training)
        measured = flop_counter_total(module, real_inputs(traced, sizes, dtypes), training=training, loss=loss)
        if expected - gap != measured:
            raise AssertionError(
                f"{type(module).__name__} at {sizes}: traced {expected} torch FLOPs ({gap} of them in operators "
                f"FlopCounterMode does not count), FlopCounterMode {measured}, "
                f"difference {expected - gap - measured:+d}"
            )

    check()
    return traced
