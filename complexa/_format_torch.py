"""The tables of ``complexa torch``: a traced module (`complexa.from_torch`) in text, Markdown and LaTeX, made of the
same cells as derive's (`complexa._format`).

Four tables: the modules (one row per module and phase: its path, type, output shapes, own parameters, each op, the
torch-convention FLOPs and its share of every op counted), the quantities with their big-O, the FLOPs of each
convention, and the parameters; then where the formulas hold and what was not counted. A count is exact everywhere;
in text and Markdown a number past a million also reads in SI units (``1,814,083,944 (1.81 G)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy

from complexa._format import (
    Table,
    grouped,
    human,
    latex_math,
    latex_order,
    latex_text,
    markdown_expr,
    markdown_order,
    text_expr,
    text_order,
)

if TYPE_CHECKING:
    from complexa._trace import TracedDerivation

__all__ = ["torch_tables", "torch_text", "torch_markdown", "torch_latex", "SI_FROM"]

SI_FROM = 10**6
"""From this count on, a number in a text or Markdown table also reads in SI units."""


class _Cells:
    """How one format writes a cell: a count, a big-O, a share, a word, a shape."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt

    def count(self, value: sympy.Expr | int) -> str:
        value = sympy.Integer(value) if isinstance(value, int) else value
        if isinstance(value, sympy.Integer):
            n = int(value)
            if self.fmt == "latex":
                return grouped(n).replace(",", "{,}")
            si = human(n) if abs(n) >= SI_FROM else None
            return f"{grouped(n)} ({si})" if si else grouped(n)
        return {"text": text_expr, "markdown": markdown_expr, "latex": latex_math}[self.fmt](value)

    def order(self, order: sympy.Basic | None) -> str:
        return {"text": text_order, "markdown": markdown_order, "latex": latex_order}[self.fmt](order)

    def share(self, value: sympy.Rational) -> str:
        percent = f"{float(value) * 100:.1f}"
        return f"{percent}\\%" if self.fmt == "latex" else f"{percent}%"

    def word(self, text: str) -> str:
        if self.fmt == "latex":
            return rf"\text{{{latex_text(text)}}}" if text else ""
        if self.fmt == "markdown" and text and text[0] not in "(":
            return f"`{text}`"
        return text

    def label(self, text: str) -> str:
        """A header or a row's name."""
        if self.fmt == "latex":
            return r"\text{big-}O" if text == "big-O" else rf"\text{{{latex_text(text)}}}"
        return text

    def shape(self, shapes: tuple[tuple[sympy.Expr, ...], ...]) -> str:
        if self.fmt == "latex":
            return ",\\ ".join(r"\left[" + ", ".join(latex_math(s) for s in shape) + r"\right]" for shape in shapes)
        text = ", ".join("[" + ", ".join(text_expr(s).replace(",", "") for s in shape) + "]" for shape in shapes)
        return f"`{text}`" if self.fmt == "markdown" and text else text


def _module_table(d: TracedDerivation, c: _Cells) -> Table:
    phases = d.phases
    infos = d.modules
    paths = list(d.by_layer)
    paths += [p for p, m in infos.items() if p not in d.by_layer and (m.trainable or m.frozen or m.buffers)]
    kept_params = [k for k in ("frozen", "buffers") if any(getattr(m, k) for m in infos.values())]

    def row_of(path: str, phase: str) -> dict[str, sympy.Expr]:
        return d.by_layer[path][phase] if path in d.by_layer else dict.fromkeys(d.ops, sympy.Integer(0))

    def flops_of(path: str, phase: str) -> sympy.Expr:
        return d.torch_by_layer[path][phase] if path in d.torch_by_layer else sympy.Integer(0)

    # An op every row of the table has zero of (act_grad without training) is left out.
    ops = [op for op in d.ops if any(d.counts[p][op] != 0 for p in phases)] or list(d.ops[:1])
    header = ["module", "type", "phase", "output", "params", *kept_params, *ops, "torch FLOPs", "share"]
    rows: list[list[str]] = []
    for path in paths:
        info = infos.get(path)
        shown = [
            p
            for p in phases
            if any(v != 0 for v in row_of(path, p).values()) or flops_of(path, p) != 0 or p == phases[0]
        ]
        if not any(any(v != 0 for v in row_of(path, p).values()) or flops_of(path, p) != 0 for p in phases) and not (
            info and (info.trainable or info.frozen or info.buffers)
        ):
            continue
        for i, phase in enumerate(shown):
            first = i == 0
            name = path or "(root)"
            cells = [
                c.word(name) if first or c.fmt != "text" else "",
                c.word(info.type) if info and first else "",
                c.word(phase),
                c.shape(info.outputs) if info and first else "",
                c.count(info.trainable) if info and first else "",
                *(c.count(getattr(info, k)) if info and first else "" for k in kept_params),
                *(c.count(row_of(path, phase)[op]) for op in ops),
                c.count(flops_of(path, phase)),
                c.share(d.shares.get(path, {}).get(phase, sympy.Integer(0))),
            ]
            rows.append(cells)
    totals = {k: sum(getattr(m, k) for m in infos.values()) for k in ("trainable", "frozen", "buffers")}
    output = infos[""].outputs if "" in infos else ()
    for i, phase in enumerate(phases):
        first = i == 0
        rows.append(
            [
                c.word("total") if first or c.fmt != "text" else "",
                c.word(d.module) if first else "",
                c.word(phase),
                c.shape(output) if first else "",
                c.count(totals["trainable"]) if first else "",
                *(c.count(totals[k]) if first else "" for k in kept_params),
                *(c.count(d.counts[phase][op]) for op in ops),
                c.count(d.torch_flops[phase]),
                c.share(d.shares["total"][phase]),
            ]
        )
    # Numbers right, as in every table; a column that holds a formula left, as derive's counts.
    numeric = {"params", *kept_params, *ops, "torch FLOPs", "share"}
    align = "".join(">" if h in numeric and all(_is_number(r[i]) for r in rows) else "<" for i, h in enumerate(header))
    return Table([c.label(h) for h in header], rows, align)


