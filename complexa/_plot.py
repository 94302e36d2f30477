"""The figure of a `complexa.scaling.ScaleResult`: log-log panels of the measured values against the derived curves.

matplotlib is optional (the ``plot`` extra, `install_hint`) and imported only here, when a figure is asked for. The
figure is built with `matplotlib.figure.Figure` directly, never through pyplot: no display, no global state, and
the Agg renderer for PNG.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from complexa._format import significant
from complexa._limits import show
from complexa._printers import latex
from complexa.errors import ComplexaError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from complexa.scaling import ScaleResult

__all__ = ["figure", "save", "plot_paths", "require_matplotlib", "install_hint", "tick_format"]

_TITLES = {
    "forward": "forward operations",
    "backward": "backward operations",
    "update": "update operations",
    "total": "all operations",
    "seconds": "seconds per run (training steps)",
}
_YLABELS = {"seconds": "seconds per run (median)"}
"""The y-axis label of each panel; a count's is `_COUNTED`."""
_COUNTED = "operations counted"
_LEGEND = {"fontsize": 8, "labelspacing": 0.8, "handlelength": 2.4, "borderaxespad": 0.6, "framealpha": 0.9}
"""Legend settings roomy enough that a label with mathtext (64 n^2) never touches the one above it."""


def install_hint(extra: str) -> str:
    """How to install one of complexa's extras, from PyPI and from a clone of the repository.

    >>> install_hint("plot")
    'pip install "complexa[plot]", or pip install ".[plot]" in a clone of complexa'
    """
    return f'pip install "complexa[{extra}]", or pip install ".[{extra}]" in a clone of complexa'


def require_matplotlib() -> None:
    """Raise `ComplexaError` saying how to install matplotlib, unless it is installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ComplexaError(f"plotting needs matplotlib: {install_hint('plot')}") from None


def _curve(poly: sympy.Poly, n: Any) -> Any:
    """The polynomial at the float sizes `n`."""
    return sum(float(Fraction(str(c))) * n**k for (k,), c in poly.terms())


def _math_number(value: float) -> str:
    """`value` for mathtext: an integer exactly, with separators (``1{,}048{,}576``); any other number to three
    significant figures, ``0.0123``, or ``1.82 \\times 10^{-7}`` outside 0.001 .. 100,000."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}".replace(",", "{,}")
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:.3g}"
    return _powers(value)


