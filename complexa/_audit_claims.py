"""What `audit` checks: the essay's claims, each with the exact model's counterpart and the count that measures it.

Each `Spec` names where the essay makes a claim and its words; the big-O it claims and its own expression; the exact
model's expression of the same quantity; and which counts of the reference network measure it. `SPECS` lists them in
the essay's order, then its conclusion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

import sympy

from complexa._parse import symbol
from complexa.derivation import Derivation
from complexa.models.essay import CLAIMED_ORDER

__all__ = ["N", "L", "T", "ASSUMED", "BATCHES", "Counts", "Value", "Spec", "SPECS"]

N, L, T = symbol("n"), symbol("L"), symbol("T")
ASSUMED = {L: N, T: N}
"""The essay's assumptions: n layers, n gradient iterations."""
BATCHES = ("1", "n")
"""The two readings of the essay: one input vector, or a batch of n (its matrix-shaped activations)."""

Counts = Mapping[str, Mapping[str, int]]
Value: TypeAlias = sympy.Rational  # an exact count, or for the learning/inference row an exact ratio of counts


def _ops(counts: Counts, phase: str | None = None) -> int:
    phases = [phase] if phase else list(counts)
    return sum(sum(counts[p].values()) for p in phases)


@dataclass(frozen=True)
class Spec:
    """One claim of the essay, and how the audit checks it: the fields of its `AuditRow`, and what to compute."""

    key: str
    section: str
    claim: str
    quote: str
    claimed: sympy.Expr
    essay: Callable[[Derivation], sympy.Expr | None]
    exact: Callable[[Derivation], sympy.Expr]
    measured_what: str
    measured: Callable[[Counts, Counts], Value]
    """(counts of one step, counts of n steps) -> the measured value."""
    ratio: bool = False
    bound: bool = False
    note: str = ""


def _quantity(name: str) -> Callable[[Derivation], sympy.Expr]:
    return lambda d: d.quantities[name]


def _learning(d: Derivation) -> sympy.Expr:
    return d.quantities["time_gradient_descent"] / d.quantities["time_forward"]


def _step(phase: str, op: str | None = None) -> Callable[[Counts, Counts], Value]:
    """The measured count of `phase` (one op, or every op) in one training step."""
    if op is None:
        return lambda step, run: sympy.Integer(_ops(step, phase))
    return lambda step, run: sympy.Integer(step[phase][op])


SPECS = (
    Spec(
        key="n_mul",
        section="forward propagation",
        claim="n_mul = O(n^4)",
        quote="n_mul = O(n * n^3) = O(n^4)",
        claimed=CLAIMED_ORDER["n_mul"],
        essay=_quantity("n_mul"),
        exact=_quantity("n_mul"),
        measured_what="forward mul",
        measured=_step("forward", "mul"),
    ),
    Spec(
        key="n_g",
        section="forward propagation",
        claim="n_g = O(n^2)",
        quote="n_g = n_layers * n = O(n^2)",
        claimed=CLAIMED_ORDER["n_g"],
        essay=_quantity("n_g"),
        exact=_quantity("n_g"),
        measured_what="forward act",
        measured=_step("forward", "act"),
    ),
    Spec(
        key="time_forward",
        section="forward propagation",
        claim="time_forward = O(n^4)",
        quote="O(n^4 + n^2) <=> O(n^4)",
        claimed=CLAIMED_ORDER["time_forward"],
        essay=_quantity("time_forward"),
        exact=_quantity("time_forward"),
        measured_what="forward, every op",
        measured=_step("forward"),
    ),
    Spec(
        key="time_error",
        section="backpropagation",
        claim="time_error = O(n^5)",
        quote="O(time_error) = n^5",
        claimed=CLAIMED_ORDER["time_error"],
        essay=_quantity("time_error"),
        exact=_quantity("time_error"),
        measured_what="whole backward pass (= time_weights)",
        measured=_step("backward"),
        bound=True,
        note="The reference network counts the deltas and the gradients together, as its backward phase: the "
        "measured count is time_weights, an upper bound on time_error, and its fitted exponent bounds time_error's.",
    ),
    Spec(
        key="time_weights",
        section="backpropagation",
        claim="time_weights = O(n^5)",
        quote="O(time_weights) = O(time_error) + n^3 = n^5",
        claimed=CLAIMED_ORDER["time_weights"],
        essay=_quantity("time_weights"),
        exact=_quantity("time_weights"),
        measured_what="whole backward pass, includes time_error",
        measured=_step("backward"),
    ),
    Spec(
        key="time_gradient_descent",
        section="backpropagation",
        claim="time_gradient_descent = O(n^6)",
        quote="O(time_gradient descent) = n * n^5 = n^6",
        claimed=CLAIMED_ORDER["time_gradient_descent"],
        essay=_quantity("time_gradient_descent"),
        exact=_quantity("time_gradient_descent"),
        measured_what="n steps, every phase and op",
        measured=lambda step, run: sympy.Integer(_ops(run)),
        note="The exact model's time_gradient_descent counts whole steps: forward pass, backward pass and update; "
        "the essay's counts the backward pass only. The row conclusion_backpropagation compares like with like.",
    ),
    Spec(
        key="conclusion_forward",
        section="conclusion",
        claim="forward is O(n^3)",
        quote="backpropagation, O(n^6), is much slower than the forward propagation, O(n^3)",
        claimed=N**3,
        essay=lambda d: None,
        exact=_quantity("time_forward"),
        measured_what="forward, every op",
        measured=_step("forward"),
        note="The essay's derivation gives forward propagation O(n^4) (row time_forward), its conclusion O(n^3).",
    ),
    Spec(
        key="conclusion_backpropagation",
        section="conclusion",
        claim="backpropagation is O(n^6)",
        quote="we find the total run-time of backpropagation to be O(n^6)",
        claimed=N**6,
        essay=_quantity("time_gradient_descent"),
        exact=lambda d: sympy.Add(*d.counts["backward"].values()),
        measured_what="backward, every op, over n steps",
        measured=lambda step, run: sympy.Integer(_ops(run, "backward")),
        note="As the essay defines it: the backward passes of n gradient iterations (T time_weights), without the "
        "forward passes and updates.",
    ),
    Spec(
        key="conclusion_learning",
        section="conclusion",
        claim="learning / inference = O(n^3)",
        quote="the learning phase (backpropagation) is slower than the inference phase (forward propagation)",
        claimed=N**6 / N**3,
        essay=lambda d: None,
        exact=_learning,
        measured_what="n steps, every op, over one forward pass",
        measured=lambda step, run: sympy.Rational(_ops(run), _ops(step, "forward")),
        ratio=True,
        note="The essay's conclusion sets O(n^6) against O(n^3). Learning is slower, but by n, not n^3: n training "
        "steps against one forward pass. One training step against one forward pass is a constant factor.",
    ),
)
