"""Fitting measured values against a derived polynomial: the exponent with an interval, the constant, the residual.

A plain log-log slope is biased by lower-order terms: n^2 + 3n measured from 8 to 128 has a slope of about 1.9,
not 2. The derivation knows those terms, so the fit divides them out first: with the derived count
p(n) = c n^d + (lower terms), the shape r(n) = p(n) / (c n^d) tends to 1, and the model is

    y(n) = C n^k r(n),   so   log(y / r) = log C + k log n,

an ordinary least-squares line. Its slope k is the fitted exponent, with a 95% Student-t interval; its residual says
how well the derived class explains the data. This tests the derived class against the data instead of picking a
class from residuals alone (the big_O package's approach, which noise misleads). Counts are exact, so for them k is d
to rounding and the residual 0; times keep their noise, their fixed overheads and their caches, and the fit reports
them as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy

__all__ = ["Fit", "fit", "affine", "TOLERANCE", "LOOSE"]

TOLERANCE = 0.05
"""How close a fitted exponent must be to the derived one to hold, where its interval is narrower than this."""

LOOSE = 0.5
"""How far from the derived exponent d the 95% interval may reach before the fit is *loose*: an interval that reaches
past d - 0.5 or d + 0.5 holds exponents nearer a neighbouring class, d - 1 or d + 1, than d itself, so that it cannot
confirm d even where it holds it."""

# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom; scipy is not a dependency.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t95(df: int) -> float:
    """The two-sided 95% quantile of Student's t with `df` degrees of freedom (df >= 1).

    >>> t95(5), round(t95(1000), 3)
    (2.571, 1.962)
    """
    if df <= len(_T95):
        return _T95[df - 1]
    return 1.96 + 2.4 / df  # within 0.002 of the exact quantile from 31 on


@dataclass(frozen=True)
class Fit:
    """A measured quantity against its derived big-O over a sweep of one size n.

    **Attributes:**

    - `quantity`: what was measured, such as ``"forward"`` or ``"seconds"``.
    - `order`: the derived big-O, such as ``O(n**2)``, and `derived`, its exponent d.
    - `exponent`, `interval`: the fitted k of y = C n^k r(n) (r: the derived lower-order shape, tending to 1) and
      its 95% interval, over the whole sweep.
    - `upper`, `upper_interval`: the same over the upper half of the sweep (at least 3 points), where the leading
      term weighs most.
    - `slope`: the plain log-log slope over the whole sweep, lower-order terms left in, for comparison.
    - `constant`: C with k = d, fitted over the upper half: the constant factor big-O hides; for a count its
      leading coefficient, for a time seconds per n^d.
    - `residual`: the root-mean-square over every point of log(y / (C n^d r(n))): how far the data stray from the
      derived curve, 0 when it passes through every point, 0.1 for about 10%.
    - `points`: how many points were fitted.
    """

    quantity: str
    order: sympy.Order
    derived: int
    exponent: float
    interval: tuple[float, float]
    upper: float
    upper_interval: tuple[float, float]
    slope: float
    constant: float
    residual: float
    points: int

    @property
    def holds(self) -> bool | None:
        """Whether the whole sweep confirms the derived exponent d: True when d lies in the interval (widened to
        `TOLERANCE`) and the interval is tight; False when d lies outside; None when the fit is loose, its interval
        reaching past d - 0.5 or d + 0.5 (`LOOSE`), so that it holds exponents nearer a neighbouring class than d
        (d - 1 or d + 1 themselves, often) and the data cannot tell the derived class from its neighbours."""
        return _judge(self.derived, self.exponent, self.interval)

    @property
    def holds_upper(self) -> bool | None:
        """The same judgement as `holds`, on the upper half of the sweep."""
        return _judge(self.derived, self.upper, self.upper_interval)

    @property
    def verdict(self) -> str:
        """On this sweep: ``"holds"`` (the whole sweep's interval holds d and is tight), ``"holds on the upper half"``
        (only the upper half's does), ``"inconclusive"`` (neither is tight, and one holds d loosely: see `holds`) or
        ``"does not hold"`` (neither interval holds d)."""
        whole, upper = self.holds, self.holds_upper
        if whole:
            return "holds"
        if upper:
            return "holds on the upper half"
        return "inconclusive" if whole is None or upper is None else "does not hold"

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready values."""
        return {
            "quantity": self.quantity,
            "order": str(self.order.expr),
            "derived": self.derived,
            "exponent": self.exponent,
            "interval": list(self.interval),
            "upper": self.upper,
            "upper_interval": list(self.upper_interval),
            "slope": self.slope,
            "constant": self.constant,
            "residual": self.residual,
            "points": self.points,
            "verdict": self.verdict,
        }


def _judge(derived: int, exponent: float, interval: tuple[float, float]) -> bool | None:
    low, high = interval
    if abs(exponent - derived) > max((high - low) / 2, TOLERANCE):
        return False
    if low < derived - LOOSE or high > derived + LOOSE:
        return None  # loose: exponents nearer a neighbouring class fit the data as well
    return True


def _line(x: np.ndarray, z: np.ndarray) -> tuple[float, tuple[float, float]]:
    """The least-squares slope of z on x with its 95% interval (needs at least 3 points)."""
    xm = x - x.mean()
    sxx = float(xm @ xm)
    slope = float(xm @ (z - z.mean())) / sxx
    resid = z - z.mean() - slope * xm
    df = len(x) - 2
    half = t95(df) * math.sqrt(float(resid @ resid) / df / sxx)
    return slope, (slope - half, slope + half)


def shape(poly: sympy.Poly, sizes: Sequence[int]) -> tuple[int, Fraction, list[float]]:
    """The degree d and leading coefficient c of `poly` (in one symbol), and r(n) = poly(n) / (c n^d) at `sizes`."""
    d = poly.degree()
    c = Fraction(str(poly.LC()))
    coeffs = [Fraction(str(a)) for a in poly.all_coeffs()]
    r = []
    for n in sizes:
        value = Fraction(0)
        for a in coeffs:
            value = value * n + a
        r.append(float(value / (c * n**d)))
    return d, c, r


def fit(quantity: str, poly: sympy.Poly, sizes: Sequence[int], values: Sequence[float]) -> Fit | None:
    """Fit `values` measured at `sizes` against the derived polynomial `poly` in the swept symbol.

    **Arguments:**

    - `quantity`: the name to report.
    - `poly`: the derived count as a `sympy.Poly` in the swept symbol; its degree is the derived exponent.
    - `sizes`, `values`: the sweep, increasing sizes, and what was measured at each (a count, or a median time).

    **Returns:** a `Fit`, or None when fewer than 3 points are positive (a log-log fit needs them).

    >>> n = sympy.Symbol("n")
    >>> sizes = [8, 16, 32, 64, 128]
    >>> f = fit("count", sympy.Poly(n**2 + 3 * n, n), sizes, [k * k + 3 * k for k in sizes])
    >>> f.exponent, f.residual, round(f.slope, 2), f.verdict
    (2.0, 0.0, 1.9, 'holds')
    """
    d, _, r = shape(poly, sizes)
    keep = [i for i, (y, ri) in enumerate(zip(values, r)) if y > 0 and ri > 0]
    if len(keep) < 3:
        return None
    x = np.log(np.array([sizes[i] for i in keep], dtype=float))
    y = np.log(np.array([values[i] for i in keep], dtype=float))
    z = y - np.log(np.array([r[i] for i in keep]))
    exponent, interval = _line(x, z)
    top = max(3, (len(keep) + 1) // 2)
    upper, upper_interval = _line(x[-top:], z[-top:])
    slope, _ = _line(x, y)
    # The constant where the leading term weighs most; the residual over every point, so that a fixed overhead
    # at the small sizes shows in it rather than in a constant it would inflate.
    log_constant = float(np.mean(z[-top:] - d * x[-top:]))
    misfit = z - d * x - log_constant
    return Fit(
        quantity=quantity,
        order=sympy.Order(poly.gens[0] ** d, (poly.gens[0], sympy.oo)),
        derived=d,
        exponent=_clean(exponent),
        interval=(_clean(interval[0]), _clean(interval[1])),
        upper=_clean(upper),
        upper_interval=(_clean(upper_interval[0]), _clean(upper_interval[1])),
        slope=slope,
        constant=_clean(math.exp(log_constant), relative=True),
        residual=_clean(math.sqrt(float(np.mean(misfit**2)))),
        points=len(keep),
    )


def _clean(value: float, relative: bool = False) -> float:
    """`value`, with the last bits of rounding of an exact fit removed (so an exact count fits 2.0, not 1.9999...)."""
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < 1e-9 * (abs(value) if relative else 1.0) else value


def affine(operations: Sequence[int], seconds: Sequence[float]) -> tuple[float, float]:
    """Fixed seconds per call and seconds per operation: seconds = a + b operations, in relative least squares.

    A fitted a below 0 means no overhead is visible; the line is then refitted through the origin.

    >>> a, b = affine([100, 200, 400], [2e-6 + 1e-9 * 100, 2e-6 + 1e-9 * 200, 2e-6 + 1e-9 * 400])
    >>> round(a * 1e6, 6), round(b * 1e9, 6)
    (2.0, 1.0)
    """
    ops = np.array(operations, dtype=float)
    y = np.array(seconds, dtype=float)
    design = np.stack([1.0 / y, ops / y], axis=1)  # each row divided by its y: relative errors weigh alike
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(y), rcond=None)
    if a < 0:
        u = ops / y
        a, b = 0.0, float(u.sum() / (u @ u))
    return float(a), float(b)