def _log_axes(ax: Any, sizes: Any) -> None:
    """Log-log axes, the x ticks at the swept sizes, labelled as plain integers. Where the y axis spans less than three
    decades, its ticks are at 1, 2 and 5 times each power of ten, so that more than one of them is labelled, all in
    one style (`tick_format`); over three decades or more, matplotlib labels the powers of ten alike."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes, [str(int(s)) for s in sizes])
    ax.minorticks_off()
    ax.tick_params(axis="x", labelsize=8)
    low, high = ax.get_ylim()
    if 0 < low and high < 1000 * low:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        tick = tick_format(low, high)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: tick(v)))


def tick_format(low: float, high: float) -> Callable[[float], str]:
    r"""How the y ticks of an axis from `low` to `high` (less than three decades) are labelled, one style for the
    whole axis: positional with separators (``5,000``, ``0.2``) where every tick lies from 0.001 to 10^7, else all
    as powers of ten in mathtext (``$5 \times 10^{-6}$``), never a mix of the two.

    >>> f = tick_format(2e6, 5e7)
    >>> f(5e6), f(1e7)
    ('$5 \\times 10^{6}$', '$1 \\times 10^{7}$')
    >>> f = tick_format(0.3, 40)
    >>> f(0.5), f(2), f(20)
    ('0.5', '2', '20')
    """
    if 1e-3 <= low and high < 1e7:
        return lambda value: significant(value, 1) if value < 1 else f"{value:,.0f}"
    return lambda value: f"${_powers(value)}$"


def _powers(value: float) -> str:
    mantissa, exponent = f"{value:.2e}".split("e")
    return rf"{float(mantissa):.3g} \times 10^{{{int(exponent)}}}"


def figure(result: ScaleResult) -> Figure:
    """One log-log panel per fitted quantity, and a last one of nanoseconds per counted operation.

    Each panel shows the measured values (for times the median, with bars from the fastest to the slowest repeat),
    the derived curve scaled by its fitted constant (for a count, the derivation itself), and its leading term
    alone, C n^d, the big-O with its constant.
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    names = list(result.fits)
    columns = 3
    rows = -(-(len(names) + 1) // columns)
    fig = Figure(figsize=(4.2 * columns, 3.4 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    sizes = np.array(result.sizes, dtype=float)
    grid = np.geomspace(sizes[0], sizes[-1], 200)
    n = result.symbol.name
    label = f"{result.vary} {n}" if result.vary != n else n
    for ax, name in zip(axes, names):
        f = result.fits[name]
        poly = sympy.Poly(result.derived[name], result.symbol)
        lead = float(Fraction(str(poly.LC())))
        values = np.array(result.values(name))
        if name == "seconds":
            low = values - np.array([min(p.seconds) for p in result.points])
            high = np.array([max(p.seconds) for p in result.points]) - values
            ax.errorbar(sizes, values, yerr=[low, high], fmt="o", color="C0", capsize=3, label="measured (median)")
        else:
            ax.plot(sizes, values, "o", color="C0", label="measured")
        ax.plot(grid, f.constant / lead * _curve(poly, grid), "-", color="C1", label="derived, constant fitted")
        term = "" if f.derived == 0 else rf"\,{n}" if f.derived == 1 else rf"\,{n}^{{{f.derived}}}"
        ax.plot(
            grid,
            f.constant * grid**f.derived,
            "--",
            color="C2",
            label=f"leading term ${_math_number(f.constant)}{term}$",
        )
        if name == "seconds":
            ax.plot(
                grid,
                result.overhead + result.per_operation * _curve(poly, grid),
                ":",
                color="C3",
                label="overhead + cost per op",
            )
        _log_axes(ax, sizes)
        ax.set_title(
            f"{_TITLES.get(name, name)}: $O({latex(f.order.expr)})$\n"
            f"fitted {f.exponent:.2f} [{f.interval[0]:.2f}, {f.interval[1]:.2f}], {f.verdict}",
            fontsize=9,
        )
        ax.set_xlabel(label)
        ax.set_ylabel(_YLABELS.get(name, _COUNTED))
        ax.legend(loc="best", **_LEGEND)
    ns = np.array([1e9 * p.median / p.operations for p in result.points])
    ax = axes[len(names)]
    ax.plot(sizes, ns, "o-", color="C4")
    _log_axes(ax, sizes)
    ax.set_title("nanoseconds per counted operation\n(the constant big-O hides)", fontsize=9)
    ax.set_xlabel(label)
    ax.set_ylabel("ns per operation (median run)")
    for ax in axes[len(names) + 1 :]:
        ax.set_visible(False)
    fig.suptitle(result.title(), fontsize=10)
    return fig


def plot_paths(path: str | Path) -> tuple[Path, Path]:
    """The PNG and SVG paths that `save` writes for `path`, checked by opening both for writing (and removing what
    the check created), so that a sweep never runs only to fail at the end: ``"scale"``, ``"scale.png"`` and
    ``"scale.svg"`` all give ``scale.png`` and ``scale.svg``; a directory (``"out/"``) gets them inside it.

    **Raises:** `ComplexaError` for an empty name, another suffix, a directory that does not exist, a file that
    cannot be written (permissions, a name too long, a directory in the way), or no matplotlib.
    """
    require_matplotlib()
    text = str(path)
    if not text.strip():
        raise ComplexaError("plot = '': give a file name, such as scale.png")
    try:
        return _checked_paths(text)
    except OSError as error:  # a name too long, say, which even asking whether it is a directory refuses
        raise ComplexaError(f"plot = {show(text, 300)}: {error.strerror}") from None


def _checked_paths(text: str) -> tuple[Path, Path]:
    target = Path(text)
    if target.is_dir():
        target = target / "scale"
    elif text.endswith(("/", os.sep)):
        raise ComplexaError(f"plot = {show(text, 300)}: the directory does not exist")
    if target.suffix.lower() in (".png", ".svg"):
        target = target.with_suffix("")
    elif target.suffix:
        raise ComplexaError(f"plot = {show(text, 300)}: give a name ending in .png or .svg, or none; both are written")
    if not target.parent.is_dir():
        raise ComplexaError(f"plot = {show(text, 300)}: the directory {show(str(target.parent), 300)} does not exist")
    written = target.with_name(target.name + ".png"), target.with_name(target.name + ".svg")
    for out in written:
        _check_writable(out, text)
    return written


def _check_writable(out: Path, given: str) -> None:
    existed = out.exists()
    try:
        with open(out, "ab"):
            pass
    except OSError as error:
        raise ComplexaError(
            f"plot = {show(given, 300)}: cannot write {show(str(out), 300)}: {error.strerror}"
        ) from None
    if not existed:
        out.unlink()


def save(fig: Figure, path: str | Path) -> tuple[Path, Path]:
    """Write `fig` as PNG and SVG at `plot_paths` (`path`).

    **Returns:** the two paths written.
    """
    written = plot_paths(path)
    for out in written:
        try:
            fig.savefig(out, dpi=110)
        except OSError as error:  # the disk filled up during the sweep, say
            raise ComplexaError(
                f"plot = {show(str(path), 300)}: cannot write {show(str(out), 300)}: {error.strerror}"
            ) from None
    return written
