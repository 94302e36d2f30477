"""Every limit on what a user may hand complexa, in one place, and how a refused value is quoted.

Two sets of limits, for two jobs (docs/limits.md explains each):

- the grammar's (`complexa.parse`, and any sympy expression complexa expands): wide enough to read back every
  expression complexa prints, tight enough that no text, however hostile, makes it work for more than a moment;
- a size's (layer sizes, batch, depth, iterations, ``--assume``, `evaluate`'s and `big_o`'s values): what a network
  size can sensibly be, small enough that the counts of a network built from such sizes stay quick to derive and
  print, and that no printed integer reaches Python's 4,300-digit limit on converting an int to text.
"""

from __future__ import annotations

import numbers

__all__ = [
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_DEGREE",
    "MAX_DIGITS",
    "MAX_TERMS",
    "MAX_WORK",
    "MAX_SIZE_DIGITS",
    "MAX_SIZE_TERMS",
    "MAX_SIZE_DEGREE",
    "MAX_TREE_DEPTH",
    "MAX_TREE_NODES",
    "check_tree",
    "tree_size",
    "digits",
    "scientific",
    "show",
]

MAX_LENGTH = 1_000_000
"""Longest text `complexa.parse` reads, in characters: printed counts of thousands of symbolic layers fit."""
MAX_DEPTH = 32
"""Deepest nesting of parentheses, signs and powers in a text."""
MAX_DEGREE = 4096
"""Largest total degree of any expression complexa expands, and largest exponent a text may write."""
MAX_DIGITS = 4000
"""Most decimal digits of any number in an expression complexa expands, literal or computed."""
MAX_TERMS = 100_000
"""Most terms of any expression complexa expands."""
MAX_WORK = 250_000
"""Most products of two terms that expanding one expression may take (about half a second)."""

MAX_SIZE_DIGITS = 100
"""Most decimal digits of an integer size (10^100 is beyond any network; the counts of such sizes stay printable)."""
MAX_SIZE_TERMS = 16
"""Most terms of a size once expanded, such as ``(h + 1)^2`` (3 terms)."""
MAX_SIZE_DEGREE = 16
"""Largest total degree of a size once expanded, such as ``h^2`` (2)."""

MAX_TREE_DEPTH = 100
"""Deepest sympy expression a user may hand complexa (``Add(Add(..., evaluate=False))``): sympy walks expressions
by recursion, and a thousand levels end in RecursionError; a text's expressions are a few levels deep."""
MAX_TREE_NODES = 1_000_000
"""Most nodes of a sympy expression a user may hand complexa, a subtree shared by several parents counted each time:
sympy's walks (printing, expanding, substituting) visit every one, so ``e = Add(e, e, evaluate=False)`` forty times
is 10^12 nodes in a few lines. The counts of thousands of symbolic layers have a few hundred thousand."""
_SHOWN_NODES = 5_000
"""Most nodes of an expression `show` prints; a larger one is described, not printed (printing it took seconds)."""


def show(value: object, limit: int = 60) -> str:
    """`value` for an error message: huge integers as their digit count and leading digits, long text cut short.

    Python refuses to turn an int of more than 4,300 digits into text, so a message quoting one must never try.

    >>> show(-(10**5000))
    '-1000000000...0 (a 5001-digit integer)'
    >>> show("h" * 100)
    "'hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh...' (100 characters)"
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        number = int(value)
        count = digits(number)
        if count > 30:
            sign = "-" if number < 0 else ""
            leading = abs(number) // 10 ** (count - 10)
            return f"{sign}{leading}...{abs(number) % 10} (a {count}-digit integer)"
        return str(number)
    if isinstance(value, numbers.Rational) and not isinstance(value, bool):
        if value.denominator == 1:
            return show(value.numerator)
        return f"{show(value.numerator)}/{show(value.denominator)}"
    if isinstance(value, str):
        if len(value) > limit:
            return f"{value[: limit - 9] + '...'!r} ({len(value)} characters)"
        return repr(value)
    if _is_sympy(value):
        nodes, depth = tree_size(value, _SHOWN_NODES)
        if nodes > _SHOWN_NODES:
            return f"a sympy {type(value).__name__} of more than {_SHOWN_NODES:,} nodes"
        if depth > MAX_TREE_DEPTH:
            return f"a sympy {type(value).__name__} more than {MAX_TREE_DEPTH} levels deep"
    try:
        text = str(value) if _is_sympy(value) else repr(value)
    except ValueError:  # an expression holding an integer too long to print
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= limit else f"{text[: limit - 9]}... ({len(text)} characters)"


def _is_sympy(value: object) -> bool:
    return type(value).__module__.startswith("sympy")


def digits(number: int) -> int:
    """Decimal digits of `number` (its sign not counted), without converting it to text."""
    magnitude = abs(number)
    if magnitude == 0:
        return 1
    # bit_length gives the digit count to within one; one comparison settles it.
    estimate = int(magnitude.bit_length() * 0.30102999566398120)
    return estimate + 1 if magnitude >= 10**estimate else estimate


def scientific(number: int) -> str:
    """`number` as ``7.76e+12``, however large (a float holds no more than about 1e308).

    >>> scientific(7_760_000_000_000), scientific(6 * 10**10001)
    ('7.76e+12', '6.00e+10001')
    """
    if abs(number) < 10**300:
        return f"{number:.3g}"
    count = digits(number)
    return f"{number // 10 ** (count - 3) / 100:.2f}e+{count - 1}"


def tree_size(expr: object, cap: int = MAX_TREE_NODES) -> tuple[int, int]:
    """(nodes, depth) of the sympy expression `expr`, a shared subtree counted once per parent, found without
    recursion and in time proportional to its distinct nodes; the walk stops once either passes `cap`, with a figure
    above `cap` (or depth above `MAX_TREE_DEPTH`)."""
    found: dict[int, tuple[int, int]] = {}
    stack: list[tuple[object, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        key = id(node)
        if key in found:
            continue
        args = getattr(node, "args", ())
        if not isinstance(args, tuple) or not args:
            found[key] = (1, 1)
        elif not ready:
            stack.append((node, True))
            stack.extend((arg, False) for arg in args if id(arg) not in found)
        else:
            nodes = 1 + sum(found[id(arg)][0] for arg in args)
            depth = 1 + max(found[id(arg)][1] for arg in args)
            if nodes > cap or len(found) > cap:
                return max(nodes, cap + 1), depth
            if depth > MAX_TREE_DEPTH:
                return nodes, depth
            found[key] = (nodes, depth)
    return found[id(expr)]


def check_tree(expr: object, where: str) -> None:
    """Refuse a sympy expression too deep or too large for sympy's own walks (`MAX_TREE_DEPTH`, `MAX_TREE_NODES`)."""
    from complexa.errors import ComplexaError

    nodes, depth = tree_size(expr)
    if depth > MAX_TREE_DEPTH:
        raise ComplexaError(
            f"{where} = {show(expr)}: an expression is nested at most {MAX_TREE_DEPTH} levels deep; build it "
            "evaluated (h + 1 + 1 is h + 2), or pass it as a string"
        )
    if nodes > MAX_TREE_NODES:
        raise ComplexaError(
            f"{where} = {show(expr)}: an expression has at most {MAX_TREE_NODES:,} nodes, a shared subexpression "
            "counted each time it appears; build it evaluated, or expand it first"
        )
