"""derive's tables in text, Markdown and LaTeX, and the LaTeX document of ``complexa latex``: the counts by phase
and op (one row per op the network counts, whatever they are), the quantities, each layer's totals for a stack, and
the FLOPs and memory tables of ``--flops`` and ``--memory``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy

from complexa._choices import UNITS as _UNITS
from complexa._format import (
    Table,
    human,
    human_bytes,
    latex_math,
    latex_order,
    latex_text,
    markdown_expr,
    markdown_order,
    text_expr,
    text_order,
    wrap_prose,
)
from complexa.asymptotics import order_under

if TYPE_CHECKING:
    from complexa._flops import Memory
    from complexa.derivation import Derivation
    from complexa.network import Network

__all__ = [
    "MEMORY_FIELDS",
    "SI_FROM",
    "UNITS",
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

UNITS = _UNITS
"""How a table prints its counts: ``exact`` in full (``1,755,086,848,000``); ``si`` in decimal SI units to four
significant figures (``1.755 T``; below 1,000 exactly); ``auto`` as ``si`` in a text table where a number reaches
`SI_FROM`, else exactly (Markdown and LaTeX exactly)."""
SI_FROM = 10**6
"""Where ``--units auto`` turns a text table to SI units."""


def uses_si(units: str, values: Iterable[object], *, auto: bool) -> bool:
    """Whether a table of `values` prints its numbers in SI units under `units` (`UNITS`); `auto` says whether the
    format is one where ``auto`` may (text). One answer for the whole table, so that its numbers read alike.

    >>> uses_si("auto", [sympy.Integer(999_999), 3], auto=True), uses_si("auto", [sympy.Integer(10**6)], auto=True)
    (False, True)
    >>> uses_si("auto", [sympy.Integer(10**6)], auto=False), uses_si("si", [], auto=False)
    (False, True)
    """
    if units == "si":
        return True
    if units != "auto" or not auto:
        return False
    return any(isinstance(v, (int, sympy.Integer)) and abs(int(v)) >= SI_FROM for v in values)


def _numbers(expr: Callable[[sympy.Expr], str], si: Callable[[str], str] | None) -> Callable[[sympy.Expr], str]:
    """A cell formatter: an integer of 1,000 or more in SI units wrapped by `si` (``1.755 T``), where `si` is given;
    anything else by `expr`."""
    if si is None:
        return expr

    def cell(value: sympy.Expr) -> str:
        shown = human(int(value), digits=4) if isinstance(value, (int, sympy.Integer)) else None
        return si(shown) if shown is not None else expr(value)

    return cell


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
    si: Callable[[Iterable[sympy.Expr]], Callable[[str], str] | None] = lambda values: None,
) -> list[Table]:
    """The counts table (phase, op, count, big-O) and, for a dense network given by its sizes, the essay's
    quantities (quantity, count, big-O) of `d`, cells formatted by the callables; without big-O columns when `d` has
    no symbols. `si` says, from a table's values, whether its numbers are in SI units, and how to wrap them.

    A stack of layers, a GPT among them, has no quantities table: n_mul, n_g, time_error and time_weights are the
    essay's terms for its dense networks, and its counts by phase and op say what a stack does."""
    counts_o, quantities_o = orders(d, assume)
    symbolic = bool(d.free_symbols)
    count_cell = _numbers(expr, si(v for ops in d.counts.values() for v in ops.values()))
    rows = []
    for phase, ops in d.counts.items():
        for i, (op, value) in enumerate(ops.items()):
            shown = label(phase) if repeat_phase or i == 0 else ""
            rows.append([shown, label(op), count_cell(value), order(counts_o[phase][op])][: 4 if symbolic else 3])
    align = "<<<<" if symbolic else "<<>"  # expressions read from the left, numbers from the right
    wrap = "  ++"  # a long count or big-O breaks before a term
    big = [label("big-O")] if symbolic else []
    tables = [Table([label("phase"), label("op"), label("count"), *big], rows, align, wrap)]
    if d.network.is_stack:
        return tables
    quantity_cell = _numbers(expr, si(d.quantities.values()))
    quantity_rows = [
        [name(q), quantity_cell(v), order(quantities_o[q])][: 3 if symbolic else 2] for q, v in d.quantities.items()
    ]
    tables.append(Table([label("quantity"), label("count"), *big], quantity_rows, align[1:], wrap[1:]))
    return tables


