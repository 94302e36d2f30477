"""Every check of user input, in one place, each raising `ComplexaError` that names the value and the rule."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping

import sympy

from complexa._limits import MAX_DIGITS, MAX_SIZE_DEGREE, MAX_SIZE_DIGITS, MAX_SIZE_TERMS, check_tree, digits, show
from complexa._parse import parse
from complexa._poly import Expander, to_expr
from complexa.errors import ComplexaError

__all__ = ["as_expr", "as_size", "as_choice", "as_flag", "as_values"]

_SIZE_BOUND = 10**MAX_SIZE_DIGITS
"""The least integer with more digits than a size may have."""


def as_expr(value: object, where: str) -> sympy.Expr:
    """An int, a string in complexa's grammar or a sympy expression, as an expanded polynomial (a sympy expression),
    within the grammar's limits."""
    if isinstance(value, bool):
        raise ComplexaError(f"{where} = {value}: a bool is not a size; use a positive integer or a symbol")
    if isinstance(value, numbers.Integral):
        if digits(int(value)) > MAX_DIGITS:
            raise ComplexaError(f"{where} = {show(value)}: a number has more than {MAX_DIGITS} digits")
        return sympy.Integer(int(value))
    if isinstance(value, str):
        try:
            return parse(value)
        except ComplexaError as error:
            raise ComplexaError(f"{where}: {error}") from None
    if isinstance(value, sympy.Expr) and not isinstance(value, sympy.Float):
        check_tree(value, where)
        expander = Expander(value.free_symbols, lambda why: ComplexaError(f"{where} = {show(value)}: {why}"))
        return to_expr(expander.expand(value))
    if isinstance(value, (float, numbers.Number, sympy.Basic)):
        raise ComplexaError(
            f"{where} = {show(value)}: must be a positive integer or a symbol, not a {type(value).__name__}"
        )
    raise ComplexaError(
        f"{where} = {show(value)}: must be a positive integer, a string such as 'h' or '2*h', or a sympy expression, "
        f"not a {type(value).__name__}"
    )


def as_size(value: object, where: str) -> sympy.Expr:
    """A positive integer, or a polynomial in positive-integer symbols with rational coefficients that is not
    negative everywhere, within a size's limits (`complexa._limits`)."""
    if type(value) is int or isinstance(value, sympy.Integer):  # the common case, quickly
        number = int(value)
        if 0 < number < _SIZE_BOUND:
            return sympy.Integer(number)
    expr = as_expr(value, where)
    if expr.is_number:
        if not expr.is_Integer or expr <= 0:
            raise ComplexaError(f"{where} = {show(expr)}: must be a positive integer or a symbol")
        if digits(int(expr)) > MAX_SIZE_DIGITS:
            raise ComplexaError(f"{where} = {show(expr)}: a size has at most {MAX_SIZE_DIGITS} digits")
        return expr
    if not expr.is_polynomial():
        raise ComplexaError(f"{where} = {show(expr)}: must be a polynomial in symbols with rational coefficients")
    terms = sympy.Add.make_args(expr)
    if len(terms) > MAX_SIZE_TERMS:
        raise ComplexaError(
            f"{where} = {show(expr)}: a size expands to at most {MAX_SIZE_TERMS} terms, not {len(terms)}"
        )
    for term in terms:
        coeff, monomial = term.as_coeff_Mul()
        degree = sum(int(e) for e in monomial.as_powers_dict().values()) if monomial != 1 else 0
        if degree > MAX_SIZE_DEGREE:
            raise ComplexaError(f"{where} = {show(expr)}: a size has a degree of at most {MAX_SIZE_DEGREE}")
        if max(digits(int(coeff.p)), digits(int(coeff.q))) > MAX_SIZE_DIGITS:
            raise ComplexaError(f"{where} = {show(expr)}: a size's numbers have at most {MAX_SIZE_DIGITS} digits")
    if expr.is_positive is False:
        raise ComplexaError(f"{where} = {show(expr)}: is never positive; a size must be a positive integer or a symbol")
    return expr


def as_choice(value: object, options: Iterable[str], where: str) -> str:
    """`value` if it is one of `options`."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ComplexaError(f"{where} = {show(value)}: must be one of {', '.join(map(repr, options))}")
    return value


def as_flag(value: object, where: str) -> bool:
    """`value` if it is a bool."""
    if not isinstance(value, bool):
        raise ComplexaError(f"{where} = {show(value)}: must be True or False")
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
                f"{where}: {name}={show(value)} names a symbol the expression does not have (it has: {have})"
            )
        mapping[by_name[name]] = convert(value, f"{where}: {name}")
    return mapping
