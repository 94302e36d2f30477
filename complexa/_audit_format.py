"""How an audit reads: an aligned text table, Markdown (the docs page is made of it), a LaTeX ``array`` and JSON."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import sympy

from complexa._audit import Audit, AuditRow, Side
from complexa._audit_claims import ASSUMED, BATCHES
from complexa._format import (
    SCHEMA_VERSION,
    WIDTH,
    Table,
    grouped,
    json_expr,
    json_order,
    latex_math,
    latex_order,
    latex_text,
    text_expr,
    text_order,
)
from complexa._parse import symbol

__all__ = ["audit_text", "audit_markdown", "audit_latex", "audit_json"]


def _fit(side: Side, bound: bool, star: str = "*") -> str:
    return f"{side.fit:.2f}{star if bound else ''}"


def _value(value: sympy.Rational) -> str:
    return grouped(int(value)) if value.is_Integer else f"{float(value):,.2f}"


def _measured(row: AuditRow, star: str = "*") -> str:
    """What the reference network's count on `row` is, marked as its fit is where it only bounds the quantity: two
    rows with the same count say so here, in the table itself."""
    return f"{row.measured_what}{star if row.bound else ''}"


def _sample(ns: tuple[int, ...]) -> list[int]:
    """A few n to show in a terminal: the powers of two measured, and the largest n."""
    picked = [n for n in ns if n & (n - 1) == 0]
    return sorted({*picked, ns[-1]})


def _audit_intro(a: Audit) -> str:
    return (
        "The essay's claims, for n neurons in each of n layers and n gradient iterations (L = n, T = n), against "
        "the exact model for batch 1 (the essay's input vector) and batch n (its matrix-shaped activations), and "
        f"against the reference network measured on {a.backend} for n = {a.ns[0]}..{a.ns[-1]}. fit: the "
        "least-squares slope of log(count) against log(n)."
    )


def _wrap(text: str, bullet: str = "") -> list[str]:
    indent = " " * len(bullet)
    return textwrap.wrap(text, WIDTH, initial_indent=bullet, subsequent_indent=indent, break_on_hyphens=False)


def _agreement(a: Audit) -> str:
    if a.counts_agree:
        return (
            f"The reference network's counts equal the exact model's in all {a.networks} measurements, every "
            "phase and op."
        )
    return f"The reference network's counts DIFFER from the exact model's in some of the {a.networks} measurements."


def _verdict_rows(a: Audit, code: Callable[[str], str], star: str = "*") -> list[list[str]]:
    rows = []
    for row in a.rows:
        cells = [row.claim]
        for b in BATCHES:
            side = row.sides[b]
            cells += [code(text_order(side.order)), _fit(side, row.bound, star), str(side.verdict)]
        rows.append(cells)
    return rows


def audit_text(a: Audit) -> str:
    """The audit for a terminal: the verdicts, the expressions, some measured counts, and the contradictions."""

    lines = [*_wrap(_audit_intro(a)), ""]
    headers = ["the essay's claim", "exact, B=1", "fit", "verdict, B=1", "exact, B=n", "fit", "verdict, B=n"]
    lines += Table(headers, _verdict_rows(a, str), "<<><<><").text()
    lines += [f"* {row.key}: an upper bound; measured: {row.measured_what}" for row in a.rows if row.bound]
    lines += ["", "expressions, with L = n and T = n:", ""]
    body = []
    for row in a.rows:
        essay = "" if row.essay_expr is None else text_expr(sympy.expand(row.essay_expr.xreplace(ASSUMED)))
        body.append(
            [row.key, essay or text_order(row.essay_order), *(text_expr(row.sides[b].assumed) for b in BATCHES)]
        )
    lines += Table(["row", "essay", "exact, batch 1", "exact, batch n"], body).text()
    sample = _sample(a.ns)
    lines += ["", "measured counts:", ""]
    body = []
    for row in a.rows:
        for b in BATCHES:
            values = dict(zip(a.ns, row.sides[b].measured))
            first = b == BATCHES[0]
            label = [row.key, _measured(row)] if first else ["", ""]
            body.append([*label, f"B={b}", *(_value(values[n]) for n in sample)])
    headers = ["row", "measured", "batch", *(f"n={n}" for n in sample)]
    lines += Table(headers, body, "<<<" + ">" * len(sample)).text()
    lines += ["", *_wrap(_agreement(a)), "", "Where the essay contradicts itself:"]
    for c in a.contradictions:
        lines += _wrap(c, "- ")
    return "\n".join(lines)


def audit_markdown(a: Audit) -> str:
    """The audit as Markdown, for docs/audit.md: every table, every note, every measured count."""

    def code(s: str) -> str:
        return f"`{s}`" if s else ""

    lines = [_audit_intro(a), ""]
    headers = [
        "the essay's claim",
        "exact, batch 1",
        "fit",
        "verdict, batch 1",
        "exact, batch n",
        "fit",
        "verdict, batch n",
    ]
    lines += Table(headers, _verdict_rows(a, code, "\\*"), "<<><<><").markdown()
    lines += ["", *(f"\\* {row.key}: an upper bound; measured: {row.measured_what}." for row in a.rows if row.bound)]
    lines += ["", "### Expressions", "", "With L = n and T = n; the essay's own expression where it gives one.", ""]
    body = []
    for row in a.rows:
        essay = "" if row.essay_expr is None else text_expr(sympy.expand(row.essay_expr.xreplace(ASSUMED)))
        body.append(
            [
                code(row.key),
                code(essay or text_order(row.essay_order)),
                *(code(text_expr(row.sides[b].assumed)) for b in BATCHES),
            ]
        )
    lines += Table(["row", "essay", "exact, batch 1", "exact, batch n"], body).markdown()
    lines += ["", "### The claims", ""]
    for row in a.rows:
        lines.append(
            f'- `{row.key}` ({row.section}): "{row.quote}". Measured: {row.measured_what}. {row.note}'.rstrip()
        )
    lines += ["", "### Measured counts", ""]
    body = []
    for row in a.rows:
        for b in BATCHES:
            label = [code(row.key), _measured(row, "\\*")] if b == BATCHES[0] else ["", ""]
            body.append([*label, b, *(_value(v) for v in row.sides[b].measured)])
    headers = ["row", "measured", "batch", *(f"n={n}" for n in a.ns)]
    lines += Table(headers, body, "<<<" + ">" * len(a.ns)).markdown()
    lines += ["", _agreement(a), "", "### Where the essay contradicts itself", ""]
    lines += [f"- {c}" for c in a.contradictions]
    return "\n".join(lines)


def audit_latex(a: Audit) -> str:
    """The verdict table as a LaTeX ``array`` (math mode)."""
    from complexa.printing import LATEX_NAMES, latex_name

    def text(s: str) -> str:
        return rf"\text{{{latex_text(s)}}}"

    def verdict(side: Side) -> str:
        if side.verdict.kind == "holds":
            return text("holds")
        return f"{text(side.verdict.kind + ' by ')} {latex_math(symbol('n') ** side.verdict.factor)}"

    headers = [text(h) for h in ("claim", "exact, B=1", "fit", "verdict, B=1", "exact, B=n", "fit", "verdict, B=n")]
    body = []
    for row in a.rows:
        said = latex_name(row.key) + " =" if row.key in LATEX_NAMES else text(row.claim.rsplit("O(", 1)[0])
        cells = [f"{said} {latex_order(row.essay_order)}"]
        for b in BATCHES:
            side = row.sides[b]
            cells += [latex_order(side.order), text(_fit(side, row.bound)), verdict(side)]
        body.append(cells)
    return Table(headers, body, "<<><<><").latex()


def audit_json(a: Audit) -> dict[str, object]:
    """The audit as JSON-ready data (docs/json.md)."""
    from complexa import __version__

    def side(s: Side) -> dict[str, object]:
        return {
            "expr": json_expr(s.expr),
            "assumed": json_expr(s.assumed),
            "big_o": json_order(s.order),
            "exponent": s.exponent,
            "model": [json_expr(v) for v in s.model],
            "measured": [json_expr(v) for v in s.measured],
            "fit": s.fit,
            "verdict": {"kind": s.verdict.kind, "factor": s.verdict.factor, "text": str(s.verdict)},
        }

    rows = [
        {
            "key": r.key,
            "section": r.section,
            "claim": r.claim,
            "quote": r.quote,
            "essay": {
                "expr": None if r.essay_expr is None else json_expr(r.essay_expr),
                "big_o": json_order(r.essay_order),
                "exponent": r.essay_exponent,
            },
            "exact": {b: side(r.sides[b]) for b in BATCHES},
            "measured_what": r.measured_what,
            "bound": r.bound,
            "note": r.note,
        }
        for r in a.rows
    ]
    return {
        "kind": "audit",
        "schema_version": SCHEMA_VERSION,
        "complexa": __version__,
        "ns": list(a.ns),
        "backend": a.backend,
        "assumptions": {k.name: json_expr(v) for k, v in ASSUMED.items()},
        "networks": a.networks,
        "counts_agree": a.counts_agree,
        "rows": rows,
        "contradictions": list(a.contradictions),
    }
