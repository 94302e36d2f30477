"""Every check of user input, in one place, each raising `ComplexaError` that names the value and the rule."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping

import sympy

from complexa._parse import parse, symbol
from complexa.errors import ComplexaError

__all__ = ["as_expr", "as_size", "as_choice", "as_flag", "as_values", "normalize_symbols"]


def normalize_symbols(expr: sympy.Expr) -> sympy.Expr:
    """`expr` with every symbol replaced by complexa's symbol of the same name (a positive integer)."""
    mapping = {s: symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol) and s != symbol(s.name)}
    return expr.xreplace(mapping) if mapping else expr


def as_expr(value: object, where: str) -> sympy.Expr:
    """An int, a string in complexa's grammar or a sympy expression, as a sympy expression."""
    if isinstance(value, bool):
        raise ComplexaError(f"{where} = {value!r}: a bool is not a size; use a positive integer or a symbol")
    if isinstance(value, numbers.Integral):
        return sympy.Integer(int(value))
    if isinstance(value, str):
        try:
            return parse(value)
        except ComplexaError as error:
            raise ComplexaError(f"{where}: {error}") from None
    if isinstance(value, sympy.Expr):
        return normalize_symbols(value)
    if isinstance(value, (float, numbers.Number, sympy.Basic)):
        raise ComplexaError(
            f"{where} = {value!r}: must be a positive integer or a symbol, not a {type(value).__name__}"
        )
    raise ComplexaError(
        f"{where} = {value!r}: must be a positive integer, a string such as 'h' or '2*h', or a sympy expression, "
        f"not a {type(value).__name__}"
    )


def as_size(value: object, where: str) -> sympy.Expr:
    """A positive integer or a polynomial in positive-integer symbols with rational coefficients."""
    expr = as_expr(value, where)
    if expr.is_number:
        if not expr.is_Integer or expr <= 0:
            raise ComplexaError(f"{where} = {expr}: must be a positive integer or a symbol")
        return expr
    symbols = sorted(expr.free_symbols, key=str)
    if not expr.is_polynomial(*symbols) or any(not c.is_Rational for c in sympy.Poly(expr, *symbols).coeffs()):
        raise ComplexaError(f"{where} = {expr}: must be a polynomial in symbols with rational coefficients")
    if expr.is_positive is False:
        raise ComplexaError(f"{where} = {expr}: is never positive; a size must be a positive integer or a symbol")
    return expr


def as_choice(value: object, options: Iterable[str], where: str) -> str:
    """`value` if it is one of `options`."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ComplexaError(f"{where} = {value!r}: must be one of {', '.join(map(repr, options))}")
    return value


def as_flag(value: object, where: str) -> bool:
    """`value` if it is a bool."""
    if not isinstance(value, bool):
        raise ComplexaError(f"{where} = {value!r}: must be True or False")
    return value


def as_values(
    values: Mapping[str, object],
    allowed: Iterable[sympy.Basic],
    where: str,
    convert: Callable[[object, str], sympy.Expr] = as_size,
) -> dict[sympy.Symbol, sympy.Expr]:
    """Substitutions by symbol name, each for a symbol in `allowed`, each value converted by `convert`."""
    by_name = {s.name: s for s in allowed if isinstance(s, sympy.Symbol)}
    mapping: dict[sympy.Symbol, sympy.Expr] = {}
    for name, value in values.items():
        if name not in by_name:
            have = ", ".join(sorted(by_name)) or "none"
            raise ComplexaError(
                f"{where}: {name}={value!r} names a symbol the expression does not have (it has: {have})"
            )
        mapping[by_name[name]] = convert(value, f"{where}: {name}")
    return mapping
