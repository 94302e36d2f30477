"""`scale`: train the reference network over a sweep of one size, and set what it counts and how long it takes
beside the derived big-O, with fitted exponents, constants and residuals.

Big-O hides constant factors; this shows them, measured. The derived side is one symbolic derivation in which the
swept size is a symbol, so the big-O of every quantity and its lower-order terms are known exactly; the fits in
`complexa._fit` use both. The ``complexa scale`` command is in `complexa._scale_cli`.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy

from complexa._choices import UNITS
from complexa._fit import LOOSE, TOLERANCE, Fit, affine, fit
from complexa._format import Table, human, significant, wrap_prose
from complexa._limits import show
from complexa._plot import install_hint
from complexa._printers import sstr
from complexa._sweep import (
    DEFAULT_SIZES,
    MAX_OPERATIONS,
    VARIES,
    check_memory,
    check_size,
    doubling,
    positive_int,
    sweep,
    sweep_sizes,
)
from complexa._validate import as_choice
from complexa.derivation import Derivation, derive
from complexa.errors import ComplexaError
from complexa.network import Network
from complexa.reference import BACKENDS, measure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "scale",
    "ScaleResult",
    "Point",
    "Fit",
    "VARIES",
    "QUANTITIES",
    "DEFAULT_SIZES",
    "MAX_OPERATIONS",
    "doubling",
]

QUANTITIES = ("forward", "backward", "update", "total", "seconds")
"""What is fitted: the operations counted in each phase and in all, and the wall time of the training steps."""
DEFAULT_NETWORK = Network.uniform(64, 4, batch=8)
"""The base network of ``complexa scale`` without sizes: four layers of 64, a batch of 8."""

PROGRESS_DELAY = 1.0
"""Seconds a sweep runs before its progress bar appears."""

_KERNELS_LOADED: set[str] = set()
"""The backends whose kernels a sweep has run in this process: numba imported, kernels loaded or compiled."""

_PHASES = ("forward", "backward", "update")


@dataclass(frozen=True)
class Point:
    """One size of a sweep: the network trained there, what it counted, what was derived, and its times.

    **Attributes:** `size`; `network` and `iterations`, what was trained; `counts` (measured) and `derived`, phase ->
    op -> int, totals over the iterations; `seconds`, the wall time of the training steps in each repeat.
    """

    size: int
    network: Network
    iterations: int
    counts: dict[str, dict[str, int]] = field(repr=False)
    derived: dict[str, dict[str, int]] = field(repr=False)
    seconds: tuple[float, ...] = field(repr=False)

    @property
    def operations(self) -> int:
        """Every operation counted at this size, all phases and ops together."""
        return sum(sum(ops.values()) for ops in self.counts.values())

    @property
    def agrees(self) -> bool:
        """Whether every measured count equals the derived one."""
        return self.counts == self.derived

    @property
    def median(self) -> float:
        """The median of `seconds`."""
        return statistics.median(self.seconds)

    def value(self, quantity: str) -> float:
        """The measured value of one of `QUANTITIES` at this size (for ``seconds``, the median)."""
        if quantity == "seconds":
            return self.median
        if quantity == "total":
            return float(self.operations)
        return float(sum(self.counts[quantity].values()))


@dataclass(frozen=True, eq=False)
class ScaleResult:
    """A sweep, measured and fitted: made by `scale`.

    Prints as a table of the points and of the fits (``str``); `markdown` and `as_json` give the same; `plot` draws
    it.

    **Attributes:**

    - `vary`: what was swept (``"width"``, ...), and `symbol`, the symbol standing for it in `network`.
    - `network`, `iterations`: the swept network and number of training steps, with `symbol` where the size goes.
    - `backend`, `repeats`: where and how often each size was trained.
    - `points`: one `Point` per size.
    - `derived`: quantity -> the derived polynomial in `symbol` (``seconds`` is set against the total count).
    - `fits`: quantity -> `Fit`, for each of `QUANTITIES` that had three positive points.
    - `overhead`, `per_operation`: seconds = overhead + per_operation x operations, fitted to the medians: the fixed
      cost of a call and the cost of a counted operation.
    - `elapsed`: the seconds spent measuring: the wall time of every run of the sweep, the warm-up runs of each size
      included; not the process's start-up, the loading or compiling of the kernels, the derivation nor the fits.
      ``str`` shows it as "2.8 s measuring".
    """

    vary: str
    symbol: sympy.Symbol
    network: Network
    iterations: sympy.Expr
    backend: str
    repeats: int
    points: tuple[Point, ...] = field(repr=False)
    derived: dict[str, sympy.Expr] = field(repr=False)
    fits: dict[str, Fit] = field(repr=False)
    overhead: float
    per_operation: float
    elapsed: float

    @property
    def sizes(self) -> tuple[int, ...]:
        """The swept sizes."""
        return tuple(p.size for p in self.points)

    @property
    def agrees(self) -> bool:
        """Whether every measured count, at every size, equals the derived one."""
        return all(p.agrees for p in self.points)

    def values(self, quantity: str) -> list[float]:
        """The measured values of one of `QUANTITIES`, one per size."""
        return [p.value(quantity) for p in self.points]

    def title(self) -> str:
        """One line saying what was swept, and how."""
        what = f"{self.vary} sweep"
        steps = f", iterations = {self.iterations}" if self.iterations != 1 else ""
        return (
            f"{what} of {self.network!r}{steps}: {self.symbol} = {self.sizes[0]} .. {self.sizes[-1]} "
            f"({len(self.points)} sizes), {self.repeats} {'repeat' if self.repeats == 1 else 'repeats'} on "
            f"{self.backend}, {_duration(self.elapsed)} measuring"
        )

    def _point_rows(self, si: bool = False) -> list[list[str]]:
        """The points as table rows: size, operations (in SI units with `si`), median seconds with the spread, ns per
        operation, agreement."""
        rows = []
        for p in self.points:
            spread = f"{_duration(p.median)} ({_duration(min(p.seconds))} - {_duration(max(p.seconds))})"
            ns = 1e9 * p.median / p.operations
            operations = (human(p.operations, digits=4) if si else None) or f"{p.operations:,}"
            rows.append([str(p.size), operations, spread, significant(ns), "yes" if p.agrees else "NO"])
        return rows

    def _si(self, units: str, auto: bool) -> bool:
        """Whether the points table prints its operations in SI units (see `complexa._format_derive.UNITS`)."""
        from complexa._format_derive import SI_FROM

        if units not in UNITS:
            raise ComplexaError(f"units = {show(units)}: must be one of {', '.join(map(repr, UNITS))}")
        return units == "si" or (units == "auto" and auto and any(p.operations >= SI_FROM for p in self.points))

    def _fit_rows(self, markdown: bool = False) -> list[list[str]]:
        """The fits as table rows: derived big-O, exponent and interval, upper half, plain slope, constant, residual;
        for Markdown, the big-O as code, as every expression in complexa's Markdown."""
        rows = []
        for name, f in self.fits.items():
            term = "" if f.derived == 0 else f" {self.symbol}" if f.derived == 1 else f" {self.symbol}^{f.derived}"
            order = f"O({sstr(f.order.expr)})"
            rows.append(
                [
                    name,
                    f"`{order}`" if markdown else order,
                    f"{f.exponent:.3f} [{f.interval[0]:.3f}, {f.interval[1]:.3f}]",
                    f"{f.upper:.3f} [{f.upper_interval[0]:.3f}, {f.upper_interval[1]:.3f}]",
                    f"{f.slope:.3f}",
                    f"{_constant(f.constant, name == 'seconds')}{term}",
                    f"{f.residual:.3f}",
                    f.verdict,
                ]
            )
        return rows

    def _cost_line(self) -> str:
        """The fixed cost of a call and the cost of a counted operation, in words."""
        return (
            f"seconds = {_duration(self.overhead)} {'-' if self.per_operation < 0 else '+'} "
            f"{_duration(abs(self.per_operation))} x operations "
            "(a fixed cost per call, and the cost of each counted operation)"
        )

    def __str__(self) -> str:
        return self.text()

    def text(self, units: str = "auto", width: int | None = None) -> str:
        """The sweep as aligned text tables, as ``str`` prints it: the points, the fits, the cost of a call and of an
        operation, and what the columns mean.

        **Arguments:**

        - `units`: ``"auto"`` (the default: the operations in SI units, ``11.83 M``, where one reaches 10^6),
          ``"exact"`` (``11,826,176``) or ``"si"``. Fitted constants are always exact.
        - `width`: the explanations at the end wrapped within it; None: as written.
        """
        si = self._si(units, auto=True)
        counts = (
            "every measured count equals the derived one"
            if self.agrees
            else "SOME MEASURED COUNTS DIFFER FROM THE DERIVED ONES"
        )
        return "\n".join(
            [
                self.title(),
                counts,
                "",
                _text(self._point_header(), self._point_rows(si), _POINT_ALIGN),
                "",
                _text(_FIT_HEADER, self._fit_rows(), _FIT_ALIGN),
                "",
                *wrap_prose(self._cost_line(), width),
                *(line for paragraph in _VERDICTS for line in wrap_prose(paragraph, width or _VERDICTS_WIDTH)),
            ]
        )

    def markdown(self, units: str = "auto") -> str:
        """The same as ``str``, as Markdown tables; the operations exact unless `units` is ``"si"``."""
        si = self._si(units, auto=False)
        return "\n".join(
            [
                f"**{self.title()}**",
                "",
                _markdown(self._point_header(), self._point_rows(si), _POINT_ALIGN),
                "",
                _markdown(_FIT_HEADER, self._fit_rows(markdown=True), _FIT_ALIGN),
                "",
                self._cost_line(),
            ]
        )

    def _point_header(self) -> list[str]:
        return [self.symbol.name, "operations", "seconds (median, min - max)", "ns/op", "agree"]

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def as_json(self) -> dict[str, object]:
        """Plain JSON-ready values: the sweep, every point (every repeat's seconds) and every fit."""
        return {
            "kind": "scale",
            "vary": self.vary,
            "symbol": self.symbol.name,
            "network": repr(self.network),
            "iterations": str(self.iterations),
            "backend": self.backend,
            "repeats": self.repeats,
            "elapsed": self.elapsed,
            "agrees": self.agrees,
            "derived": {name: str(expr) for name, expr in self.derived.items()},
            "points": [
                {
                    "size": p.size,
                    "iterations": p.iterations,
                    "counts": p.counts,
                    "derived": p.derived,
                    "seconds": {"median": p.median, "min": min(p.seconds), "max": max(p.seconds), "all": p.seconds},
                }
                for p in self.points
            ],
            "fits": {name: f.as_dict() for name, f in self.fits.items()},
            "cost": {"overhead_seconds": self.overhead, "seconds_per_operation": self.per_operation},
        }

    def plot(self, path: str | Path | None = None) -> Figure:
        """A log-log figure, one panel per quantity: the measured points, the derived curve with its constant fitted,
        and the leading term alone; a last panel shows nanoseconds per operation.

        **Arguments:**

        - `path`: where to write it, as PNG and SVG both: ``"scale"`` or ``"scale.png"`` writes ``scale.png`` and
          ``scale.svg``. None: write nothing.

        **Returns:** the `matplotlib.figure.Figure` (made without pyplot, so no display is needed).

        **Raises:** `ComplexaError` when matplotlib is not installed (``pip install "complexa[plot]"``, or
        ``pip install ".[plot]"`` in a clone of the repository).
        """
        from complexa._plot import figure, save

        fig = figure(self)
        if path is not None:
            save(fig, path)
        return fig


