"""The ``complexa scale`` command, wired into `complexa.cli` by `add_scale_parser`; it runs `run_scale`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from complexa._args import choice, integer, network, option
from complexa._choices import ACTIVATIONS, BACKENDS, LOSSES, UNITS
from complexa._limits import show
from complexa.errors import ComplexaError

if TYPE_CHECKING:
    from complexa.network import Network

__all__ = ["add_scale_parser", "run_scale"]


def add_scale_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``scale`` command to `subparsers` (from ``ArgumentParser.add_subparsers``); it runs `run_scale`.

    **Returns:** the new parser, whose defaults set ``run=run_scale``.
    """
    p: argparse.ArgumentParser = subparsers.add_parser(
        "scale",
        help="measured counts and times over a sweep, fitted against the derived big-O",
        description="Train the reference network over a sweep of one size, measure its counts and the wall time "
        "of its training steps, fit their log-log exponents with intervals, and set each beside the derived big-O. "
        "Without SIZE: a uniform network of width 64, depth 4, batch 8. Exit status 1 if a measured count differs "
        "from the derived one.",
    )
    p.add_argument(
        "sizes", nargs="*", metavar="SIZE", help="layer sizes n_0 .. n_L of the base network; one may be a symbol"
    )
    p.add_argument(
        "--layers",
        metavar="SPEC",
        help="the base network as layers of complexa.nn instead of SIZE, such as 'Linear(16, h) ReLU Linear(h, 4)' "
        "(docs/cli.md); one size may be a symbol",
    )
    p.add_argument("--depth", metavar="L", help="repeat the one SIZE over L + 1 layers")
    p.add_argument(
        "--gpt",
        metavar="ARGS",
        help="the base network as nanoGPT's GPT-2: 'VOCAB, SEQ, D_MODEL, N_LAYERS, N_HEADS' (docs/transformers.md); "
        "one may be a symbol, such as T for a sweep of the sequence length",
    )
    p.add_argument("--batch", default=None, metavar="B", help="samples per step (default 8 without SIZE, else 1)")
    p.add_argument(
        "--activation",
        type=choice(ACTIVATIONS),
        metavar="{" + ",".join(ACTIVATIONS) + "}",
        help="in every layer of SIZE (default sigmoid)",
    )
    p.add_argument(
        "--loss",
        type=choice(LOSSES),
        metavar="{" + ",".join(LOSSES) + "}",
        help="(default mse, and cross_entropy for --gpt; bce needs sigmoid)",
    )
    p.add_argument(
        "--optimizer",
        metavar="OPT",
        help="sgd (default: plain SGD), SGD(lr=0.1, momentum=0.9) or Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)",
    )
    p.add_argument("--no-bias", action="store_true", help="layers without bias vectors")
    p.add_argument(
        "--vary",
        metavar="WHAT",
        help="width, depth, batch, iterations, or the base network's symbol (default: that symbol, else width)",
    )
    p.add_argument(
        "--sizes",
        dest="sweep",
        nargs="+",
        metavar="N",
        help="the sweep: increasing ints, or LO..HI doubling (default 4..256)",
    )
    p.add_argument("--repeats", default="5", metavar="R", help="runs per size (default 5)")
    p.add_argument("--iterations", default="1", metavar="T", help="training steps per run (default 1)")
    option(p, "--backend", BACKENDS, "cpu")
    p.add_argument("--plot", metavar="FILE", help="write the figure as FILE.png and FILE.svg")
    option(p, "--format", ("text", "markdown", "json"), "text")
    option(
        p,
        "--units",
        UNITS,
        "auto",
        "operations in full (exact) or in SI units (si: 11.83 M); auto: si in text where they reach 10^6 (default "
        "auto; fitted constants and JSON are always exact)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_scale)
    return p


def _int_arg(text: str, flag: str) -> int:
    try:
        return integer(1)(text)
    except argparse.ArgumentTypeError:
        raise ComplexaError(f"{flag} {show(text)}: must be a positive integer") from None


def _cli_network(args: argparse.Namespace) -> Network:
    from complexa.scaling import DEFAULT_NETWORK  # numpy and numba only now, not for --help

    if not args.sizes and args.layers is None and args.gpt is None:
        if args.depth is not None:
            raise ComplexaError(f"--depth {args.depth} without SIZE: give the width, such as 64 --depth 4")
        args = argparse.Namespace(**{**vars(args), "sizes": [DEFAULT_NETWORK.width], "depth": DEFAULT_NETWORK.depth})
        return network(args, args.batch or 8)
    return network(args, args.batch or 1)


def run_scale(args: argparse.Namespace) -> int:
    """Run ``complexa scale`` with parsed `args`: print the result, write the figure if asked.

    **Returns:** 0, or 1 when a measured count differs from the derived one. **Raises:** `ComplexaError` for a bad
    argument (the command turns it into one line and exit status 2).
    """
    sweep: object = None
    if args.sweep is not None:
        sweep = (
            args.sweep[0]
            if len(args.sweep) == 1 and ".." in args.sweep[0]
            else [_int_arg(text, "--sizes") for text in args.sweep]
        )
    repeats, iterations = _int_arg(args.repeats, "--repeats"), _int_arg(args.iterations, "--iterations")
    from complexa.scaling import scale  # numpy and numba only now, after the arguments are checked

    network = _cli_network(args)
    if args.plot is not None:
        from complexa._plot import plot_paths

        plot_paths(args.plot)  # a missing matplotlib or a bad path, before the sweep rather than after it
    result = scale(
        network,
        vary=args.vary,
        sizes=sweep,  # type: ignore[arg-type]
        repeats=repeats,
        backend=args.backend,
        iterations=iterations,
        progress=False if args.quiet else None,
    )
    if args.format == "json":
        output = json.dumps(result.as_json(), indent=2)
    else:
        from complexa._format import terminal_width

        output = (
            result.markdown(units=args.units)
            if args.format == "markdown"
            else result.text(units=args.units, width=terminal_width())
        )
    from complexa._cli import _emit

    _emit(output)
    if args.plot is not None:
        from complexa._plot import save

        written = save(result.plot(), args.plot)
        print(f"wrote {', '.join(map(str, written))}", file=sys.stderr)
    return 0 if result.agrees else 1
