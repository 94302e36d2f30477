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


def human(count: int, unit: str = "") -> str | None:
    """`count` in decimal SI units (k = 1,000) to three significant figures, `unit` after the prefix; None below
    1,000, where the exact figure says it all.

    >>> human(292_706_000_000), human(999_999, "B"), human(1000, "FLOP"), human(999)
    ('293 G', '1 MB', '1 kFLOP', None)
    >>> human(-2_500_000)
    '-2.5 M'
    """
    if abs(count) < 1000:
        return None
    sign = "-" if count < 0 else ""
    count = abs(count)
    for power, prefix in enumerate(_SI_PREFIXES, start=1):
        shown = float(f"{count / 1000**power:.3g}")
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