def layer_labels(network: Network, *, short: bool = False) -> dict[str, str]:
    """What each row of `Derivation.by_layer` of a stack is: its layer as `repr` prints it, and the loss. With
    `short`, a Residual is its name alone: its body's layers have rows of their own, after its row."""
    from complexa.nn._stack import rows_of

    out = {row.path: row.layer.kind if short and row.layer.children() else repr(row.layer) for row in rows_of(network)}
    out["loss"] = network.loss
    return out


@dataclass(frozen=True)
class LayerRow:
    """A row of a stack's layer table: what it shows as its path and module, and its count per phase (every op
    together)."""

    path: str
    module: str
    phases: dict[str, sympy.Expr]


def _copies(count: sympy.Expr) -> str:
    """The copies of a Repeat as a path segment: ``{0..47}``, ``{0..L-1}``."""
    return "{0.." + text_expr(count - 1).replace(" ", "") + "}"


def layer_rows(d: Derivation, *, expand: bool = False, levels: int | None = None) -> tuple[list[LayerRow], list[str]]:
    """The rows of a stack's layer table, and the notes that say what its collapsed rows hold.

    By default the copies of a `Repeat`'s body are one row, ``transformer.h.{0..47}`` (``{0..L-1}`` for a symbolic
    number of copies), its module marked ``x48``, and each layer inside them one row too,
    ``transformer.h.{0..47}.attn``: every count of such a row is the **total** over the copies, so that the rows
    still add up to the counts. With `expand`, every copy is listed, as `Derivation.by_layer` names them. With
    `levels`, only the modules that many levels deep are listed (1: the top-level layers and the loss), as
    torchinfo's ``depth``: a row at the last level holds the totals of the modules inside it.

    >>> from complexa import Network, derive
    >>> rows, notes = layer_rows(derive(Network.gpt(64, 8, 16, 3, 2)), levels=2)
    >>> [(row.path, row.module) for row in rows][2:4]
    [('transformer.h', 'Repeat'), ('transformer.h.{0..2}', 'Block x3')]
    >>> notes[0]
    'transformer.h.{0..2}: 3 copies in one row, each count the total over them (--expand lists every copy)'
    """
    from complexa.nn._stack import rows_of

    names = layer_labels(d.network, short=True)
    keys: dict[str, str] = {}  # a by_layer path -> the row it counts in
    modules: dict[str, str] = {}  # a row shown -> its module
    notes: dict[str, str] = {}
    folded = False
    stack: list[tuple[str, sympy.Expr | None, str]] = []  # the ancestors: path, copies (a Repeat's), path shown
    for row in rows_of(d.network):
        while stack and not row.path.startswith(stack[-1][0] + "."):
            stack.pop()
        shown, module = row.path, names[row.path]
        if stack:
            parent, copies, parent_shown = stack[-1]
            segment = row.path[len(parent) + 1 :]
            if copies is not None and not expand:
                segment = _copies(copies)
                module += f" x{text_expr(copies)}"
            shown = f"{parent_shown}.{segment}"
            if copies is not None and not expand and (levels is None or len(stack) < levels):
                notes.setdefault(
                    shown,
                    f"{shown}: {text_expr(copies)} copies in one row, each count the total over them (--expand "
                    "lists every copy)",
                )
        if levels is not None and len(stack) >= levels:
            keys[row.path] = stack[levels - 1][2]
            folded = True
        else:
            keys[row.path] = shown
            modules.setdefault(shown, module)
        stack.append((row.path, row.layer.repeats, shown))
    keys["loss"], modules["loss"] = "loss", names["loss"]
    totals: dict[str, dict[str, list[sympy.Expr]]] = {}
    for path, by_phase in d.by_layer.items():
        into = totals.setdefault(keys[path], {})
        for phase, ops in by_phase.items():
            into.setdefault(phase, []).extend(ops.values())
    rows = [
        LayerRow(key, modules[key], {phase: sympy.Add(*terms) for phase, terms in phases.items()})
        for key, phases in totals.items()
    ]
    out = list(notes.values())
    if folded:
        out.append(f"--levels {levels}: a row at level {levels} holds the totals of the modules inside it")
    return rows, out


