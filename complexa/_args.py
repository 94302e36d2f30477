"""argparse pieces the subcommands share: choices whose error message does not change between Python versions."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

__all__ = ["choice", "option"]


def choice(options: Sequence[str]) -> Callable[[str], str]:
    """An argparse type for one of `options`, with a message that does not change between Python versions."""

    def one_of(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(f"{text!r} must be one of {', '.join(options)}")
        return text

    return one_of


def option(parser: argparse.ArgumentParser, flag: str, options: Sequence[str], default: str, help: str = "") -> None:
    """Add `flag`, one of `options`, `default` when absent."""
    parser.add_argument(
        flag,
        type=choice(options),
        default=default,
        metavar="{" + ",".join(options) + "}",
        help=help or f"(default {default})",
    )
