"""How derivations read: the steps, LaTeX ``aligned`` blocks and plain-text summaries."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sympy

from complexa._printers import latex, latex_terms, sstr
from complexa.asymptotics import big_o, symbol_names
from complexa.models import essay

if TYPE_CHECKING:
    from complexa.derivation import Derivation, Evaluation, Step

__all__ = [
    "LATEX_NAMES",
    "ESSAY_LATEX_NAMES",
    "derivation_steps",
    "latex_name",
    "latex_note",
    "latex_derivation",
    "latex_expr",
    "latex_cell",
    "latex_lines",
    "latex_step",
    "latex_width",
    "latex_text",
    "text_derivation",
    "text_evaluation",
    "text_step",
]

LATEX_NAMES = {
    "n_mul": r"n_{\mathrm{mul}}",
    "n_g": r"n_{\mathrm{g}}",
    "time_forward": r"\text{time}_{\text{forward}}",
    "time_error": r"\text{time}_{\text{error}}",
    "time_weights": r"\text{time}_{\text{weights}}",
    "time_gradient_descent": r"\text{time}_{\text{gradient descent}}",
}
"""Each quantity's name in LaTeX, as the essay typesets it but for ``time_forward``, which the essay calls plain
"time": beside time_error and time_weights that reads as the whole of training, so its part is written out."""
ESSAY_LATEX_NAMES = {**LATEX_NAMES, "time_forward": r"\text{time}"}
"""The names in the essay model's derivation: the essay's own, "time" for the forward pass included."""

_GENERAL_NOTES = {
    "exact": "for any sizes",
    "essay": "the essay's sum; each size counts the bias unit",
}
_ESSAY_UNIFORM = "the essay, for n neurons in each of L layers"


def latex_expr(expr: sympy.Basic) -> str:
    """`expr` in LaTeX; a big-O as the essay writes it, ``O(n^{4})``, without its limit point."""
    if isinstance(expr, sympy.Order):
        return rf"O\left({latex(expr.expr)}\right)"
    return latex(expr)


LATEX_WIDTH = 72
r"""How wide a line of a derivation's sum may set, in `latex_width`'s characters: a longer sum is cut between its
terms, so that the ``aligned`` block of a GPT's derivation fits a landscape A4 page at ``\small``."""
LATEX_CELL_WIDTH = 48
"""How wide a sum in a table's cell may set before it is cut into lines (`latex_cell`)."""


