"""Tables and values for the command line: aligned text, Markdown, LaTeX ``array`` blocks and JSON.

One table model serves every format: a header row and body rows of already formatted cells, each column aligned
left (``"<"``) or right (``">"``): numbers right, expressions and words left. Values are formatted by the helpers
here, so that a count reads the same in every table: ``h^2 + 794*h`` in text, `` `h^2 + 794*h` `` in Markdown
(expressions as code, numbers plain: ``1,234``), ``h^{2} + 794 h`` in LaTeX, and in JSON an exact integer as a JSON
integer and anything else as a string that `complexa._parse.parse` reads back. A count of bytes also reads in decimal
SI units beside the exact figure: ``1,761,296 (1.76 MB)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy

from complexa._printers import latex, sstr
from complexa.asymptotics import order_under
from complexa.printing import latex_text

if TYPE_CHECKING:
    from complexa._flops import Memory
    from complexa.derivation import Derivation
    from complexa.network import Network
    from complexa.reference import Measurement

__all__ = [
    "SCHEMA_VERSION",
    "Table",
    "text_expr",
    "text_order",
    "markdown_expr",
    "markdown_order",
    "human_bytes",
    "json_expr",
    "json_order",
    "latex_text",
    "latex_math",
    "latex_order",
    "grouped",
    "derive_text",
    "derive_markdown",
    "derive_latex",
    "derive_json",
    "latex_document",
    "network_json",
    "measure_text",
    "measure_markdown",
    "measure_latex",
    "measure_json",
]

SCHEMA_VERSION = 1
"""The version of the JSON documents `complexa` prints (docs/json.md); it changes only when a field changes meaning
or disappears."""

Counts = Mapping[str, Mapping[str, int]]
WIDTH = 100
"""Where text output wraps its prose."""


class Table:
    """A table: `headers`, `rows` of formatted cells, and an alignment per column (``"<"`` left, ``">"`` right).

    >>> t = Table(["op", "count"], [["mul", "9"], ["add", "10"]], "<>")
    >>> print("\\n".join(t.text()))
    op   count
    mul      9
    add     10
    """

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> None:
        self.headers = list(headers)
        self.rows = [list(row) for row in rows]
        self.align = align.ljust(len(self.headers), "<")
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"a row has {len(row)} cells for {len(self.headers)} columns: {row!r}")

    def text(self, indent: str = "") -> list[str]:
        """Columns padded to their widest cell, two spaces apart, trailing spaces removed."""
        widths = [max(len(cell) for cell in column) for column in zip(self.headers, *self.rows)]
        lines = []
        for row in [self.headers, *self.rows]:
            cells = [cell.rjust(w) if a == ">" else cell.ljust(w) for cell, w, a in zip(row, widths, self.align)]
            lines.append((indent + "  ".join(cells)).rstrip())
        return lines

    def markdown(self) -> list[str]:
        """A pipe table; cells must already be Markdown (``|`` is escaped here)."""
        rule = ["---:" if a == ">" else "---" for a in self.align]
        return [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
            for row in [self.headers, rule, *self.rows]
        ]

    def latex(self) -> str:
        """A LaTeX ``array`` (math mode, so KaTeX renders it too); cells must already be math-mode LaTeX."""
        spec = "".join("r" if a == ">" else "l" for a in self.align)
        header = " & ".join(self.headers) + " \\\\ \\hline"
        body = " \\\\\n".join(" & ".join(row) for row in self.rows)
        return f"\\begin{{array}}{{{spec}}}\n{header}\n{body}\n\\end{{array}}"


def grouped(value: int) -> str:
    """An integer with thousands separators: ``1,234,567``."""
    return f"{value:,}"


def text_expr(expr: sympy.Basic) -> str:
    """`expr` for a terminal: sympy's string with ``^`` for powers, which complexa's grammar also reads.

    >>> from complexa._parse import parse
    >>> text_expr(parse("h^2 + 794*h"))
    'h^2 + 794*h'
    """
    if isinstance(expr, sympy.Integer):
        return grouped(int(expr))
    return sstr(expr).replace("**", "^")


def text_order(order: sympy.Basic | None) -> str:
    """A big-O as ``O(n^4)``, without sympy's limit point; an empty string for None."""
    if order is None:
        return ""
    inner = order.expr if isinstance(order, sympy.Order) else order
    return f"O({sstr(inner).replace('**', '^')})"


