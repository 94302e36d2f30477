"""The ``complexa`` command's parser and subcommands; `complexa.cli.main` runs them inside its handlers.

The symbolic commands never import numba: ``measure`` and ``audit`` import the reference network when they run.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from complexa._args import choice, integer, network, option
from complexa._choices import ACTIVATIONS, AUDITS, BACKENDS, CONVENTIONS, DTYPES, FORMATS, LOSSES, MODELS, UNITS
from complexa._limits import show
from complexa._scale_cli import add_scale_parser
from complexa._torch_cli import add_torch_parser
from complexa.errors import ComplexaError

if TYPE_CHECKING:
    import sympy

    from complexa.derivation import Derivation
    from complexa.network import Network

__all__ = ["run", "FORMATS"]


class _UsageError(Exception):
    """A bad command line; `main` prints it as one line and exits with status 2."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(f"{prog}: error: {message}")


class _Parser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are one line, with no usage block, raised rather than exited."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self.prog, message)


def _add_network(parser: argparse.ArgumentParser, *, symbols: bool) -> None:
    kind = "a positive integer or an expression such as h or 2*h" if symbols else "a positive integer"
    parser.add_argument(
        "sizes",
        nargs="*",
        metavar="SIZE",
        help=f"layer sizes n_0 .. n_L, input to output, of a dense network; each {kind}; or --layers",
    )
    parser.add_argument(
        "--layers",
        metavar="SPEC",
        help="the network as layers of complexa.nn instead of SIZE, named and parametrised as in torch.nn, such as "
        "'Linear(784, h) ReLU Residual(Linear(h, h) GELU) Linear(h, 10)' (docs/cli.md)",
    )
    parser.add_argument(
        "--depth",
        metavar="L",
        help="repeat the one SIZE over L + 1 layers (L weight matrices)" + ("; L may be a symbol" if symbols else ""),
    )
    parser.add_argument(
        "--gpt",
        metavar="ARGS",
        help="the network as GPT-2 written by nanoGPT instead of SIZE: 'VOCAB, SEQ, D_MODEL, N_LAYERS, N_HEADS' and "
        "any of d_ff=, bias=, tied=, causal=, such as '50257, 1024, 768, 12, 12' (docs/transformers.md)",
    )
    parser.add_argument(
        "--config",
        metavar="NAME|FILE",
        help="the network a Hugging Face config.json describes instead of SIZE (model types gpt2, llama, mistral, "
        "qwen2, mixtral), or one complexa ships: gpt2, llama-2-7b, llama-3-8b, mistral-7b, qwen2-7b, mixtral-8x7b "
        "(docs/llms.md)",
    )
    parser.add_argument(
        "--seq",
        metavar="T",
        help="tokens per sample with --config (default its max_position_embeddings)"
        + ("; may be a symbol" if symbols else ""),
    )
    parser.add_argument("--batch", default="1", metavar="B", help=f"samples per step, {kind} (default 1)")
    parser.add_argument(
        "--activation",
        type=choice(ACTIVATIONS),
        metavar="{" + ",".join(ACTIVATIONS) + "}",
        help="in every layer of SIZE (default sigmoid)",
    )
    parser.add_argument(
        "--loss",
        type=choice(LOSSES),
        metavar="{" + ",".join(LOSSES) + "}",
        help="(default mse, and cross_entropy for --gpt; bce needs sigmoid outputs; cross_entropy is softmax and the "
        "negative log-likelihood)",
    )
    parser.add_argument(
        "--optimizer",
        metavar="OPT",
        help="sgd (default: plain SGD), SGD(lr=0.1, momentum=0.9) or Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)",
    )
    parser.add_argument("--no-bias", action="store_true", help="layers of SIZE without bias vectors")


def _add_symbolic(parser: argparse.ArgumentParser) -> None:
    option(parser, "--model", MODELS, "exact", "cost model (default exact)")
    parser.add_argument(
        "--iterations", default="1", metavar="T", help="training steps, a positive integer or a symbol (default 1)"
    )
    parser.add_argument(
        "--assume",
        nargs="*",
        metavar="NAME=EXPR",
        help="substitutions for the big-O, such as L=n T=n; default: the essay's (depth and iterations equal to the "
        "width) where they apply; --assume alone: none",
    )