_FIT_HEADER = [
    "quantity",
    "derived",
    "exponent [95%]",
    "upper half [95%]",
    "plain slope",
    "constant",
    "residual",
    "verdict",
]
# Numbers right-aligned, as in every complexa table; the seconds with their spread, the constant (64 n^2) and the
# words left.
_POINT_ALIGN = ">><><"
_FIT_ALIGN = "<<>>><><"
_VERDICTS = (
    "exponent: the log-log slope once the derived lower-order terms are divided out, with its 95% interval. verdict: "
    f"the derived class d holds where the interval (widened to +-{TOLERANCE}) holds d and is tight, within d +- "
    f"{LOOSE}, on the whole sweep or its upper half; inconclusive where an interval holds d but is loose, reaching "
    f"past d +- {LOOSE}.",
    "plain slope: the log-log slope with nothing divided out. constant: C of C n^d r(n), fitted on the upper half.",
    "residual: rms of log(measured / derived curve) over every point, 0.1 for about 10%.",
)
"""What the columns mean, a paragraph each, printed under the tables."""
_VERDICTS_WIDTH = 116
"""Where the paragraphs wrap when no width is given: the fits table's width."""


def _duration(seconds: float) -> str:
    """`seconds` to three significant figures in s, ms, us or ns, never in powers of ten: ``1.88 ms``."""
    for unit, scale_ in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale_:
            return f"{significant(seconds / scale_)} {unit}"
    return f"{significant(seconds * 1e9)} ns"


