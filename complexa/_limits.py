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