def _layer_table(
    d: Derivation,
    *,
    label: Callable[[str], str],
    module: Callable[[str], str],
    expr: Callable[[sympy.Expr], str],
    si: Callable[[Iterable[sympy.Expr]], Callable[[str], str] | None] = lambda values: None,
    expand: bool = False,
    levels: int | None = None,
) -> tuple[list[Table], list[str]]:
    """A stack's layers (`layer_rows`: its torch path, the layer, each phase's count of every op together), the
    loss, and the notes on its collapsed rows; nothing for a network given by its sizes, whose tables stay as they
    were."""
    if d.model != "exact" or not d.network.is_stack:
        return [], []
    found, notes = layer_rows(d, expand=expand, levels=levels)
    cell = _numbers(expr, si(v for row in found for v in row.phases.values()))
    shown: dict[sympy.Expr, str] = {}  # a stack repeats its layers, and printing is what takes time
    rows, phases = [], []
    for row in found:
        phases = list(row.phases)
        cells = []
        for value in row.phases.values():
            if value not in shown:
                shown[value] = cell(value)
            cells.append(shown[value])
        rows.append([label(row.path), module(row.module), *cells])
    align = "<<" + ("<" if d.free_symbols else ">") * len(phases)
    wrap = ".," + "+" * len(phases)  # a count breaks before a term; where that is not enough, a path after a dot
    return [Table([label("layer"), label("module"), *map(label, phases)], rows, align, wrap)], notes


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
    si: Callable[[Iterable[sympy.Expr]], Callable[[str], str] | None] = lambda values: None,
) -> list[Table]:
    """The FLOPs table and the memory table of `res`, cells formatted by the callables. An exact number of bytes
    gets `human_bytes` in a column of its own beside it, formatted by `units`, so that the numbers stay aligned; in
    a table in SI units (`si`), the bytes are in SI units in place (``1.638 MB``)."""
    if res is None:
        return []
    titles = {"flops": f"FLOPs ({res.convention})", "memory": f"memory ({res.memory.dtype if res.memory else ''})"}
    tables = []
    for table, title in titles.items():
        figures = [(name, value) for kind, name, value in res.rows() if kind == table]
        # the bytes, which carry their SI figure beside them, do not turn the table to SI units
        wrap = si(value for name, value in figures if value is not None and name != "bytes")
        cell = _numbers(expr, wrap)
        rows = []
        for name, value in figures:
            number = int(value) if isinstance(value, sympy.Integer) else None
            if value is None:
                shown = label("forward only")
            elif wrap is not None and name == "bytes" and number is not None and abs(number) >= 1000:
                shown = wrap(human(number, "B", digits=4) or "")
            else:
                shown = cell(value)
            human_ = human_bytes(number) if name == "bytes" and number is not None and wrap is None else None
            rows.append([label(name), shown, order(order_of(value, assume)) if symbolic else units(human_)])
        if not rows:
            continue
        if symbolic:  # expressions, read from the left, and their big-O
            tables.append(Table([label(title), label("count"), label("big-O")], rows, "<<<", " ++"))
        elif any(row[2] for row in rows):  # numbers, right-aligned as in the counts table, and the human figure
            tables.append(Table([label(title), label("count"), ""], rows, "<><"))
        else:
            tables.append(Table([label(title), label("count")], [row[:2] for row in rows], "<>"))
    return tables