def _constant(value: float, seconds: bool) -> str:
    """A fitted constant: a time per n^d as a duration (``36.9 ns``); an integer exactly, with separators
    (``1,048,576``, as every count is printed); any other number to four significant figures, never in powers of
    ten."""
    if seconds:
        return _duration(value)
    if value.is_integer():
        return f"{int(value):,}"
    return significant(value, 4)


def _text(header: list[str], rows: list[list[str]], align: str) -> str:
    return "\n".join(Table(header, rows, align).text())


def _markdown(header: list[str], rows: list[list[str]], align: str) -> str:
    return "\n".join(Table(header, rows, align).markdown())


def _operations(d: Derivation) -> dict[str, sympy.Expr]:
    phases = {phase: sympy.Add(*d.counts[phase].values()) for phase in _PHASES}
    total = sympy.Add(*phases.values())
    return {**phases, "total": total, "seconds": total}


@contextmanager
def _progress(total: int, enabled: bool | None, label: str) -> Iterator[Callable[[], object]]:
    """A tqdm bar on stderr that appears after a second, only on a terminal (always with True, never with False)."""
    if enabled is False:
        yield lambda: None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        if enabled:
            raise ComplexaError(f"progress=True needs tqdm: {install_hint('plot')}") from None
        yield lambda: None
        return
    disable = not sys.stderr.isatty() if enabled is None else False
    with tqdm(
        total=total, desc=label, unit="run", delay=PROGRESS_DELAY, disable=disable, leave=False, file=sys.stderr
    ) as bar:
        yield lambda: bar.update()


