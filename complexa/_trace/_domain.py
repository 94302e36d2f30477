"""Where a traced formula holds: the guards PyTorch's ShapeEnv records while tracing, read as a domain of the user's
sizes, and widened by tracing again below it.

A trace at one set of sizes is the program torch runs at every size that satisfies the same guards (that is what a
guard is), so its formula holds on their conjunction and, unchecked, nowhere else. A guard in one size whose truths
form an interval of it reads as that interval (``Ne(floor((H - 1)/32) + 1, 1)``, the last stage of a 32x
downsampling net is not 1 x 1: ``H >= 33``); every other guard is kept as it is, unless the intervals imply it.
`complexa._trace` then widens the domain by tracing again below some bounds and at sizes of 1 (`_check_and_widen`).
What cannot be shown stays in `TracedDerivation.assumptions`, and `evaluate` refuses sizes outside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import sympy

__all__ = ["Domain", "Interval", "classify", "nondecreasing"]

SCAN_LIMIT = 100_000
"""The most sizes a one-size guard is evaluated at to read its interval; a guard whose breakpoints lie further is
kept as it is."""


@dataclass(frozen=True)
class Interval:
    """A guard that holds exactly for ``low <= size <= high`` (``high`` None: no upper bound)."""

    symbol: sympy.Symbol
    low: int
    high: int | None


def nondecreasing(
    expr: sympy.Expr, symbol: sympy.Symbol, corner: Mapping[sympy.Symbol, sympy.Expr] | None = None
) -> bool:
    """Whether `expr` is built so that it can only grow with `symbol`: sums, floors, ceilings, Max and Min of such
    terms, and products of them whose factors are at least 0. A factor is at least 0 when it is a positive number or
    size, or, given `corner` (the least sizes), when it grows in every size and is at least 0 there."""
    if symbol not in expr.free_symbols or expr == symbol:
        return True
    if isinstance(expr, (sympy.Add, sympy.Max, sympy.Min, sympy.floor, sympy.ceiling)):
        return all(nondecreasing(a, symbol, corner) for a in expr.args)
    if isinstance(expr, sympy.Mul):
        return all(nondecreasing(a, symbol, corner) and _at_least_zero(a, corner) for a in expr.args)
    return False


def _at_least_zero(expr: sympy.Expr, corner: Mapping[sympy.Symbol, sympy.Expr] | None) -> bool:
    if expr.is_positive or expr.is_Symbol:
        return True
    if corner is None or not expr.free_symbols <= set(corner):
        return False
    return all(nondecreasing(expr, s, corner) for s in expr.free_symbols) and bool(expr.xreplace(corner) >= 0)


def _difference(guard: sympy.Basic) -> tuple[str, sympy.Expr] | None:
    """`guard` as (relation, f) with the relation of f to 0, f = lhs - rhs; None for a guard of another shape."""
    kinds = {sympy.Eq: "==", sympy.Ne: "!=", sympy.Ge: ">=", sympy.Gt: ">", sympy.Le: "<=", sympy.Lt: "<"}
    for kind, name in kinds.items():
        if isinstance(guard, kind):
            return name, guard.lhs - guard.rhs
    return None


def _period(expr: sympy.Expr) -> int | None:
    """A period of `expr`'s floors in its one size: every floor of a rational multiple of the size shifts by an
    integer when the size moves by the product of the denominators (capped: None past `SCAN_LIMIT`)."""
    period = 1
    moduli = [m.args[1] for m in expr.atoms(sympy.Mod)]
    for number in [*expr.atoms(sympy.Rational), *moduli]:
        if not number.is_Rational:
            return None
        period = math.lcm(period, int(number.q), int(number.p) if number in moduli else 1)
        if period > SCAN_LIMIT:
            return None
    # A floor of a multiple of a floor: its own denominator times the inner one's, at most.
    total = period ** max(1, _depth(expr))
    return total if total <= SCAN_LIMIT else None


def _depth(expr: sympy.Basic) -> int:
    """How deep floors, ceilings and remainders nest in `expr`."""
    inner = max((_depth(a) for a in expr.args), default=0)
    return inner + 1 if isinstance(expr, (sympy.floor, sympy.ceiling, sympy.Mod)) else inner


def _scan_limit(expr: sympy.Expr, period: int) -> int | None:
    """How far to evaluate a one-size guard: past every number in it (where a Max or Min has settled and every
    floor's argument is positive), then two periods more."""
    biggest = 1
    for number in expr.atoms(sympy.Rational):
        biggest = max(biggest, abs(int(number.p)), abs(int(number.q)))
    limit = 4 * biggest + 4 + 2 * period
    return limit if limit <= SCAN_LIMIT else None


_RELATIONS: dict[str, Callable[[Fraction, int], bool]] = {
    "==": lambda f, z: f == z,
    "!=": lambda f, z: f != z,
    ">=": lambda f, z: f >= z,
    ">": lambda f, z: f > z,
    "<=": lambda f, z: f <= z,
    "<": lambda f, z: f < z,
}


def _evaluator(expr: sympy.Expr, symbol: sympy.Symbol) -> Callable[[int], Fraction]:
    """`expr` at integer values of `symbol`, exactly (floors of fractions, not of floats)."""

    def value(e: sympy.Basic, v: int) -> Fraction:
        if e == symbol:
            return Fraction(v)
        if e.is_Integer:
            return Fraction(int(e))
        if e.is_Rational:
            return Fraction(int(e.p), int(e.q))
        args = [value(a, v) for a in e.args]
        if isinstance(e, sympy.Add):
            return sum(args, Fraction(0))
        if isinstance(e, sympy.Mul):
            return math.prod(args, start=Fraction(1))
        if isinstance(e, sympy.Pow) and e.exp.is_Integer:
            return args[0] ** int(e.exp)
        if isinstance(e, sympy.floor):
            return Fraction(math.floor(args[0]))
        if isinstance(e, sympy.ceiling):
            return Fraction(math.ceil(args[0]))
        if isinstance(e, sympy.Max):
            return max(args)
        if isinstance(e, sympy.Min):
            return min(args)
        if isinstance(e, sympy.Mod):
            return args[0] % args[1]
        raise ValueError(f"cannot evaluate {e}")

    return lambda v: value(expr, v)


def classify(guard: sympy.Basic, low: int = 1) -> Interval | None:
    """`guard` over one size as the interval of sizes from `low` on where it holds; None when it is over several
    sizes, or its truths are no interval.

    A guard built from sums, products, floors, ceilings, Max and Min of one size is, past its numbers, a linear part
    plus a periodic one (`_period`): it is read from 1 to two periods past them, and then it only grows (slope > 0),
    only falls, or repeats, which says its truth at every larger size."""
    if len(guard.free_symbols) != 1:
        return None
    (symbol,) = guard.free_symbols
    relation = _difference(guard)
    if relation is None:
        return None
    name, f = relation
    period = _period(f)
    limit = None if period is None else _scan_limit(f, period)
    if period is None or limit is None:
        return None
    holds = _RELATIONS[name]
    at = _evaluator(f, symbol)
    values: list[Fraction] = []
    while True:  # read further, a period at a time, until the guard has settled
        try:
            values.extend(at(v) for v in range(len(values) + 1, limit + 1))
        except (ValueError, TypeError, ZeroDivisionError):
            return None
        last = values[-period:]
        before = values[-2 * period : -period]
        slope = (last[0] - before[0]) / period
        if any(b - a != slope * period for a, b in zip(before, last)):
            settled = None
        elif slope > 0 and all(v > 0 for v in last):
            settled = holds(Fraction(1), 0)
        elif slope < 0 and all(v < 0 for v in last):
            settled = holds(Fraction(-1), 0)
        elif slope == 0 and len({holds(v, 0) for v in last}) == 1:
            settled = holds(last[-1], 0)
        else:
            settled = None
        if settled is not None or limit + period > SCAN_LIMIT:
            break
        limit += period
    if settled is None:
        return None
    beyond = settled
    truths = [holds(v, 0) for v in values]
    held = [v for v, t in zip(range(1, limit + 1), truths) if t and v >= low]
    if not held or held != list(range(held[0], held[-1] + 1)) or (beyond and held[-1] != limit):
        return None
    return Interval(symbol, held[0], None if beyond else held[-1])


@dataclass
class Domain:
    """The domain of a traced formula: an interval of sizes per symbol, and the guards that are no interval.

    `plain` holds the symbols whose lower bound comes only from comparisons of the size itself with a number
    (``B >= 16``: a backend heuristic, or the module's own ``if x.shape[0] > 20``), the bounds `widen` tries to
    lower by tracing again; a bound on a derived size (``H >= 33``: a stage is not 1 x 1) changes the program
    below it, and stays."""

    intervals: dict[sympy.Symbol, tuple[int, int | None]] = field(default_factory=dict)
    others: list[sympy.Basic] = field(default_factory=list)
    plain: set[sympy.Symbol] = field(default_factory=set)

    @classmethod
    def of(cls, guards: Sequence[sympy.Basic], symbols: Sequence[sympy.Symbol]) -> Domain:
        """The domain of a trace's `guards`; torch assumes a symbolic size is at least 2 (it specialises 0 and 1)."""
        domain = cls({s: (2, None) for s in symbols}, [], set(symbols))
        derived: set[sympy.Symbol] = set()
        pending = [g for g in dict.fromkeys(_conjuncts(guards)) if g is not sympy.true]
        # Read a guard from the sizes the others already allow (a stage's guard can misread at sizes that an
        # earlier stage rules out), until no more become intervals.
        while True:
            left = []
            for guard in pending:
                symbol = next(iter(guard.free_symbols)) if len(guard.free_symbols) == 1 else None
                interval = classify(guard, domain.intervals.get(symbol, (1, None))[0]) if symbol else None
                if interval is None:
                    left.append(guard)
                    continue
                low, high = domain.intervals.get(interval.symbol, (1, None))
                if interval.low > 2 and not _plain(guard, interval.symbol):
                    derived.add(interval.symbol)
                low = max(low, interval.low)
                if interval.high is not None:
                    high = interval.high if high is None else min(high, interval.high)
                domain.intervals[interval.symbol] = (low, high)
            if len(left) == len(pending):
                break
            pending = left
        domain.others = left
        domain.plain -= derived
        return domain

    def implied(self, guard: sympy.Basic) -> bool:
        """Whether the intervals imply `guard`: f > 0, f >= 0 or f != 0 (a < b read as b - a > 0), where f, expanded,
        is a sum of positive multiples of products of sizes and their floors, each at least 0 at the intervals'
        lowest corner; then f only grows from that corner, and holds there."""
        relation = _difference(guard)
        if relation is None:
            return False
        name, f = relation
        if name in ("<", "<="):
            name, f = {"<": ">", "<=": ">="}[name], -f
        if name not in (">", ">=", "!="):
            return False
        corner = {s: sympy.Integer(self.intervals.get(s, (1, None))[0]) for s in f.free_symbols}
        f = _settled(f, corner)
        signs = (f, -f) if name == "!=" else (f,)
        return any(_grows_from(form, corner, name) for g in signs for form in (sympy.expand(g), sympy.factor(g)))

    def _bounds(self) -> list[sympy.Basic]:
        out: list[sympy.Basic] = []
        for symbol, (low, high) in sorted(self.intervals.items(), key=lambda item: item[0].name):
            if low > 1:
                out.append(sympy.Ge(symbol, low, evaluate=False))
            if high is not None:
                out.append(sympy.Le(symbol, high, evaluate=False))
        return out

    def assumptions(self) -> tuple[sympy.Basic, ...]:
        """The domain as relations over the sizes, bounds first: empty where the formula holds at every size."""
        return (*self._bounds(), *(g for g in self.others if not self.implied(g)))


def _settled(f: sympy.Expr, corner: Mapping[sympy.Symbol, sympy.Expr]) -> sympy.Expr:
    """`f` with what is constant above `corner` made so: ``Mod(a, b)`` is a when 0 <= a < b, ``Max(1, e)`` is e when
    e >= 1, each b and e growing and past that at the corner."""

    def growing_past(e: sympy.Expr, bound: sympy.Expr) -> bool:
        return all(nondecreasing(e, s, corner) for s in e.free_symbols) and bool(e.xreplace(corner) > bound)

    def settle(e: sympy.Basic) -> sympy.Basic:
        if isinstance(e, sympy.Mod) and e.args[0].is_number and e.args[0] >= 0 and growing_past(e.args[1], e.args[0]):
            return e.args[0]
        if isinstance(e, sympy.Max):
            numbers = [a for a in e.args if a.is_number]
            rest = [a for a in e.args if not a.is_number]
            if len(rest) == 1 and numbers and growing_past(rest[0], max(numbers) - 1):
                return rest[0]
        return e

    return f.replace(lambda e: isinstance(e, (sympy.Mod, sympy.Max)), settle)


def _grows_from(f: sympy.Expr, corner: Mapping[sympy.Symbol, sympy.Expr], name: str) -> bool:
    """Whether f, a sum of positive multiples of products of growing factors each at least 0 at `corner`, holds
    the relation `name` to 0 there (and so everywhere above it)."""
    _, terms = f.as_coeff_add()
    for term in terms:
        coefficient, factors = term.as_coeff_mul()
        if coefficient <= 0:
            return False
        for factor in factors:
            if not all(nondecreasing(factor, s, corner) for s in factor.free_symbols):
                return False
            if not factor.xreplace(corner) >= 0:
                return False
    least = f.xreplace(corner)
    return bool(least >= 0) if name == ">=" else bool(least > 0)


def _conjuncts(guards: Sequence[sympy.Basic]) -> list[sympy.Basic]:
    """The guards with every conjunction split into its parts."""
    out: list[sympy.Basic] = []
    for guard in guards:
        out.extend(_conjuncts(guard.args) if isinstance(guard, sympy.And) else [guard])
    return out


def _plain(guard: sympy.Basic, symbol: sympy.Symbol) -> bool:
    """Whether `guard` compares the size itself with a number, no floor or product in between."""
    relation = _difference(guard)
    return (
        relation is not None
        and sympy.expand(relation[1]).as_poly(symbol) is not None
        and sympy.degree(relation[1], symbol) == 1
        and not relation[1].atoms(sympy.floor, sympy.ceiling)
    )
