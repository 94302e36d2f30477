"""argparse pieces the subcommands share: choices whose error message does not change between Python versions."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from complexa._limits import MAX_SIZE_DIGITS, show
from complexa.errors import ComplexaError

if TYPE_CHECKING:
    from complexa.network import Network

__all__ = ["choice", "integer", "network", "option"]


def choice(options: Sequence[str]) -> Callable[[str], str]:
    """An argparse type for one of `options`, with a message that does not change between Python versions."""

    def one_of(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(f"{show(text)} must be one of {', '.join(options)}")
        return text

    return one_of


def integer(low: int = 1, high: int | None = None) -> Callable[[str], int]:
    """An argparse type for an int from `low` to `high`, written in ASCII digits (``int`` would read "٣" as 3)."""
    rule = (
        f"an integer from {low} to {high}"
        if high is not None
        else "a positive integer"
        if low == 1
        else f"an integer of at least {low}"
        if low
        else "a non-negative integer"
    )

    def checked(text: str) -> int:
        digits = text.strip()
        value = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= MAX_SIZE_DIGITS else None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{show(text)} must be {rule}")
        return value

    return checked


def option(parser: argparse.ArgumentParser, flag: str, options: Sequence[str], default: str, help: str = "") -> None:
    """Add `flag`, one of `options`, `default` when absent."""
    parser.add_argument(
        flag,
        type=choice(options),
        default=default,
        metavar="{" + ",".join(options) + "}",
        help=help or f"(default {default})",
    )


def network(args: argparse.Namespace, batch: object) -> Network:
    """The network that ``SIZE... [--depth L] [--no-bias] [--activation A]`` or ``--layers SPEC`` describe, with
    `batch`, ``--loss`` and ``--optimizer``; a command without ``--layers`` or ``--optimizer`` has neither."""
    layers: str | None = getattr(args, "layers", None)
    gpt: str | None = getattr(args, "gpt", None)
    spelled: str | None = getattr(args, "optimizer", None)
    activation: str | None = args.activation
    config: str | None = getattr(args, "config", None)
    seq: str | None = getattr(args, "seq", None)
    if config is not None:
        return _config_network(args, config, seq, batch, spelled)
    if seq is not None:
        raise ComplexaError(f"--seq {show(seq)} without --config: a stack says its tokens in its layers")
    if gpt is not None:
        given = [
            (bool(args.sizes), f"SIZE {show(' '.join(args.sizes))}"),
            (layers is not None, f"--layers {show(layers)}"),
            (args.depth is not None, f"--depth {show(args.depth)}"),
            (activation is not None, f"--activation {activation}"),
            (args.no_bias, "--no-bias"),
            (args.loss not in (None, "cross_entropy"), f"--loss {args.loss}"),
        ]
        for clash, what in given:
            if clash:
                raise ComplexaError(
                    f"{what} with --gpt: a GPT is nanoGPT's network, trained with cross-entropy; give its options in "
                    "--gpt, such as '50257, 1024, 768, 12, 12, bias=false'"
                )
        from complexa._stack_parse import parse_gpt, parse_optimizer

        return parse_gpt(gpt, batch=batch, optimizer="sgd" if spelled is None else parse_optimizer(spelled))
    if layers is not None:
        if args.sizes:
            sizes = " ".join(args.sizes)
            raise ComplexaError(
                f"SIZE {show(sizes)} with --layers: give the network one way, as layer sizes or as --layers, not both"
            )
        given = [
            (args.depth is not None, f"--depth {show(args.depth)}"),
            (activation is not None, f"--activation {activation}"),
            (args.no_bias, "--no-bias"),
        ]
        for clash, what in given:
            if clash:
                raise ComplexaError(
                    f"{what} with --layers: applies to a network given by its sizes; a stack says it in its layers, "
                    "such as Linear(784, h, bias=false) ReLU"
                )
    elif not args.sizes:
        raise ComplexaError("the following arguments are required: SIZE (or --layers, or --gpt)")
    from complexa._stack_parse import parse_optimizer, stack_network  # sympy only now, not for --help
    from complexa.network import Network

    optimizer = "sgd" if spelled is None else parse_optimizer(spelled)
    if layers is not None:
        return stack_network(layers, batch=batch, loss=args.loss or "mse", optimizer=optimizer)
    options: dict[str, object] = {
        "bias": not args.no_bias,
        "activation": activation or "sigmoid",
        "loss": args.loss or "mse",
        "optimizer": optimizer,
    }
    if args.depth is not None:
        if len(args.sizes) != 1:
            raise ComplexaError(
                f"--depth {args.depth} with {len(args.sizes)} sizes: give one size, the width, with --depth"
            )
        return Network.uniform(args.sizes[0], args.depth, batch=batch, **options)  # type: ignore[arg-type]
    return Network(args.sizes, batch=batch, **options)  # type: ignore[arg-type]


def _config_network(
    args: argparse.Namespace, config: str, seq: str | None, batch: object, spelled: str | None
) -> Network:
    """``--config NAME|FILE [--seq T]``: the network of a Hugging Face config (`Network.from_config`)."""
    given = [
        (bool(args.sizes), f"SIZE {show(' '.join(args.sizes))}"),
        (getattr(args, "layers", None) is not None, f"--layers {show(getattr(args, 'layers', None))}"),
        (getattr(args, "gpt", None) is not None, f"--gpt {show(getattr(args, 'gpt', None))}"),
        (args.depth is not None, f"--depth {show(args.depth)}"),
        (args.activation is not None, f"--activation {args.activation}"),
        (args.no_bias, "--no-bias"),
        (args.loss not in (None, "cross_entropy"), f"--loss {args.loss}"),
    ]
    for clash, what in given:
        if clash:
            raise ComplexaError(
                f"{what} with --config: the config says the whole network, trained with cross-entropy; give "
                "--config alone, with --seq, --batch and --optimizer"
            )
    from complexa._stack_parse import parse_optimizer
    from complexa.network import Network

    optimizer = "sgd" if spelled is None else parse_optimizer(spelled)
    return Network.from_config(config, seq=seq, batch=batch, optimizer=optimizer)