def scale(
    network: Network | Callable[[Any], Network],
    *,
    vary: str | None = None,
    sizes: Sequence[int] | str | None = None,
    repeats: int = 5,
    backend: str = "cpu",
    iterations: int = 1,
    progress: bool | None = None,
) -> ScaleResult:
    """Train the reference network at every size of a sweep; fit the counts and times against the derived big-O.

    Each size is trained `repeats` times, the sizes in turn within each repeat so that drift hits them alike. Untimed
    warm-up runs come first: once per process, one that imports numba and loads (or compiles) the kernels; then one
    run of every size; and one of the first size at the start of every repeat, which would otherwise follow the
    largest network, whose arrays evicted everything from the caches, and run about twice as slowly as it does warm.
    Counts are exact and the same every repeat; times are the training steps' wall time alone
    (`complexa.Measurement.seconds`), reported as the median with the spread.

    **Arguments:**

    - `network`: the base `Network`, of which `vary` picks what to sweep; or a factory, a function from a size to a
      `Network`, which must also accept a sympy symbol (``lambda n: Network([784, n, 10])``) so that the sweep's
      big-O can be derived.
    - `vary`: with a `Network`: ``"width"`` or ``"depth"`` (the network must be uniform: `Network.uniform`),
      ``"batch"``, ``"iterations"``, or the name of the network's one symbol (``Network([784, "h", 10])`` sweeps
      h); default: that symbol, else ``"width"``. With a factory: the name of its size, default ``"n"``.
    - `sizes`: the sweep, at least 3 increasing positive ints, or ``"LO..HI"`` (LO doubling up to HI); default
      `DEFAULT_SIZES`, 4 to 256.
    - `repeats`: runs per size, a positive int.
    - `backend`: ``"cpu"`` or ``"cuda"`` (see `complexa.measure`); ``cuda`` times include the copies to the device.
    - `iterations`: training steps per run, unless `vary` is ``"iterations"``.
    - `progress`: a progress bar on stderr (with tqdm installed) for sweeps longer than a second: None shows it on
      a terminal only, True always, False never.

    **Returns:** a `ScaleResult`.

    **Raises:** `ComplexaError` for a bad argument, naming it: an unknown `vary`, a network that does not fit it,
    sizes that are not increasing, fewer than 3 or too large to measure (`MAX_OPERATIONS`, or memory).

    >>> from complexa import Network
    >>> r = scale(Network.uniform(4, 2, batch=2), sizes=[4, 8, 16, 32], repeats=1)
    >>> r.agrees, r.fits["forward"].order, r.fits["forward"].exponent, r.fits["forward"].constant
    (True, O(n**2, (n, oo)), 2.0, 8.0)
    >>> r.derived["forward"]
    8*n**2 + 4*n
    """
    spec = sweep(network, vary, iterations)
    swept = sweep_sizes(sizes)
    repeats = positive_int(repeats, "repeats")
    backend = as_choice(backend, BACKENDS, "backend")
    if progress is not None and not isinstance(progress, bool):
        raise ComplexaError(f"progress = {show(progress)}: must be True, False or None")
    d = derive(spec.network, iterations=spec.iterations)
    polys = _operations(d)
    check_size(swept, polys["total"], spec.symbol, repeats)
    at = [spec.at(size) for size in swept]
    check_memory(*at[-1])
    derived = [d.evaluate(**{spec.symbol.name: size}).counts for size in swept]

    counts: list[dict[str, dict[str, int]]] = [{} for _ in at]
    seconds: list[list[float]] = [[] for _ in at]
    with _progress(1 + len(at) + repeats * (1 + len(at)), progress, f"scale {spec.vary}") as advance:
        if backend not in _KERNELS_LOADED:  # numba's import and the kernels' loading or compiling, once per process
            measure(at[0][0], backend=backend)
            _KERNELS_LOADED.add(backend)
        advance()
        started = time.perf_counter()
        for net, steps in at:  # warm-up, untimed: see the docstring
            measure(net, backend=backend, iterations=steps)
            advance()
        for _ in range(repeats):
            measure(at[0][0], backend=backend, iterations=at[0][1])  # untimed: the last run was the largest
            advance()
            for k, (net, steps) in enumerate(at):
                m = measure(net, backend=backend, iterations=steps)
                counts[k] = m.counts
                seconds[k].append(m.seconds)
                advance()
    elapsed = time.perf_counter() - started
    points = tuple(
        Point(size, net, steps, counts[k], derived[k], tuple(seconds[k]))
        for k, (size, (net, steps)) in enumerate(zip(swept, at))
    )
    fits = {}
    for name in QUANTITIES:
        fitted = fit(name, sympy.Poly(polys[name], spec.symbol), swept, [p.value(name) for p in points])
        if fitted is not None:
            fits[name] = fitted
    overhead, per_operation = affine([p.operations for p in points], [p.median for p in points])
    return ScaleResult(
        vary=spec.vary,
        symbol=spec.symbol,
        network=spec.network,
        iterations=spec.iterations,
        backend=backend,
        repeats=repeats,
        points=points,
        derived=polys,
        fits=fits,
        overhead=overhead,
        per_operation=per_operation,
        elapsed=elapsed,
    )