def _is_number(cell: str) -> bool:
    """A cell that is a number (with SI units or a percent sign), or empty."""
    head = cell.split(" (")[0].replace("{,}", "").replace(",", "").removesuffix("\\%").removesuffix("%")
    return not head or head.lstrip("-").replace(".", "", 1).isdigit()


def _quantity_table(d: TracedDerivation, c: _Cells) -> Table:
    orders = d.big_o()
    symbolic = bool(d.free_symbols)
    rows = [
        [c.word(name) if c.fmt != "latex" else c.label(name), c.count(q), *([c.order(orders[name])] * symbolic)]
        for name, q in d.quantities.items()
    ]
    return Table([c.label(h) for h in ["quantity", "count", *["big-O"] * symbolic]], rows, "<>" + "<" * symbolic)


def _flops_table(d: TracedDerivation, c: _Cells) -> Table:
    names = {"exact": "exact", "torch": "torch", "fvcore": "fvcore", "ptflops": "ptflops (MACs)"}
    rows = []
    for convention, name in names.items():
        cells = [c.label(name), c.count(d.flops(convention))]
        if d.training:
            cells.append(c.count(d.flops(convention, "training")) if convention in ("exact", "torch") else "")
        rows.append(cells)
    header = ["FLOPs", "forward", *(["training"] if d.training else [])]
    return Table([c.label(h) for h in header], rows, "<>>")


def _parameter_table(d: TracedDerivation, c: _Cells) -> Table:
    totals = {k: sum(getattr(m, k) for m in d.modules.values()) for k in ("trainable", "frozen", "buffers")}
    rows = [[c.label(k), c.count(v)] for k, v in totals.items()]
    return Table([c.label("parameters"), c.label("count")], rows, "<>")


def torch_tables(d: TracedDerivation, fmt: str) -> list[Table]:
    """The module, quantity, FLOPs and parameter tables of `d` with cells in `fmt` (text, markdown, latex)."""
    c = _Cells(fmt)
    return [_module_table(d, c), _quantity_table(d, c), _flops_table(d, c), _parameter_table(d, c)]


def _title(d: TracedDerivation) -> str:
    inputs = ", ".join("(" + ", ".join(str(s) for s in shape) + ")" for shape in d.inputs)
    what = "forward and backward (training)" if d.training else "forward only"
    return f"{d.module} traced at {inputs}, {what}"


def notes(d: TracedDerivation) -> list[str]:
    """What the tables need said: where the formulas hold, how a symbolic share is taken, what was not counted."""
    whole = "the training step" if d.training else "the forward pass"
    share = f"share: of every op counted in {whole}"
    if d.free_symbols:
        share += ", as every size grows together (each floor read as its argument)"
    out = [share]
    if d.assumptions:
        out.append(f"holds for {', '.join(str(a) for a in d.assumptions)}")
    out += [f"unsupported (not counted): {op} in {', '.join(repr(p) for p in ps)}" for op, ps in d.unsupported.items()]
    return out


def torch_text(d: TracedDerivation) -> str:
    lines = [_title(d)]
    for table in torch_tables(d, "text"):
        lines += ["", *table.text()]
    return "\n".join([*lines, "", *notes(d)])


def torch_markdown(d: TracedDerivation) -> str:
    lines = [f"**{_title(d)}**"]
    for table in torch_tables(d, "markdown"):
        lines += ["", *table.markdown()]
    return "\n".join(lines + [f"\n> {n}" for n in notes(d)])


def torch_latex(d: TracedDerivation) -> str:
    """The tables as LaTeX ``array``s in a ``gathered`` block (math mode), the notes as text lines under them."""
    parts = [t.latex() for t in torch_tables(d, "latex")]
    parts += [rf"\text{{{latex_text(n)}}}" for n in notes(d)]
    body = "\n\\\\[1em]\n".join(parts)
    return f"\\begin{{gathered}}\n{body}\n\\end{{gathered}}"


def render(d: TracedDerivation, fmt: str) -> Any:
    """`d` in `fmt`: text, markdown, latex, or json (`TracedDerivation.to_json`'s document)."""
    if fmt == "json":
        return d.to_json()
    return {"text": torch_text, "markdown": torch_markdown, "latex": torch_latex}[fmt](d)
