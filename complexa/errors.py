"""complexa's one root exception."""

from __future__ import annotations

__all__ = ["ComplexaError"]


class ComplexaError(ValueError):
    """Raised for every mistake a user can make: bad sizes, options, models or values.

    Its message names the offending value and the rule it broke. It is a `ValueError`, so code that already catches
    `ValueError` keeps working.
    """
