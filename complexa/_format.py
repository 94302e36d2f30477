"""Tables and values for the command line: aligned text, Markdown, LaTeX ``array`` blocks and JSON.

This module holds the table model and the cells; the documents made of them are in `complexa._format_derive` (derive's
tables and LaTeX document), `complexa._format_measure` (measure's) and `complexa._format_json` (every JSON document).

One table model serves every format: a header row and body rows of already formatted cells, each column aligned
left (``"<"``) or right (``">"``): numbers right, expressions and words left. Values are formatted by the helpers
here, so that a count reads the same in every table: ``h^2 + 794*h`` in text, `` `h^2 + 794*h` `` in Markdown
(expressions as code, numbers plain: ``1,234``), ``h^{2} + 794 h`` in LaTeX, and in JSON an exact integer as a JSON
integer and anything else as a string that `complexa._parse.parse` reads back. A count of bytes also reads in decimal
SI units beside the exact figure: ``1,761,296 (1.76 MB)``.
"""

from __future__ import annotations

import math
import os
import re
import sys
import textwrap
from collections.abc import Sequence

import sympy

from complexa._printers import latex, sstr
from complexa.printing import latex_cell, latex_text

__all__ = [
    "SCHEMA_VERSION",
    "Table",
    "text_expr",
    "text_order",
    "markdown_expr",
    "markdown_order",
    "human",
    "human_bytes",
    "json_expr",
    "json_order",
    "latex_text",
    "latex_math",
    "latex_order",
    "grouped",
    "significant",
    "terminal_width",
    "wrap_prose",
]

SCHEMA_VERSION = 1
"""The version of the JSON documents `complexa` prints (docs/json.md); it changes only when a field changes meaning
or disappears."""

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

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "", wrap: str = "") -> None:
        self.headers = list(headers)
        self.rows = [list(row) for row in rows]
        self.align = align.ljust(len(self.headers), "<")
        self.wrap = wrap.ljust(len(self.headers), " ")
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"a row has {len(row)} cells for {len(self.headers)} columns: {row!r}")

    def text(self, indent: str = "", width: int | None = None) -> list[str]:
        """Columns padded to their widest cell, two spaces apart, trailing spaces removed. With `width`, a table wider
        than that wraps the cells of its wrappable columns (`wrap`: ``"+"`` before a term's sign, ``","`` after a
        comma, ``" "`` never), the widest first, each continued two spaces in on the lines below; a piece that
        cannot be broken stays whole.

        >>> t = Table(["op", "count"], [["mul", "a*b + 3*c - d"]], "<<", " +")
        >>> print("\\n".join(t.text(width=12)))
        op   count
        mul  a*b
               + 3*c
               - d
        """
        rows = [self.headers, *self.rows]
        widths = [max(len(cell) for cell in column) for column in zip(*rows)]
        if width is not None:
            limits = _limits(rows, widths, self.wrap, width - len(indent) - 2 * (len(widths) - 1))
            if limits != widths:
                rows = [wrapped for row in rows for wrapped in _wrap_row(row, limits, self.wrap)]
                widths = [max(len(cell) for cell in column) for column in zip(*rows)]
        lines = []
        for row in rows:
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


_BREAKS = {"+": re.compile(r"(?= [+-] )"), ",": re.compile(r"(?<=, )"), ".": re.compile(r"(?<=\.)")}
"""Where a cell of each kind of wrappable column may break: before `` + `` and `` - `` (a term), after ``, `` (an
argument), after ``.`` (a module path's part)."""
_FIRST = ("+",)
"""The kinds of column wrapped first: expressions, before names and paths."""
_CONTINUED = "  "
"""What a wrapped cell's later lines start with."""


def _pieces(cell: str, kind: str) -> list[str]:
    return [piece for piece in _BREAKS[kind].split(cell) if piece] if kind in _BREAKS else [cell]


def _wrap_cell(cell: str, kind: str, limit: int) -> list[str]:
    """`cell` as lines of at most `limit` characters where its pieces allow, later lines continued."""
    lines: list[str] = []
    for piece in _pieces(cell, kind):
        if lines and len(lines[-1]) + len(piece.rstrip()) <= limit:
            lines[-1] += piece
        else:
            lines.append(piece if not lines else _CONTINUED + piece.strip())
    return [line.rstrip() for line in lines] or [""]


