"""complexa's one root exception."""

from __future__ import annotations

__all__ = ["ComplexaError"]


class ComplexaError(ValueError):
    """Raised for every mistake a user can make: bad sizes, options, models or values.

    Its message names the offending value and the rule it broke. It is a `ValueError`, so code that already catches
    `ValueError` keeps working.
    """

    MAX_MESSAGE = 2000
    """Longest message, in characters: a longer one keeps its beginning (the value) and its end (the rule and the fix),
    so that a refusal of a huge network or expression stays one readable line."""

    def __init__(self, message: object = "", *args: object) -> None:
        text = str(message)
        if len(text) > self.MAX_MESSAGE:
            half = self.MAX_MESSAGE // 2 - 30
            text = f"{text[:half]} ... ({len(text) - 2 * half:,} characters cut) ... {text[-half:]}"
        super().__init__(text, *args)