def markdown_expr(expr: sympy.Basic) -> str:
    """`expr` for a Markdown table: a number plain, as in text (``1,234``); any other expression as code.

    >>> from complexa._parse import parse
    >>> markdown_expr(parse("1234")), markdown_expr(parse("h^2 + h"))
    ('1,234', '`h^2 + h`')
    """
    text = text_expr(expr)
    return text if isinstance(expr, sympy.Integer) else f"`{text}`"


def markdown_order(order: sympy.Basic | None) -> str:
    """A big-O as code for a Markdown table, `` `O(n^4)` ``; nothing for None."""
    return f"`{text_order(order)}`" if order is not None else ""


_SI_PREFIXES = ("k", "M", "G", "T", "P", "E", "Z", "Y", "R", "Q")


def human_bytes(count: int) -> str | None:
    """`count` bytes in decimal SI units (1 kB = 1,000 bytes) to three significant figures; None below 1 kB, where
    the exact figure says it all.

    >>> human_bytes(1_761_296), human_bytes(999_999), human_bytes(1000), human_bytes(999)
    ('1.76 MB', '1 MB', '1 kB', None)
    """
    if count < 1000:
        return None
    for power, prefix in enumerate(_SI_PREFIXES, start=1):
        shown = float(f"{count / 1000**power:.3g}")
        if shown < 1000 or prefix == _SI_PREFIXES[-1]:
            return f"{shown:g} {prefix}B"
    raise AssertionError("unreachable")  # pragma: no cover


def json_expr(expr: sympy.Basic | int) -> int | str:
    """An exact integer as a JSON integer, any other expression as sympy's string (``h**2 + 794*h``).

    >>> from complexa._parse import parse
    >>> json_expr(parse("2*3")), json_expr(parse("h^2 + h"))
    (6, 'h**2 + h')
    """
    if isinstance(expr, int):
        return expr
    if isinstance(expr, sympy.Integer):
        return int(expr)
    return sstr(expr)


def json_order(order: sympy.Basic | None) -> str | None:
    """A big-O's dominant terms as a string (``"n**4"``), or None."""
    if order is None:
        return None
    inner = order.expr if isinstance(order, sympy.Order) else order
    return sstr(inner)


def latex_math(expr: sympy.Basic) -> str:
    """`expr` in math-mode LaTeX."""
    return latex(expr)


def latex_order(order: sympy.Basic | None) -> str:
    """A big-O in math-mode LaTeX, ``O\\left(n^{4}\\right)``, or nothing for None."""
    if order is None:
        return ""
    inner = order.expr if isinstance(order, sympy.Order) else order
    return rf"O\left({latex(inner)}\right)"


# --- derive ---------------------------------------------------------------------------------------------------------


_Orders = tuple[dict[str, dict[str, "sympy.Order | None"]], dict[str, "sympy.Order | None"]]


def _orders(d: Derivation, assume: Mapping[str, sympy.Expr]) -> _Orders:
    """The big-O of every count and quantity of `d` under `assume`; None for a number."""

    counts = {phase: {op: order_under(v, assume) for op, v in ops.items()} for phase, ops in d.counts.items()}
    quantities = {name: order_under(v, assume) for name, v in d.quantities.items()}
    return counts, quantities


def _order_note(assume: Mapping[str, sympy.Expr]) -> str:
    if not assume:
        return "big-O as every symbol grows"
    given = ", ".join(f"{k} = {text_expr(v)}" for k, v in assume.items())
    return f"big-O as every symbol grows, with {given}"


def _title(d: Derivation) -> str:
    steps = "training step" if d.iterations == 1 else "training steps"
    return f"{d.model} model of {d.network!r}, {text_expr(d.iterations)} {steps}"


