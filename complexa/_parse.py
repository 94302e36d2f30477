"""complexa's own grammar for size expressions such as ``"h"``, ``"2*h"`` or ``"h/2 + 1"``.

User text never reaches `sympify`, `parse_expr` or `eval`: those run Python code, and a restricted namespace does not
stop ``Symbol.__new__.__globals__`` from escaping or ``9**9**9`` from hanging. This is a small recursive-descent parser
over a fixed token set, with limits on length, nesting and the size of every number it builds::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("^" | "**") unary)?          right-associative
    atom   := INTEGER | IDENTIFIER | "(" expr ")"

Identifiers become sympy symbols that are positive integers; ``E``, ``I``, ``N``, ``O``, ``S``, ``pi`` and ``oo`` are
plain symbols like any other name. Exponents must be integer constants from 0 to `MAX_EXPONENT`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy

from complexa.errors import ComplexaError

__all__ = ["parse", "symbol", "MAX_LENGTH", "MAX_DEPTH", "MAX_EXPONENT", "MAX_DIGITS"]

MAX_LENGTH = 200
"""Longest text accepted, in characters."""
MAX_DEPTH = 32
"""Deepest nesting of parentheses, signs and powers."""
MAX_EXPONENT = 64
"""Largest exponent accepted after ``^`` or ``**``."""
MAX_DIGITS = 200
"""Most decimal digits of any number the parser builds, literal or computed."""

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z][A-Za-z0-9_]*)|(\*\*|[-+*/^()]))")


@lru_cache(maxsize=4096)
def symbol(name: str) -> sympy.Symbol:
    """The complexa symbol called `name`: a positive integer, the same object for the same name."""
    return sympy.Symbol(name, positive=True, integer=True)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    stripped_end = len(text.rstrip())
    while pos < stripped_end:
        match = _TOKEN.match(text, pos)
        if match is None:
            bad = text[pos:].lstrip()[:1]
            raise ComplexaError(
                f"{text!r}: unexpected character {bad!r} at position {len(text) - len(text[pos:].lstrip())}; "
                "a size expression may hold integers, names, + - * / ^ ** and parentheses"
            )
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: list[str]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def fail(self, why: str) -> ComplexaError:
        return ComplexaError(f"{self.text!r}: {why}")

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep")

    def checked(self, value: sympy.Expr) -> sympy.Expr:
        # Bound every constant the parser builds, so that no input makes it compute a huge number.
        for atom in value.atoms(sympy.Rational):
            for part in (atom.p, atom.q):
                if len(str(abs(part))) > MAX_DIGITS:
                    raise self.fail(f"a number has more than {MAX_DIGITS} digits")
        return value

    def expr(self) -> sympy.Expr:
        self.enter()
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term()
            value = self.checked(value + right if op == "+" else value - right)
        self.depth -= 1
        return value

    def term(self) -> sympy.Expr:
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            right = self.unary()
            if op == "/" and right == 0:
                raise self.fail("division by zero")
            value = self.checked(value * right if op == "*" else value / right)
        return value

    def unary(self) -> sympy.Expr:
        if self.peek() in ("+", "-"):
            self.enter()
            op = self.take()
            value = self.unary()
            self.depth -= 1
            return -value if op == "-" else value
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.atom()
        if self.peek() not in ("^", "**"):
            return base
        self.take()
        self.enter()
        exponent = self.unary()
        self.depth -= 1
        if not (exponent.is_Integer and 0 <= int(exponent) <= MAX_EXPONENT):
            raise self.fail(f"an exponent must be an integer constant from 0 to {MAX_EXPONENT}, not {exponent}")
        if base.is_Rational and max(len(str(abs(base.p))), len(str(base.q))) * int(exponent) > MAX_DIGITS:
            raise self.fail(f"a number has more than {MAX_DIGITS} digits")
        return self.checked(base ** int(exponent))

    def atom(self) -> sympy.Expr:
        token = self.peek()
        if token is None:
            raise self.fail("ends too early; expected a number, a name or '('")
        self.take()
        if token == "(":
            value = self.expr()
            if self.peek() != ")":
                raise self.fail("a '(' is never closed")
            self.take()
            return value
        if token[0].isdigit():
            if len(token) > MAX_DIGITS:
                raise self.fail(f"a number has more than {MAX_DIGITS} digits")
            return sympy.Integer(int(token))
        if token[0].isalpha():
            if self.peek() == "(":
                raise self.fail(f"{token}(...) looks like a function call; only arithmetic is allowed")
            return symbol(token)
        raise self.fail(f"unexpected {token!r}; expected a number, a name or '('")


def parse(text: str) -> sympy.Expr:
    """Parse a size expression such as ``"2*h + 1"`` into a sympy expression, without evaluating any code.

    **Arguments:**

    - `text`: integers, names, ``+ - * / ^ **`` and parentheses; at most `MAX_LENGTH` characters.

    **Returns:** the sympy expression; names become symbols that are positive integers.

    **Raises:** `ComplexaError` naming the text and what is wrong with it.

    >>> parse("h/2 + 1")
    h/2 + 1
    >>> parse("2^3 * n_0")
    8*n_0
    """
    if not isinstance(text, str):
        raise ComplexaError(f"{text!r}: a size expression must be a string")
    if len(text) > MAX_LENGTH:
        raise ComplexaError(f"{text[:40]!r}...: a size expression is limited to {MAX_LENGTH} characters")
    tokens = _tokenize(text)
    if not tokens:
        raise ComplexaError(f"{text!r}: an empty string is not a size expression")
    parser = _Parser(text, tokens)
    value = parser.expr()
    if parser.peek() is not None:
        token = parser.peek()
        hint = "; write 2*h, not 2h" if token and (token[0].isalnum() or token == "(") else ""
        raise parser.fail(f"unexpected {token!r} after a complete expression{hint}")
    return value