def _add_units(parser: argparse.ArgumentParser) -> None:
    option(
        parser,
        "--units",
        UNITS,
        "auto",
        "counts in full (exact), or in decimal SI units to four significant figures (si: 292.7 G); auto: si in a "
        "text table whose numbers reach 10^6, else exact (default auto; JSON is always exact)",
    )


def _parser() -> _Parser:
    from complexa import __version__

    parser = _Parser(
        prog="complexa",
        description="Exact operation counts of feed-forward networks, their big-O, and the essay they check.",
    )
    parser.add_argument("--version", action="version", version=f"complexa {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "derive",
        help="counts per phase and op, the six quantities, and their big-O",
        description="Derive a network's operation counts per phase and op, the essay's six quantities, and their "
        "big-O. Sizes may be symbols: complexa derive 784 h h 10; a stack of layers has a table of its layers too: "
        "complexa derive --layers 'Linear(784, h) ReLU Linear(h, 10)' --loss cross_entropy.",
    )
    _add_network(p, symbols=True)
    _add_symbolic(p)
    option(p, "--format", FORMATS, "text")
    p.add_argument(
        "--flops",
        type=choice(CONVENTIONS),
        metavar="{" + ",".join(CONVENTIONS) + "}",
        help="also the FLOPs in a tool's convention (docs/flops.md)",
    )
    p.add_argument("--memory", action="store_true", help="also the memory of a training step, with its big-O")
    p.add_argument(
        "--dtype",
        type=choice(tuple(DTYPES)),
        metavar="{" + ",".join(DTYPES) + "}",
        help="bytes per element of the memory table (default float64); implies --memory; with --phase, of the KV "
        "cache (default float16)",
    )
    # issue 22: a language model's inference (docs/inference.md)
    option(p, "--phase", ("training", "prefill", "decode", "generate"), "training", "what to count (default training)")
    p.add_argument("--prompt", metavar="P", help="prompt tokens a sequence, for --phase prefill or generate")
    p.add_argument("--cache", metavar="C", help="tokens cached before the decode step, for --phase decode")
    p.add_argument("--new", metavar="G", help="tokens generated after the prompt, for --phase generate")
    _add_units(p)
    p.add_argument(
        "--levels",
        type=integer(1),
        metavar="N",
        help="a stack's layer table lists its modules N levels deep (1: the top-level layers), a row holding the "
        "totals of the modules inside it, as torchinfo's depth (default: every level)",
    )
    p.add_argument(
        "--expand",
        action="store_true",
        help="a stack's layer table lists every copy of a repeated block, rather than one row for them all that "
        "holds their totals (transformer.h.{0..47}, Block x48)",
    )
    p.set_defaults(run=_derive)

    p = commands.add_parser(
        "measure",
        help="train the reference network and compare its counts with the derived ones",
        description="Train the reference network, which counts every operation it performs, and print the measured "
        "counts beside the derived ones. Exit status 1 if any differs.",
    )
    _add_network(p, symbols=False)
    option(p, "--backend", BACKENDS, "cpu")
    p.add_argument("--seed", type=integer(0), default=0, metavar="S", help="seeds the data (default 0)")
    p.add_argument("--iterations", type=integer(1), default=1, metavar="T", help="training steps (default 1)")
    option(p, "--format", FORMATS, "text")
    _add_units(p)
    p.set_defaults(run=_measure)

    p = commands.add_parser(
        "audit",
        help="the essay's claims, or published LLM FLOP formulas, checked",
        description="Check every result of the essay against the exact model (batch 1 and batch n) and the "
        "reference network (measured for n = 2..16), with a verdict per claim; or, with NAME, the published FLOP "
        "formulas of one source against complexa's GPT or Llama kinds (docs/audit-llm.md).",
    )
    p.add_argument(
        "name",
        nargs="?",
        default="essay",
        type=choice(AUDITS),
        metavar="NAME",
        help=f"what to audit: {', '.join(AUDITS)} (default essay)",
    )
    option(p, "--format", FORMATS, "text")
    p.add_argument("--max-n", type=integer(3, 64), metavar="N", help="measure n = 2..N (default 16; the essay's only)")
    p.add_argument(
        "--backend",
        type=choice(BACKENDS),
        metavar="{" + ",".join(BACKENDS) + "}",
        help="(default cpu; the essay's only)",
    )
    p.set_defaults(run=_audit)

    p = commands.add_parser(
        "latex",
        help="a LaTeX document of the derivation",
        description="Print a complete LaTeX document of the derivation: counts, quantities and every step; with "
        "--fragment, the bare aligned block of steps.",
    )
    _add_network(p, symbols=True)
    _add_symbolic(p)
    p.add_argument("--fragment", action="store_true", help="only the aligned block, for pasting into a document")
    p.set_defaults(run=_latex)

    add_scale_parser(commands)
    add_torch_parser(commands)  # issue 13: from_torch on the command line
    return parser