def _derive_tables(
    d: Derivation,
    assume: Mapping[str, sympy.Expr],
    *,
    label: Callable[[str], str],
    name: Callable[[str], str],
    expr: Callable[[sympy.Expr], str],
    order: Callable[[sympy.Order | None], str],
    repeat_phase: bool,
) -> tuple[Table, Table]:
    """The counts table (phase, op, count, big-O) and the quantities table (quantity, count, big-O) of `d`, cells
    formatted by the callables; without big-O columns when `d` has no symbols."""
    counts_o, quantities_o = _orders(d, assume)
    symbolic = bool(d.free_symbols)
    rows = []
    for phase, ops in d.counts.items():
        for i, (op, value) in enumerate(ops.items()):
            shown = label(phase) if repeat_phase or i == 0 else ""
            rows.append([shown, label(op), expr(value), order(counts_o[phase][op])][: 4 if symbolic else 3])
    quantity_rows = [
        [name(q), expr(v), order(quantities_o[q])][: 3 if symbolic else 2] for q, v in d.quantities.items()
    ]
    align = "<<<<" if symbolic else "<<>"  # expressions read from the left, numbers from the right
    big = [label("big-O")] if symbolic else []
    counts = Table([label("phase"), label("op"), label("count"), *big], rows, align)
    quantities = Table([label("quantity"), label("count"), *big], quantity_rows, align[1:])
    return counts, quantities


@dataclass(frozen=True)
class Resources:
    """What ``derive --flops`` and the memory table add to a derivation: FLOPs in one tool's convention (training
    None where the tool counts the forward pass only) and the memory of a training step."""

    convention: str | None
    forward: sympy.Expr | None
    training: sympy.Expr | None
    memory: Memory | None

    @classmethod
    def of(cls, network: Network, *, convention: str | None, dtype: str, memory: bool) -> Resources:
        """The FLOPs of `network` in `convention` (none when None) and, when `memory`, its training memory."""
        from complexa import _flops

        forward = training = None
        if convention is not None:
            forward = _flops.flops(network, convention=convention)
            if convention not in _flops.FORWARD_ONLY:
                training = _flops.flops(network, convention=convention, phase="training")
        kept = _flops.memory(network, phase="training", dtype=dtype) if memory else None
        return cls(convention, forward, training, kept)

    def rows(self) -> list[tuple[str, str, sympy.Expr | None]]:
        """(table, name, value) for every figure; a value of None means the convention has none."""
        rows: list[tuple[str, str, sympy.Expr | None]] = []
        if self.convention is not None:
            rows += [("flops", "forward", self.forward), ("flops", "training", self.training)]
        if self.memory is not None:
            for name in MEMORY_FIELDS:
                rows.append(("memory", name, getattr(self.memory, name)))
        return rows


MEMORY_FIELDS = ("parameters", "activations", "gradients", "deltas", "elements", "bytes")
"""The memory figures the command prints, in elements (``bytes`` in bytes of the chosen dtype)."""


def _order_of(expr: sympy.Expr | None, assume: Mapping[str, sympy.Expr]) -> sympy.Order | None:
    return None if expr is None else order_under(expr, assume)


def _resource_tables(
    res: Resources | None,
    assume: Mapping[str, sympy.Expr],
    *,
    label: Callable[[str], str],
    expr: Callable[[sympy.Expr], str],
    order: Callable[[sympy.Order | None], str],
    units: Callable[[str | None], str],
    symbolic: bool,
) -> list[Table]:
    """The FLOPs table and the memory table of `res`, cells formatted by the callables. An exact number of bytes
    gets `human_bytes` in a column of its own beside it, formatted by `units`, so that the numbers stay aligned."""
    if res is None:
        return []
    titles = {"flops": f"FLOPs ({res.convention})", "memory": f"memory ({res.memory.dtype if res.memory else ''})"}
    tables = []
    for table, title in titles.items():
        rows = []
        for kind, name, value in res.rows():
            if kind != table:
                continue
            cell = expr(value) if value is not None else label("forward only")
            human = human_bytes(int(value)) if name == "bytes" and isinstance(value, sympy.Integer) else None
            rows.append([label(name), cell, order(_order_of(value, assume)) if symbolic else units(human)])
        if not rows:
            continue
        if symbolic:  # expressions, read from the left, and their big-O
            tables.append(Table([label(title), label("count"), label("big-O")], rows, "<<<"))
        elif any(row[2] for row in rows):  # numbers, right-aligned as in the counts table, and the human figure
            tables.append(Table([label(title), label("count"), ""], rows, "<><"))
        else:
            tables.append(Table([label(title), label("count")], [row[:2] for row in rows], "<>"))
    return tables


