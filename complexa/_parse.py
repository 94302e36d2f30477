"""complexa's own grammar for size expressions such as ``"h"``, ``"2*h"`` or ``"h/2 + 1"``.

User text never reaches `sympify`, `parse_expr` or `eval`: those run Python code, and a restricted namespace does not
stop ``Symbol.__new__.__globals__`` from escaping or ``9**9**9`` from hanging. This is a small recursive-descent parser
over a fixed token set that computes the expanded polynomial as it reads, refusing any step past the limits in
`complexa._limits` (length, nesting, degree, digits, terms, and the products of terms an expansion takes) before it
takes it::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("^" | "**") unary)?          right-associative
    atom   := INTEGER | IDENTIFIER | "(" expr ")" | FUNCTION "(" expr ("," expr)* ")"

FUNCTION is one of ``floor``, ``ceiling``, ``Mod``, ``Max`` and ``Min``, which `complexa.from_torch` prints in the sizes
of strided convolutions and pools, so that every expression complexa prints reads back; their arguments expand to at
most `MAX_SIZE_TERMS` terms each, and the value is sympy's (``floor(h/2 - 1/2)``), a size's checks refuse it.

Identifiers become sympy symbols that are positive integers; ``E``, ``I``, ``N``, ``O``, ``S``, ``pi`` and ``oo`` are
plain symbols like any other name. Exponents must be integer constants from -`MAX_DEGREE` to `MAX_DEGREE`. A
division by an expression in symbols, or a negative power, gives a ratio of two polynomials, each expanded (a size must
be a polynomial; only a printed ratio of counts needs more).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

import sympy

from complexa._limits import MAX_DEGREE, MAX_DEPTH, MAX_DIGITS, MAX_LENGTH, MAX_SIZE_TERMS, MAX_TERMS, MAX_WORK, show
from complexa._poly import Expander, Polynomial, symbol, to_expr
from complexa.errors import ComplexaError

__all__ = ["parse", "symbol", "MAX_LENGTH", "MAX_DEPTH", "MAX_DEGREE", "MAX_DIGITS", "MAX_TERMS", "MAX_WORK"]

# ASCII only: \d would read other scripts' digits ("٣" as 3), \s other scripts' spaces.
_TOKEN = re.compile(r"[ \t\r\n]*(?:([0-9]+)|([A-Za-z][A-Za-z0-9_]*)|(\*\*|[-+*/^(),]))")

_FUNCTIONS: dict[str, tuple[Callable[..., sympy.Expr], int]] = {
    "floor": (sympy.floor, 1),
    "ceiling": (sympy.ceiling, 1),
    "Mod": (sympy.Mod, 2),
    "Max": (sympy.Max, -4),
    "Min": (sympy.Min, -4),
}
"""The functions the grammar reads, and how many arguments each takes (-4: one to four; sympy compares each pair)."""
MAX_CALLS = 256
"""Most calls of those functions in one text: sympy builds each value itself (up to ten milliseconds each)."""
_COMMA = "unexpected character ','; a comma separates only the arguments of floor, ceiling, Mod, Max and Min"


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    stripped_end = len(text.rstrip(" \t\r\n"))
    while pos < stripped_end:
        match = _TOKEN.match(text, pos)
        if match is None:
            rest = text[pos:].lstrip(" \t\r\n")
            raise ComplexaError(
                f"{show(text)}: unexpected character {rest[:1]!r} at position {len(text) - len(rest)}; "
                "a size expression may hold integers, names, + - * / ^ ** and parentheses"
            )
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    return tokens


class _Fraction(NamedTuple):
    """A value of the grammar: a polynomial over a polynomial (the denominator is 1 but after a division by an
    expression in symbols, which only a printed ratio of counts needs; a size must be a polynomial)."""

    num: Polynomial
    den: Polynomial


class _Parser:
    def __init__(self, text: str, tokens: list[str]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        names = {token for token in tokens if token[0].isalpha()}
        self.math = Expander([symbol(name) for name in names], self.fail)
        self.one = self.math.number(1)
        self.calls: dict[sympy.Symbol, sympy.Expr] = {}
        """Each function's value by the placeholder the polynomials hold for it (a name no text can write)."""

    def fail(self, why: str) -> ComplexaError:
        return ComplexaError(f"{show(self.text)}: {why}")

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

    def expr(self) -> _Fraction:
        self.enter()
        terms = [self.term()]
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term()
            terms.append(right if op == "+" else _Fraction(-right.num, right.den))
        self.depth -= 1
        return self.sum(terms)

    def sum(self, terms: list[_Fraction]) -> _Fraction:
        whole = [t for t in terms if t.den.constant() == 1]
        # One sum of the polynomial terms: adding them one by one would copy the running total each time.
        value = _Fraction(self.math.total([t.num for t in whole]) if whole else self.math.number(0), self.one)
        for t in terms:
            if t.den.constant() != 1:
                num = self.math.total([self.math.mul(value.num, t.den), self.math.mul(t.num, value.den)])
                value = _Fraction(num, self.math.mul(value.den, t.den))
        return value

    def term(self) -> _Fraction:
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            right = self.unary()
            if op == "*":
                value = _Fraction(self.math.mul(value.num, right.num), self.math.mul(value.den, right.den))
            elif right.num.constant() == 0:
                raise self.fail("division by zero")
            elif right.num.constant() is not None and right.den.constant() == 1:
                value = _Fraction(self.math.div(value.num, right.num), value.den)
            else:
                value = _Fraction(self.math.mul(value.num, right.den), self.math.mul(value.den, right.num))
        return value

    def unary(self) -> _Fraction:
        if self.peek() in ("+", "-"):
            self.enter()
            op = self.take()
            value = self.unary()
            self.depth -= 1
            return _Fraction(-value.num, value.den) if op == "-" else value
        return self.power()

    def power(self) -> _Fraction:
        base = self.atom()
        if self.peek() not in ("^", "**"):
            return base
        self.take()
        self.enter()
        exponent = self.unary()
        self.depth -= 1
        num, den = exponent.num.constant(), exponent.den.constant()
        value = None if num is None or den is None else Fraction(num) / den
        if value is None or value.denominator != 1 or abs(value) > MAX_DEGREE:
            shown = "an expression in symbols" if value is None else show(value)
            raise self.fail(f"an exponent must be an integer constant from -{MAX_DEGREE} to {MAX_DEGREE}, not {shown}")
        power = abs(int(value))
        raised = _Fraction(self.math.power(base.num, power), self.math.power(base.den, power))
        if value >= 0:
            return raised
        # A negative power is a division, as sympy prints one: h**(-2) is 1/h**2.
        if raised.num.constant() == 0:
            raise self.fail("division by zero")
        return _Fraction(raised.den, raised.num)

    def atom(self) -> _Fraction:
        token = self.peek()
        if token is None:
            raise self.fail("ends too early; expected a number, a name or '('")
        self.take()
        if token == "(":
            value = self.expr()
            if self.peek() == ",":
                raise self.fail(_COMMA)
            if self.peek() != ")":
                raise self.fail("a '(' is never closed")
            self.take()
            return value
        if token[0].isdigit():
            if len(token) > MAX_DIGITS:
                raise self.fail(f"a number has more than {MAX_DIGITS} digits")
            return _Fraction(self.math.number(int(token)), self.one)
        if token[0].isalpha():
            if self.peek() == "(" and token in _FUNCTIONS:
                return self.call(token)
            if self.peek() == "(":
                raise self.fail(
                    f"{token}(...) looks like a function call; only arithmetic, floor, ceiling, Mod, Max and Min are "
                    "allowed"
                )
            return _Fraction(self.math.variable(token), self.one)
        raise self.fail(f"unexpected {token!r}; expected a number, a name or '('")

    def call(self, name: str) -> _Fraction:
        """``name(args)``, its name read: sympy's value, as a placeholder symbol unless it is a number."""
        self.take()  # "("
        self.enter()
        args = [self.expr()]
        while self.peek() == ",":
            self.take()
            args.append(self.expr())
        if self.peek() != ")":
            raise self.fail("a '(' is never closed")
        self.take()
        self.depth -= 1
        function, arity = _FUNCTIONS[name]
        if arity > 0 and len(args) != arity:
            raise self.fail(f"{name} takes {arity} argument{'s' if arity > 1 else ''}, not {len(args)}")
        if len(args) > -arity > 0:
            raise self.fail(f"{name} takes 1 to {-arity} arguments, not {len(args)}")
        if sum(len(a.num.terms) + len(a.den.terms) - 1 for a in args) > MAX_SIZE_TERMS:
            raise self.fail(f"{name}(...): its arguments hold more than {MAX_SIZE_TERMS} terms in all")
        if len(self.calls) >= MAX_CALLS:
            raise self.fail(f"more than {MAX_CALLS:,} calls of floor, ceiling, Mod, Max and Min")
        value = function(*(self.result(a).xreplace(self.calls) for a in args))
        if value.is_Rational:
            return _Fraction(self.math.number(Fraction(int(value.p), int(value.q))), self.one)
        name = f" {len(self.calls)}"  # no text can write a name with a space
        self.calls[symbol(name)] = value
        return _Fraction(self.math.variable(name), self.one)

    def result(self, value: _Fraction) -> sympy.Expr:
        divisor = value.den.constant()
        if divisor is not None:
            return to_expr(self.math.div(value.num, value.den))
        return sympy.Mul(to_expr(value.num), sympy.Pow(to_expr(value.den), -1))


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
        raise ComplexaError(f"{show(text)}: a size expression must be a string")
    if len(text) > MAX_LENGTH:
        raise ComplexaError(f"{show(text)}: a size expression is limited to {MAX_LENGTH:,} characters")
    if _NAME.fullmatch(text):  # a bare name, the commonest size: the symbol the grammar would give, directly
        return symbol(text)
    tokens = _tokenize(text)
    if not tokens:
        raise ComplexaError(f"{show(text)}: an empty string is not a size expression")
    parser = _Parser(text, tokens)
    value = parser.expr()
    if parser.peek() is not None:
        token = parser.peek()
        before = parser.tokens[parser.pos - 1]
        if token and before.isdigit() and re.fullmatch(r"[eE][0-9]+", token):  # 1e400: a float's exponent
            hint = f"; a size is an integer: write {before}*10^{token[1:]}, not {before}{token}"
        else:
            hint = "; write 2*h, not 2h" if token and (token[0].isalnum() or token == "(") else ""
        if token == ",":
            raise parser.fail(_COMMA)
        raise parser.fail(f"unexpected {token!r} after a complete expression{hint}")
    result = parser.result(value)
    return result.xreplace(parser.calls) if parser.calls else result