def _network(args: argparse.Namespace) -> Network:
    return network(args, args.batch)


def _derivation(args: argparse.Namespace) -> tuple[Derivation, dict[str, sympy.Expr]]:
    # sympy only now: --help and a mistyped option answer without it.
    from complexa.derivation import derive

    d = derive(_network(args), model=args.model, iterations=args.iterations)
    if args.assume is None:
        return d, dict(d.assumptions)
    return d, _assumed(args, d.free_symbols)


def _assumed(args: argparse.Namespace, symbols: frozenset[sympy.Symbol]) -> dict[str, sympy.Expr]:
    """--assume's substitutions, each NAME a symbol of `symbols`; none without --assume."""
    from complexa._validate import as_size

    if args.assume is None:
        return {}
    have = {s.name for s in symbols}
    assume: dict[str, sympy.Expr] = {}
    for item in args.assume:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name or not value.strip():
            raise ComplexaError(f"--assume {show(item)}: must be NAME=EXPR, such as L=n")
        if name in assume:
            raise ComplexaError(
                f"--assume {show(item)}: {name} is already assumed ({name}={assume[name]}); give each once"
            )
        if name not in have:
            names = ", ".join(sorted(have)) or "none"
            raise ComplexaError(f"--assume {show(item)}: {name} is not a symbol of this derivation (it has: {names})")
        assume[name] = as_size(value.strip(), f"--assume {show(item)}")
    return assume


def _derive(args: argparse.Namespace) -> int:
    from complexa import _format_derive, _format_json

    if args.phase != "training":  # issue 22: prefill, decode, generate
        from complexa import _format_inference

        inference = _format_inference.inference_of(args, _network(args))
        assume = _assumed(args, inference.free_symbols)
        _emit(_format_inference.render(inference, args.format, assume, args.dtype or "float16", args.units))
        return 0
    sizes = [flag for flag in ("prompt", "cache", "new") if getattr(args, flag) is not None]
    if sizes:
        raise ComplexaError(f"--{sizes[0]} is the inference phases'; give --phase prefill, decode or generate")
    d, assume = _derivation(args)
    if (args.levels is not None or args.expand) and not d.network.is_stack:
        given = " and ".join(f for f, v in (("--levels", args.levels), ("--expand", args.expand)) if v)
        raise ComplexaError(
            f"{given}: shape a stack's layer table, and a network of SIZE has none; give the network as --layers or "
            "--gpt, or drop them"
        )
    resources = None
    memory = args.memory or args.dtype is not None  # a dtype means nothing without the memory table
    if args.flops or memory:
        resources = _format_derive.Resources.of(
            d.network, convention=args.flops, dtype=args.dtype or "float64", memory=memory
        )
    render: dict[str, Callable[..., object]] = {
        "text": _format_derive.derive_text,
        "markdown": _format_derive.derive_markdown,
        "latex": _format_derive.derive_latex,
        "json": _format_json.derive_json,
    }
    if args.format == "json":
        _emit(render["json"](d, assume, resources))
        return 0
    options: dict[str, object] = {"units": args.units, "expand": args.expand, "levels": args.levels}
    if args.format == "text":
        from complexa._format import terminal_width

        options["width"] = terminal_width()
    _emit(render[args.format](d, assume, resources, **options))
    return 0


def _latex(args: argparse.Namespace) -> int:
    from complexa import _format_derive

    d, assume = _derivation(args)
    _emit(d.latex() if args.fragment else _format_derive.latex_document(d, assume))
    return 0