def derive_text(d: Derivation, assume: Mapping[str, sympy.Expr], resources: Resources | None = None) -> str:
    """A derivation as aligned tables: counts by phase and op, the essay's quantities, each with its big-O, then the
    FLOPs and memory of `resources`."""
    counts, quantities = _derive_tables(
        d, assume, label=str, name=str, expr=text_expr, order=text_order, repeat_phase=False
    )
    lines = [_title(d)]
    if d.free_symbols:
        lines.append(_order_note(assume))
    lines += ["", *counts.text(), "", *quantities.text()]
    for table in _resource_tables(
        resources,
        assume,
        label=str,
        expr=text_expr,
        order=text_order,
        units=lambda human: f"({human})" if human else "",
        symbolic=bool(d.free_symbols),
    ):
        lines += ["", *table.text()]
    lines += [f"note: {note}" for note in d.notes]
    return "\n".join(lines)


def derive_markdown(d: Derivation, assume: Mapping[str, sympy.Expr], resources: Resources | None = None) -> str:
    """A derivation as Markdown: a title, then the counts and quantities as pipe tables, expressions and names as
    code, numbers plain."""
    counts, quantities = _derive_tables(
        d,
        assume,
        label=str,
        name=lambda q: f"`{q}`",
        expr=markdown_expr,
        order=markdown_order,
        repeat_phase=True,
    )
    lines = [f"**{_title(d)}**", ""]
    if d.free_symbols:
        lines += [f"{_order_note(assume)}.", ""]
    lines += [*counts.markdown(), "", *quantities.markdown()]
    for table in _resource_tables(
        resources,
        assume,
        label=str,
        expr=markdown_expr,
        order=markdown_order,
        units=lambda human: f"({human})" if human else "",
        symbolic=bool(d.free_symbols),
    ):
        lines += ["", *table.markdown()]
    lines += [f"\n> {note}" for note in d.notes]
    return "\n".join(lines)


def derive_latex(d: Derivation, assume: Mapping[str, sympy.Expr], resources: Resources | None = None) -> str:
    """The counts and quantities as two LaTeX ``array`` tables in a ``gathered`` block (math mode)."""
    from complexa.printing import latex_name

    def label(s: str) -> str:
        return r"\text{big-}O" if s == "big-O" else rf"\text{{{latex_text(s)}}}"

    counts, quantities = _derive_tables(
        d,
        assume,
        label=label,
        name=lambda q: latex_name(q, d.model),
        expr=latex_math,
        order=latex_order,
        repeat_phase=True,
    )
    extra = _resource_tables(
        resources,
        assume,
        label=label,
        expr=latex_math,
        order=latex_order,
        units=lambda human: rf"\text{{({human})}}" if human else "",
        symbolic=bool(d.free_symbols),
    )
    tables = [counts, quantities, *extra]
    body = "\n\\\\[1em]\n".join(t.latex() for t in tables)
    return f"\\begin{{gathered}}\n{body}\n\\end{{gathered}}"


def network_json(network: Network) -> dict[str, object]:
    """A network as JSON: sizes (null for a symbolic depth), width (null unless uniform), depth, batch, options."""
    return {
        "sizes": [json_expr(s) for s in network.sizes] if network.listed else None,
        "width": None if network.width is None else json_expr(network.width),
        "depth": json_expr(network.depth),
        "batch": json_expr(network.batch),
        "bias": network.bias,
        "activation": network.activation,
        "loss": network.loss,
    }


def derive_json(
    d: Derivation, assume: Mapping[str, sympy.Expr], resources: Resources | None = None
) -> dict[str, object]:
    """A derivation as JSON-ready data (docs/json.md)."""
    from complexa import __version__

    counts_o, quantities_o = _orders(d, assume)
    return {
        "kind": "derive",
        "schema_version": SCHEMA_VERSION,
        "complexa": __version__,
        "model": d.model,
        "network": network_json(d.network),
        "iterations": json_expr(d.iterations),
        "assumptions": {k: json_expr(v) for k, v in assume.items()},
        "counts": {
            p: {op: {"value": json_expr(v), "big_o": json_order(counts_o[p][op])} for op, v in ops.items()}
            for p, ops in d.counts.items()
        },
        "quantities": {
            n: {"value": json_expr(v), "big_o": json_order(quantities_o[n])} for n, v in d.quantities.items()
        },
        "notes": list(d.notes),
        **_resources_json(resources, assume),
    }


