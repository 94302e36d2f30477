"""Assertions for your own test suite: the derived counts of a network against the counts of a real one."""

from __future__ import annotations

from complexa.network import Network
from complexa.reference import Measurement, measure

__all__ = ["assert_counts_match"]


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
