"""derive's tables in text, Markdown and LaTeX, and the LaTeX document of ``complexa latex``: the counts by phase
and op (one row per op the network counts, whatever they are), the quantities, each layer's totals for a stack, and
the FLOPs and memory tables of ``--flops`` and ``--memory``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy

from complexa._format import (
    Table,
    human_bytes,
    latex_math,
    latex_order,
    latex_text,
    markdown_expr,
    markdown_order,
    text_expr,
    text_order,
)
from complexa.asymptotics import order_under

if TYPE_CHECKING:
    from complexa._flops import Memory
    from complexa.derivation import Derivation
    from complexa.network import Network

__all__ = [
    "MEMORY_FIELDS",
    "Resources",
    "derive_latex",
    "derive_markdown",
    "derive_text",
    "latex_document",
    "layer_labels",
    "order_of",
    "orders",
]


_Orders = tuple[dict[str, dict[str, "sympy.Order | None"]], dict[str, "sympy.Order | None"]]


def orders(d: Derivation, assume: Mapping[str, sympy.Expr]) -> _Orders:
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
    counts_o, quantities_o = orders(d, assume)
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


def layer_labels(network: Network, *, short: bool = False) -> dict[str, str]:
    """What each row of `Derivation.by_layer` of a stack is: its layer as `repr` prints it, and the loss. With
    `short`, a Residual is its name alone: its body's layers have rows of their own, after its row."""
    from complexa.nn._stack import rows_of

    out = {row.path: row.layer.kind if short and row.layer.children() else repr(row.layer) for row in rows_of(network)}
    out["loss"] = network.loss
    return out


def _layer_table(
    d: Derivation,
    *,
    label: Callable[[str], str],
    module: Callable[[str], str],
    expr: Callable[[sympy.Expr], str],
) -> list[Table]:
    """A stack's layers, one row each (its torch path, the layer, each phase's count of every op together), and the
    loss; nothing for a network given by its sizes, whose tables stay as they were."""
    if d.model != "exact" or not d.network.is_stack:
        return []
    names = layer_labels(d.network, short=True)
    shown: dict[tuple[sympy.Expr, ...], str] = {}  # a stack repeats its layers, and printing is what takes time
    rows, phases = [], []
    for path, by_phase in d.by_layer.items():
        phases = list(by_phase)
        cells = []
        for ops in by_phase.values():
            key = tuple(ops.values())
            if key not in shown:
                shown[key] = expr(sympy.Add(*key))
            cells.append(shown[key])
        rows.append([label(path), module(names[path]), *cells])
    align = "<<" + ("<" if d.free_symbols else ">") * len(phases)
    return [Table([label("layer"), label("module"), *map(label, phases)], rows, align)]


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
                if name == "optimizer" and self.memory.optimizer == 0:
                    continue  # plain SGD keeps nothing: no row
                rows.append(("memory", name, getattr(self.memory, name)))
        return rows


MEMORY_FIELDS = ("parameters", "activations", "gradients", "deltas", "optimizer", "elements", "bytes")
"""The memory figures the command prints, in elements (``bytes`` in bytes of the chosen dtype)."""


def order_of(expr: sympy.Expr | None, assume: Mapping[str, sympy.Expr]) -> sympy.Order | None:
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
            rows.append([label(name), cell, order(order_of(value, assume)) if symbolic else units(human)])
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
    """A derivation as aligned tables: counts by phase and op, the essay's quantities, each with its big-O, a
    stack's layers, then the FLOPs and memory of `resources`."""
    counts, quantities = _derive_tables(
        d, assume, label=str, name=str, expr=text_expr, order=text_order, repeat_phase=False
    )
    lines = [_title(d)]
    if d.free_symbols:
        lines.append(_order_note(assume))
    lines += ["", *counts.text(), "", *quantities.text()]
    for table in _layer_table(d, label=str, module=str, expr=text_expr):
        lines += ["", *table.text()]
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
    """A derivation as Markdown: a title, then the counts, the quantities and a stack's layers as pipe tables,
    expressions and names as code, numbers plain."""
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
    for table in _layer_table(d, label=str, module=lambda m: f"`{m}`", expr=markdown_expr):
        lines += ["", *table.markdown()]
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
    """The counts, the quantities and a stack's layers as LaTeX ``array`` tables in a ``gathered`` block (math
    mode)."""
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
    layers = _layer_table(d, label=label, module=label, expr=latex_math)
    tables = [counts, quantities, *layers, *extra]
    body = "\n\\\\[1em]\n".join(t.latex() for t in tables)
    return f"\\begin{{gathered}}\n{body}\n\\end{{gathered}}"


def latex_document(d: Derivation, assume: Mapping[str, sympy.Expr]) -> str:
    """A complete LaTeX document: the counts and quantities, then the derivation step by step."""
    title = latex_text(_title(d))
    note = latex_text(_order_note(assume)) + "." if d.free_symbols else ""
    notes = "".join(f"\n\\paragraph{{Note.}} {latex_text(n)}\n" for n in d.notes)
    # Each table a display of its own, and the derivation an align* that may break across pages (issue 21): one
    # display holding them all is taller than a page.
    tables = derive_latex(d, assume).removeprefix("\\begin{gathered}\n").removesuffix("\n\\end{gathered}")
    displays = "".join(f"\\[\n{table}\n\\]\n" for table in tables.split("\n\\\\[1em]\n"))
    steps = d.latex().removeprefix("\\begin{aligned}\n").removesuffix("\n\\end{aligned}")
    return (
        "\\documentclass[11pt]{article}\n"
        "\\usepackage[a4paper,landscape,margin=1.5cm]{geometry}\n"
        "\\usepackage{amsmath}\n"
        "\\allowdisplaybreaks\n"
        "\\begin{document}\n"
        f"\\section*{{{title}}}\n"
        f"{note}\n"
        f"{displays}"
        f"{notes}"
        "\\subsection*{Derivation}\n"
        "{\\small\n"
        f"\\begin{{align*}}\n{steps}\n\\end{{align*}}\n"
        "}\n"
        "\\end{document}\n"
    )
