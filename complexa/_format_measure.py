"""measure's tables in text, Markdown and LaTeX: measured beside derived, one row per phase and op that either side
counts, whatever ops the network has."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from complexa._format import Table, grouped, human, latex_text, wrap_prose

if TYPE_CHECKING:
    from complexa.reference import Measurement

__all__ = ["Counts", "measure_rows", "measure_text", "measure_markdown", "measure_latex"]

Counts = Mapping[str, Mapping[str, int]]
"""phase -> op -> count."""


def measure_rows(measured: Counts, derived: Counts) -> list[tuple[str, str, int, int]]:
    """(phase, op, measured, derived) for every phase and op either side has."""
    rows = []
    for phase in dict.fromkeys([*derived, *measured]):
        for op in dict.fromkeys([*derived.get(phase, {}), *measured.get(phase, {})]):
            rows.append((phase, op, measured.get(phase, {}).get(op, 0), derived.get(phase, {}).get(op, 0)))
    return rows


def _measure_title(m: Measurement) -> str:
    steps = "training step" if m.iterations == 1 else "training steps"
    return f"measured {m.network!r} on {m.backend}, {m.iterations} {steps}, seed {m.seed}"


def _count(si: bool) -> Callable[[int], str]:
    """A measured or derived count: exact with separators, or in SI units to four figures (below 1,000 exact)."""
    if not si:
        return grouped
    return lambda value: human(value, digits=4) or grouped(value)


def _uses_si(units: str, rows: list[tuple[str, str, int, int]], *, auto: bool) -> bool:
    """One style for the table: SI with ``si``; with ``auto`` (text only), SI where a count reaches 10^6."""
    from complexa._format_derive import SI_FROM

    if units == "si":
        return True
    return units == "auto" and auto and any(max(abs(got), abs(want)) >= SI_FROM for _, _, got, want in rows)


def measure_text(m: Measurement, derived: Counts, *, units: str = "auto", width: int | None = None) -> str:
    """Measured beside derived, per phase and op, and a last line saying whether they agree. The counts in `units`
    (``auto``, ``exact`` or ``si``: see `complexa._format_derive.UNITS`); the difference always exact. A title wider
    than `width` wraps."""
    rows = measure_rows(m.counts, derived)
    count = _count(_uses_si(units, rows, auto=True))
    body = []
    last = ""
    for phase, op, got, want in rows:
        body.append(
            [phase if phase != last else "", op, count(got), count(want), "" if got == want else f"{got - want:+,}"]
        )
        last = phase
    lines = [*wrap_prose(_measure_title(m), width), ""]
    lines += Table(["phase", "op", "measured", "derived", "difference"], body, "<<>>>").text()
    differ = sum(got != want for _, _, got, want in rows)
    lines += ["", f"{differ} of {len(rows)} counts differ" if differ else f"all {len(rows)} counts agree"]
    return "\n".join(lines)


def measure_markdown(m: Measurement, derived: Counts, *, units: str = "auto") -> str:
    """Measured beside derived as a Markdown table; the counts exact unless `units` is ``si``."""
    rows = measure_rows(m.counts, derived)
    count = _count(_uses_si(units, rows, auto=False))
    body = [[p, op, count(g), count(w), "" if g == w else f"{g - w:+,}"] for p, op, g, w in rows]
    differ = sum(g != w for _, _, g, w in rows)
    verdict = f"{differ} of {len(rows)} counts differ" if differ else f"all {len(rows)} counts agree"
    table = Table(["phase", "op", "measured", "derived", "difference"], body, "<<>>>").markdown()
    return "\n".join([f"**{_measure_title(m)}**", "", *table, "", verdict])


def measure_latex(m: Measurement, derived: Counts, *, units: str = "auto") -> str:
    """Measured beside derived as a LaTeX ``array``; the counts exact unless `units` is ``si``."""
    rows = measure_rows(m.counts, derived)
    si = _uses_si(units, rows, auto=False)

    def count(value: int) -> str:
        shown = human(value, digits=4) if si else None
        return rf"\text{{{shown}}}" if shown else str(value)

    body = [
        [rf"\text{{{latex_text(p)}}}", rf"\text{{{latex_text(op)}}}", count(g), count(w), str(g - w)]
        for p, op, g, w in rows
    ]
    headers = [rf"\text{{{h}}}" for h in ("phase", "op", "measured", "derived", "difference")]
    return Table(headers, body, "<<>>>").latex()