def _resources_json(res: Resources | None, assume: Mapping[str, sympy.Expr]) -> dict[str, object]:
    if res is None:
        return {}

    def count(value: sympy.Expr | None) -> dict[str, object] | None:
        return None if value is None else {"value": json_expr(value), "big_o": json_order(_order_of(value, assume))}

    out: dict[str, object] = {}
    if res.convention is not None:
        out["flops"] = {"convention": res.convention, "forward": count(res.forward), "training": count(res.training)}
    if res.memory is not None:
        out["memory"] = {
            "dtype": res.memory.dtype,
            **{name: count(getattr(res.memory, name)) for name in MEMORY_FIELDS},
        }
    return out


def latex_document(d: Derivation, assume: Mapping[str, sympy.Expr]) -> str:
    """A complete LaTeX document: the counts and quantities, then the derivation step by step."""
    title = latex_text(_title(d))
    note = latex_text(_order_note(assume)) + "." if d.free_symbols else ""
    notes = "".join(f"\n\\paragraph{{Note.}} {latex_text(n)}\n" for n in d.notes)
    return (
        "\\documentclass[11pt]{article}\n"
        "\\usepackage[a4paper,landscape,margin=1.5cm]{geometry}\n"
        "\\usepackage{amsmath}\n"
        "\\begin{document}\n"
        f"\\section*{{{title}}}\n"
        f"{note}\n"
        f"\\[\n{derive_latex(d, assume)}\n\\]\n"
        f"{notes}"
        "\\subsection*{Derivation}\n"
        "{\\small\n"
        f"\\[\n{d.latex()}\n\\]\n"
        "}\n"
        "\\end{document}\n"
    )


# --- measure --------------------------------------------------------------------------------------------------------


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


def measure_text(m: Measurement, derived: Counts) -> str:
    """Measured beside derived, per phase and op, and a last line saying whether they agree."""
    rows = measure_rows(m.counts, derived)
    body = []
    last = ""
    for phase, op, got, want in rows:
        body.append(
            [phase if phase != last else "", op, grouped(got), grouped(want), "" if got == want else f"{got - want:+,}"]
        )
        last = phase
    lines = [_measure_title(m), ""]
    lines += Table(["phase", "op", "measured", "derived", "difference"], body, "<<>>>").text()
    differ = sum(got != want for _, _, got, want in rows)
    lines += ["", f"{differ} of {len(rows)} counts differ" if differ else f"all {len(rows)} counts agree"]
    return "\n".join(lines)


def measure_markdown(m: Measurement, derived: Counts) -> str:
    """Measured beside derived as a Markdown table."""
    rows = measure_rows(m.counts, derived)
    body = [[p, op, grouped(g), grouped(w), "" if g == w else f"{g - w:+,}"] for p, op, g, w in rows]
    differ = sum(g != w for _, _, g, w in rows)
    verdict = f"{differ} of {len(rows)} counts differ" if differ else f"all {len(rows)} counts agree"
    table = Table(["phase", "op", "measured", "derived", "difference"], body, "<<>>>").markdown()
    return "\n".join([f"**{_measure_title(m)}**", "", *table, "", verdict])


def measure_latex(m: Measurement, derived: Counts) -> str:
    """Measured beside derived as a LaTeX ``array``."""
    rows = measure_rows(m.counts, derived)
    body = [
        [rf"\text{{{latex_text(p)}}}", rf"\text{{{latex_text(op)}}}", str(g), str(w), str(g - w)]
        for p, op, g, w in rows
    ]
    headers = [rf"\text{{{h}}}" for h in ("phase", "op", "measured", "derived", "difference")]
    return Table(headers, body, "<<>>>").latex()


def measure_json(m: Measurement, derived: Counts) -> dict[str, object]:
    """Measured beside derived as JSON-ready data (docs/json.md)."""
    from complexa import __version__

    rows = measure_rows(m.counts, derived)
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for phase, op, got, want in rows:
        counts.setdefault(phase, {})[op] = {"measured": got, "derived": want}
    differ = sum(g != w for _, _, g, w in rows)
    return {
        "kind": "measure",
        "schema_version": SCHEMA_VERSION,
        "complexa": __version__,
        "network": network_json(m.network),
        "backend": m.backend,
        "seed": m.seed,
        "iterations": m.iterations,
        "counts": counts,
        "differences": differ,
        "agree": differ == 0,
    }