def _limits(rows: list[list[str]], widths: list[int], wrap: str, room: int) -> list[int]:
    """The widest each column may be for the table to fit `room` characters of cells. Expressions (`_FIRST`) are
    capped first, at a common limit as high as fits, never below their widest unbreakable piece; then, if the table
    is still too wide, the other wrappable columns alike; the rest keep their width."""
    if sum(widths) <= room or not wrap.strip():
        return widths
    floors = [
        max(len(_CONTINUED + piece.strip()) for row in rows for piece in _pieces(row[k], kind)) if kind != " " else w
        for k, (w, kind) in enumerate(zip(widths, wrap))
    ]
    limits = list(widths)
    for group in (lambda kind: kind in _FIRST, lambda kind: kind not in _FIRST and kind != " "):
        chosen = [k for k, kind in enumerate(wrap) if group(kind)]
        if not chosen:
            continue
        for cap in range(max(limits[k] for k in chosen), 0, -1):
            trial = [min(limits[k], max(cap, floors[k])) if k in chosen else limits[k] for k in range(len(limits))]
            if sum(trial) <= room:
                return trial
        limits = [min(limits[k], floors[k]) if k in chosen else limits[k] for k in range(len(limits))]
    return limits


def _wrap_row(row: list[str], limits: list[int], wrap: str) -> list[list[str]]:
    """`row` as one or more rows of cells, its wrappable cells broken to `limits`."""
    cells = [_wrap_cell(cell, kind, limit) if kind != " " else [cell] for cell, kind, limit in zip(row, wrap, limits)]
    height = max(len(lines) for lines in cells)
    return [[lines[i] if i < len(lines) else "" for lines in cells] for i in range(height)]


def terminal_width() -> int | None:
    """The width text output keeps within: ``COLUMNS`` where it is set to a positive integer, else the terminal's
    width when standard output is one; None (no limit) for a file or a pipe."""
    given = os.environ.get("COLUMNS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        if sys.stdout is not None and sys.stdout.isatty():
            return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        pass
    return None


def wrap_prose(text: str, width: int | None) -> list[str]:
    """A line of prose (a title, a note) as lines within `width`, continued two spaces in; as it is for None."""
    if width is None or len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, subsequent_indent=_CONTINUED, break_on_hyphens=False, break_long_words=False)


def grouped(value: int) -> str:
    """An integer with thousands separators: ``1,234,567``."""
    return f"{value:,}"


def significant(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant figures (a larger number whole) in positional notation, with thousands
    separators and never in powers of ten, so that every number of a column reads alike.

    >>> significant(3.14159), significant(0.000123456), significant(123456.7), significant(9.996), significant(0)
    ('3.14', '0.000123', '123,457', '10.0', '0')
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if abs(value) >= 10**digits:
        return f"{round(value):,}"  # a whole number keeps its digits: 123,457, not 123,000
    value = float(f"{value:.{digits}g}")  # rounded first: 9.996 is 10.0, not 10.00
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


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


def human(count: int, unit: str = "", digits: int = 3) -> str | None:
    """`count` in decimal SI units (k = 1,000) to `digits` significant figures, `unit` after the prefix; None below
    1,000, where the exact figure says it all.

    >>> human(292_706_000_000), human(999_999, "B"), human(1000, "FLOP"), human(999)
    ('293 G', '1 MB', '1 kFLOP', None)
    >>> human(-2_500_000), human(292_706_000_000, digits=4)
    ('-2.5 M', '292.7 G')
    """
    if abs(count) < 1000:
        return None
    sign = "-" if count < 0 else ""
    count = abs(count)
    for power, prefix in enumerate(_SI_PREFIXES, start=1):
        shown = float(f"{count / 1000**power:.{digits}g}")
        if shown < 1000 or prefix == _SI_PREFIXES[-1]:
            return f"{sign}{shown:g} {prefix}{unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def human_bytes(count: int) -> str | None:
    """`count` bytes in decimal SI units (1 kB = 1,000 bytes), as `human` gives them.

    >>> human_bytes(1_761_296), human_bytes(999_999), human_bytes(1000), human_bytes(999)
    ('1.76 MB', '1 MB', '1 kB', None)
    """
    return human(count, "B")


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
    """`expr` in math-mode LaTeX for a table's cell: a long sum cut into lines (`complexa.printing.latex_cell`)."""
    return latex_cell(expr)


def latex_order(order: sympy.Basic | None) -> str:
    """A big-O in math-mode LaTeX, ``O\\left(n^{4}\\right)``, or nothing for None."""
    if order is None:
        return ""
    inner = order.expr if isinstance(order, sympy.Order) else order
    return rf"O\left({latex(inner)}\right)"