def _symbolic_part(network: Network) -> str:
    """What of `network` is not an integer, for an error message."""
    if network.is_stack:
        from complexa.nn._stack import rows_of

        for row in rows_of(network):
            if row.layer.free_symbols and not row.layer.children():
                return f"layer {row.path} = {row.layer!r}"
    elif network.listed:
        for k, size in enumerate(network.sizes):
            if size.free_symbols:
                return f"sizes[{k}] = {size}"
    return f"batch = {network.batch}"


def _measure(args: argparse.Namespace) -> int:
    network = _network(args)
    if not network.is_concrete:
        raise ComplexaError(
            f"{_symbolic_part(network)}: measure trains a real network, so every size and the batch must be an integer"
        )
    from complexa import _format_json, _format_measure
    from complexa.derivation import derive
    from complexa.reference import measure  # numba only now

    measured = measure(network, backend=args.backend, iterations=args.iterations, seed=args.seed)
    derived = derive(network, iterations=args.iterations).evaluate().counts
    render: dict[str, Callable[..., object]] = {
        "text": _format_measure.measure_text,
        "markdown": _format_measure.measure_markdown,
        "latex": _format_measure.measure_latex,
        "json": _format_json.measure_json,
    }
    if args.format == "json":
        _emit(render["json"](measured, derived))
    elif args.format == "text":
        from complexa._format import terminal_width

        _emit(render["text"](measured, derived, units=args.units, width=terminal_width()))
    else:
        _emit(render[args.format](measured, derived, units=args.units))
    return 0 if measured.counts == derived else 1


def _audit(args: argparse.Namespace) -> int:
    from complexa._audit import audit

    given = [f"{flag} {value}" for flag, value in (("--max-n", args.max_n), ("--backend", args.backend)) if value]
    if args.name != "essay" and given:
        raise ComplexaError(
            f"{' and '.join(given)} with {args.name}: the essay's audit measures networks, {args.name}'s compares "
            f"published formulas and measures nothing; drop {' and '.join(f.split()[0] for f in given)}"
        )
    result = audit(args.name, max_n=args.max_n or 16, backend=args.backend or "cpu")
    render: dict[str, Callable[[], object]] = {
        "text": result.__str__,
        "markdown": result.markdown,
        "latex": result.latex,
        "json": result.as_json,
    }
    _emit(render[args.format]())
    return 0


def _emit(output: object) -> None:
    """Write `output` (a JSON document as JSON) and a newline to stdout, now; a failure is an output error."""
    text = json.dumps(output, indent=2) if isinstance(output, dict) else str(output)
    _write(text + "\n")


def _write(text: str) -> None:
    """Write `text` to stdout and flush it; an error (a full disk, a closed stdout) is marked as an output error, for
    `complexa.cli.main`'s status 1."""
    try:
        if sys.stdout is None:  # started with stdout closed
            raise OSError(errno.EBADF, "standard output is closed")
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as error:
        error.complexa_output = True  # type: ignore[attr-defined]  # for complexa.cli.main: an output error
        raise
    except ValueError as error:  # a stdout closed from inside the process
        raise _output_error(str(error)) from None


def _output_error(why: str) -> OSError:
    error = OSError(errno.EBADF, why)
    error.complexa_output = True  # type: ignore[attr-defined]
    return error


def _one_line(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines())


def run(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the subcommand; bad input ends as one line on stderr and status 2 (see `complexa.cli`)."""
    parser = _parser()
    args: argparse.Namespace | None = None
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            raise _UsageError(f"complexa {args.command}", f"unrecognized arguments: {' '.join(extra)}")
        return int(args.run(args))
    except _UsageError as error:
        print(_one_line(str(error)), file=sys.stderr)
        return 2
    except ComplexaError as error:
        prog = f"complexa {args.command}" if args is not None else "complexa"
        print(_one_line(f"{prog}: error: {error}"), file=sys.stderr)
        return 2
    except SystemExit as stop:  # --help and --version
        if not stop.code and sys.stdout is not None:  # (with stdout closed, argparse writes to stderr)
            _write("")  # what argparse printed must reach its reader, or fail as every output does
        return stop.code if isinstance(stop.code, int) else 0