def derive_text(
    d: Derivation,
    assume: Mapping[str, sympy.Expr],
    resources: Resources | None = None,
    *,
    units: str = "auto",
    width: int | None = None,
    expand: bool = False,
    levels: int | None = None,
) -> str:
    """A derivation as aligned tables: counts by phase and op and, for a dense network, the essay's quantities, each
    with its big-O; a stack's layers (`layer_rows`: repeated blocks collapsed unless `expand`, `levels` deep); then
    the FLOPs and memory of `resources`. Counts in `units` (`UNITS`); lines kept within `width` where given, long
    expressions wrapped before a term."""

    def si(values: Iterable[sympy.Expr]) -> Callable[[str], str] | None:
        return str if uses_si(units, values, auto=True) else None

    tables = _derive_tables(d, assume, label=str, name=str, expr=text_expr, order=text_order, repeat_phase=False, si=si)
    layers, notes = _layer_table(d, label=str, module=str, expr=text_expr, si=si, expand=expand, levels=levels)
    tables += layers
    tables += _resource_tables(
        resources,
        assume,
        label=str,
        expr=text_expr,
        order=text_order,
        units=lambda human: f"({human})" if human else "",
        symbolic=bool(d.free_symbols),
        si=si,
    )
    lines = wrap_prose(_title(d), width)
    if d.free_symbols:
        lines += wrap_prose(_order_note(assume), width)
    for table in tables:
        lines += ["", *table.text(width=width)]
        if layers and table is layers[0]:
            for note in notes:
                lines += wrap_prose(note, width)
    for note in d.notes:
        lines += wrap_prose(f"note: {note}", width)
    return "\n".join(lines)


def derive_markdown(
    d: Derivation,
    assume: Mapping[str, sympy.Expr],
    resources: Resources | None = None,
    *,
    units: str = "auto",
    expand: bool = False,
    levels: int | None = None,
) -> str:
    """A derivation as Markdown: a title, then the counts, a dense network's quantities and a stack's layers as pipe
    tables, expressions and names as code, numbers plain (exact unless `units` is ``si``)."""

    def si(values: Iterable[sympy.Expr]) -> Callable[[str], str] | None:
        return str if uses_si(units, values, auto=False) else None

    tables = _derive_tables(
        d,
        assume,
        label=str,
        name=lambda q: f"`{q}`",
        expr=markdown_expr,
        order=markdown_order,
        repeat_phase=True,
        si=si,
    )
    layers, notes = _layer_table(
        d, label=str, module=lambda m: f"`{m}`", expr=markdown_expr, si=si, expand=expand, levels=levels
    )
    tables += layers
    tables += _resource_tables(
        resources,
        assume,
        label=str,
        expr=markdown_expr,
        order=markdown_order,
        units=lambda human: f"({human})" if human else "",
        symbolic=bool(d.free_symbols),
        si=si,
    )
    lines = [f"**{_title(d)}**", ""]
    if d.free_symbols:
        lines += [f"{_order_note(assume)}.", ""]
    for k, table in enumerate(tables):
        lines += ([""] if k else []) + table.markdown()
        if layers and table is layers[0] and notes:
            lines += ["", *(f"{note}." if not note.endswith(")") else note for note in notes)]
    lines += [f"\n> {note}" for note in d.notes]
    return "\n".join(lines)


def derive_latex(
    d: Derivation,
    assume: Mapping[str, sympy.Expr],
    resources: Resources | None = None,
    *,
    units: str = "auto",
    expand: bool = False,
    levels: int | None = None,
) -> str:
    """The counts, a dense network's quantities and a stack's layers as LaTeX ``array`` tables in a ``gathered``
    block (math mode); numbers exact unless `units` is ``si``."""
    from complexa.printing import latex_name

    def label(s: str) -> str:
        return r"\text{big-}O" if s == "big-O" else rf"\text{{{latex_text(s)}}}"

    def si(values: Iterable[sympy.Expr]) -> Callable[[str], str] | None:
        return (lambda human: rf"\text{{{human}}}") if uses_si(units, values, auto=False) else None

    tables = _derive_tables(
        d,
        assume,
        label=label,
        name=lambda q: latex_name(q, d.model),
        expr=latex_math,
        order=latex_order,
        repeat_phase=True,
        si=si,
    )
    extra = _resource_tables(
        resources,
        assume,
        label=label,
        expr=latex_math,
        order=latex_order,
        units=lambda human: rf"\text{{({human})}}" if human else "",
        symbolic=bool(d.free_symbols),
        si=si,
    )
    layers, _ = _layer_table(d, label=label, module=label, expr=latex_math, si=si, expand=expand, levels=levels)
    body = "\n\\\\[1em]\n".join(t.latex() for t in [*tables, *layers, *extra])
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