def latex_width(tex: str) -> int:
    r"""About how many characters wide `tex` sets: a command (``\lfloor``) one, ``\left``, ``\right``, braces and
    spaces none, a superscript half its length, and the space around each + and - one each side.

    >>> latex_width(r"6 H L T^{2} - 2 H L T"), latex_width(r"\left\lfloor\frac{H}{2}\right\rfloor")
    (12, 5)
    """
    text = re.sub(r"\\(?:left|right|mathrm|text|operatorname)(?![a-zA-Z])", "", tex.strip())
    text = re.sub(r"\^\{([^{}]*)\}", lambda m: "x" * max(1, len(re.sub(r"\s", "", m.group(1))) // 2), text)
    operators = len(re.findall(r" [+-] ", text))
    text = re.sub(r"\\[a-zA-Z]+", "x", text)
    return len(re.sub(r"[{}\s]", "", text)) + 2 * operators


def latex_lines(expr: sympy.Basic, width: int = LATEX_WIDTH) -> list[str]:
    """`expr` in LaTeX, a sum cut between its terms into lines of at most `width` (`latex_width`; a single term wider
    than that is a line of its own). Joined by spaces, the lines are `latex(expr)`.

    >>> from complexa._poly import symbol
    >>> h = symbol("h")
    >>> latex_lines(h**3 + 794 * h**2 + 10 * h + 7, width=12)
    ['h^{3} + 794 h^{2}', '+ 10 h + 7']
    """
    if isinstance(expr, sympy.Order):
        return [latex_expr(expr)]
    lines: list[str] = []
    current: list[str] = []
    for piece in latex_terms(expr):
        if current and latex_width(" ".join([*current, piece])) > width:
            lines.append(" ".join(current))
            current = []
        current.append(piece)
    return [*lines, " ".join(current)]


def latex_cell(expr: sympy.Basic, width: int = LATEX_CELL_WIDTH) -> str:
    r"""`expr` for a table's cell: one line, or a sum cut into lines (`latex_lines`) stacked in an ``array``, each line
    after the first indented.

    >>> from complexa._poly import symbol
    >>> h = symbol("h")
    >>> print(latex_cell(h**3 + 794 * h**2 + 10 * h + 7, width=12))
    \begin{array}{l}h^{3} + 794 h^{2} \\ \quad + 10 h + 7\end{array}
    """
    lines = latex_lines(expr, width)
    if len(lines) == 1:
        return lines[0]
    return r"\begin{array}{l}" + r" \\ \quad ".join(lines) + r"\end{array}"


def _text_expr(expr: sympy.Basic) -> str:
    if isinstance(expr, sympy.Order):
        return f"O({sstr(expr.expr)})"
    return sstr(expr)


def latex_text(text: str) -> str:
    """`text` for LaTeX's text mode, where _ ^ & % # $ { } ~ and \\ mean something else."""
    return "".join(_TEXT_ESCAPES.get(c, c) for c in text)


_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "^": r"\^{}",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\~{}",
}


def latex_name(name: str, model: str = "exact") -> str:
    """A quantity's name in LaTeX: `LATEX_NAMES`, or `ESSAY_LATEX_NAMES` for the essay `model`; another name as is.

    >>> print(latex_name("n_mul"), latex_name("time_forward"), latex_name("time_forward", "essay"))
    n_{\\mathrm{mul}} \\text{time}_{\\text{forward}} \\text{time}
    """
    return (ESSAY_LATEX_NAMES if model == "essay" else LATEX_NAMES).get(name, name)


# A formula in the essay's notation inside a note, such as "n_layers n^3": set as math, not as text.
_ESSAY_FORMULA = re.compile(r"\bn_layers(?: n(?:\^(\d+))?)?")


def _essay_formula(match: re.Match[str]) -> str:
    power = match.group(1)
    tail = "" if " n" not in match.group(0) else f" n^{{{power}}}" if power else " n"
    return r"n_{\mathrm{layers}}" + tail


def latex_note(note: str) -> str:
    """A step's note in LaTeX: its words in text mode, escaped, and a formula in the essay's notation as math.

    >>> print(latex_note("as the essay writes it for square matrices, n_layers n^3"))
    \\text{as the essay writes it for square matrices, } n_{\\mathrm{layers}} n^{3}
    """
    parts = []
    at = 0
    for match in _ESSAY_FORMULA.finditer(note):
        if match.start() > at:
            parts.append(rf"\text{{{latex_text(note[at : match.start()])}}}")
        parts.append(_essay_formula(match))
        at = match.end()
    if at < len(note):
        parts.append(rf"\text{{{latex_text(note[at:])}}}")
    return " ".join(parts)


def latex_step(step: Step, model: str = "exact") -> str:
    """One step of an ``aligned`` block: ``lhs &= rhs && \\text{note}``, names as `latex_name` gives them for
    `model`; a sum wider than `LATEX_WIDTH` goes on over more lines (``&\\quad + ...``)."""
    lhs = latex_name(step.lhs, model) if step.lhs else ""
    note = f" && {latex_note(step.note)}" if step.note else ""
    first, *rest = latex_lines(step.rhs)
    # A long sum goes on over more lines, each under the first's right side, indented.
    return " \\\\\n".join([f"{lhs} &= {first}{note}", *(f"&\\quad {line}" for line in rest)])


def text_step(step: Step) -> str:
    """One line of a derivation in plain text."""
    lhs = step.lhs or ""
    note = f"    [{step.note}]" if step.note else ""
    return f"{lhs:>22} = {_text_expr(step.rhs)}{note}"


def _order_note(d: Derivation, subs: dict[str, sympy.Expr]) -> str:
    symbols = sorted({str(v) for v in subs.values()})
    if subs:
        given = ", ".join(f"{k} = {v}" for k, v in subs.items())
        return f"as {', '.join(symbols)} grows, with {given}"
    return "as every symbol grows"


def derivation_steps(d: Derivation, general: dict[str, sympy.Expr]) -> tuple[Step, ...]:
    """The steps of `d`: for each quantity its general form, this network's form, the form the essay states where it
    differs, and the big-O (under the essay's assumptions where they apply)."""
    from complexa.derivation import Step

    steps: list[Step] = []
    width, depth = d.network.width, d.network.depth
    for name, value in d.quantities.items():
        form = general[name]
        backward = d.model == "essay" and name not in ("n_mul", "n_g", "time_forward")
        note = _ESSAY_UNIFORM if backward else _GENERAL_NOTES[d.model]
        if d.network.is_stack:
            note = "layer by layer, the terms of by_layer"
        steps.append(Step(name, form, note))
        # The general form has sums over n^(k) unless it is the essay's uniform formula, which this network may equal.
        # A stack's general form is its layers' terms, unevaluated: their total follows.
        if form.has(sympy.Sum) or (d.network.is_stack and form.is_Add) or sympy.expand(form - value) != 0:
            steps.append(Step(None, value, "this network"))
        if d.model == "essay" and name in essay.STATED and width is not None:
            stated, note = essay.STATED[name]
            stated = stated.xreplace({essay.N: width, essay.L: depth})
            if sympy.expand(stated - value) != 0:
                steps.append(Step(name, stated, note))
        names = symbol_names(value)
        if names:
            subs = {k: v for k, v in d.assumptions.items() if k in names}
            order = big_o(value, **subs)
            note = _order_note(d, subs)
            if d.model == "essay" and width is not None and subs and len(width.free_symbols) == 1:
                (n_symbol,) = width.free_symbols
                claimed = essay.CLAIMED_ORDER[name].xreplace({essay.N: n_symbol})
                agrees = sympy.expand(order.expr - claimed) == 0
                note += "; as the essay finds" if agrees else f"; the essay claims O({sstr(claimed)})"
            steps.append(Step(name, order, note))
    return tuple(steps)


def latex_derivation(d: Derivation) -> str:
    """Every step of `d` in one LaTeX ``aligned`` block, one line per step."""
    lines = " \\\\\n".join(latex_step(step, d.model) for step in d.steps)
    return f"\\begin{{aligned}}\n{lines}\n\\end{{aligned}}"


def _header(d: Derivation) -> str:
    steps = "step" if d.iterations == 1 else "steps"
    return f"{d.model} model of {d.network!r}, {d.iterations} training {steps}"


def text_derivation(d: Derivation) -> str:
    """A plain-text summary of `d`: counts by phase and op, then each quantity and its big-O."""
    lines = [_header(d)]
    lines.append("counts (totals over all steps):")
    for phase, ops in d.counts.items():
        for op, value in ops.items():
            lines.append(f"  {phase:>8} {op:<9} {sstr(value)}")
    lines.append("quantities:")
    orders = d.big_o(**d.assumptions)
    for name, value in d.quantities.items():
        lines.append(f"  {name:<22} {sstr(value)}")
        if value.free_symbols:
            lines.append(f"  {'':<22} {_text_expr(orders[name])}")
    lines.extend(f"note: {note}" for note in d.notes)
    return "\n".join(lines)


def text_evaluation(e: Evaluation) -> str:
    """A plain-text table of an evaluation's counts and quantities."""
    given = ", ".join(f"{k}={v}" for k, v in e.values.items()) or "no symbols"
    lines = [f"evaluated at {given}"]
    ops = list(next(iter(e.counts.values())))
    lines.append(f"  {'':>8} " + " ".join(f"{op:>16}" for op in ops))
    for phase, row in e.counts.items():
        lines.append(f"  {phase:>8} " + " ".join(f"{row.get(op, 0):>16,}" for op in ops))
    for name, value in e.quantities.items():
        lines.append(f"  {name:<22} {value:>20,}")
    return "\n".join(lines)
