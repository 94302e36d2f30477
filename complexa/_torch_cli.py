"""The ``complexa torch`` command, wired into `complexa.cli` by `add_torch_parser`: a module from a Python file's
factory, traced by `complexa.from_torch`, printed as a table of its modules in every format."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from complexa._choices import FORMATS
from complexa._limits import show
from complexa.errors import ComplexaError

if TYPE_CHECKING:
    from complexa._trace import TracedDerivation

__all__ = ["add_torch_parser", "run_torch", "load_factory", "module_table"]

DTYPE_NAMES = ("float32", "float64", "long", "int")


def add_torch_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``torch`` command to `subparsers`; it runs `run_torch`."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "torch",
        help="trace your own PyTorch module and count it, per module, forward and backward",
        description="Trace the torch.nn.Module that FILE.py:FACTORY returns (FACTORY is called with no arguments) "
        "with symbolic input sizes, and print its exact counts per module, forward and backward, with PyTorch's "
        "FLOPs beside them (docs/torch.md). Needs PyTorch.",
    )
    p.add_argument(
        "factory", metavar="FILE.py:FACTORY", help="a Python file and the function in it that builds the module"
    )
    p.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="SHAPE",
        help="one input's shape, entries ints or names, such as B,3,H,W; once per input",
    )
    p.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        default="float32",
        help="the inputs' dtype (default float32; long for token ids)",
    )
    p.add_argument("--no-training", action="store_true", help="the forward pass only")
    p.add_argument("--strict", action="store_true", help="fail on an operator without a counting rule")
    p.add_argument("--format", choices=FORMATS, default="text", help="(default text)")
    p.set_defaults(run=run_torch)
    return p


def _factory_path(spec: str) -> tuple[Path, str]:
    """The file and the function name of ``FILE.py:FACTORY``, checked without running anything (nor importing torch)."""
    path_text, sep, name = spec.rpartition(":")
    if not sep or not path_text or not name.isidentifier() or name.startswith("__"):
        raise ComplexaError(f"{show(spec)}: give FILE.py:FACTORY, such as model.py:build")
    path = Path(path_text)
    if not path.is_file():
        raise ComplexaError(f"{show(path_text)}: no such file")
    return path, name


def load_factory(spec: str) -> Any:
    """The module that ``FILE.py:FACTORY`` builds. The file is run as Python: it is the user's own code."""
    path, name = _factory_path(spec)
    path_text = str(path)
    loaded = importlib.util.spec_from_file_location(f"complexa_user_{path.stem}", path)
    if loaded is None or loaded.loader is None:
        raise ComplexaError(f"{show(path_text)}: not a Python file")
    user = importlib.util.module_from_spec(loaded)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        loaded.loader.exec_module(user)
    except (Exception, SystemExit) as error:
        raise _user_error(f"running {path_text}", error, path) from None
    finally:
        sys.path.pop(0)
    factory = vars(user).get(name)  # what the file defines, not an attribute every module has
    if not callable(factory):
        raise ComplexaError(f"{show(spec)}: {path_text} has no function {name!r}")
    try:
        return factory()
    except (Exception, SystemExit) as error:
        raise _user_error(f"{name}() in {path_text}", error, path) from None


def _user_error(what: str, error: BaseException, path: Path) -> ComplexaError:
    """One line for an error in the user's own file: what raised it, and where in that file (the last line of it that
    ran), for them to fix."""
    import traceback

    where = ""
    if not isinstance(error, SyntaxError):  # whose message has the file and the line already
        frames = traceback.extract_tb(error.__traceback__)
        lines = [f.lineno for f in frames if Path(f.filename).resolve() == path.resolve()]
        where = f" (line {lines[-1]})" if lines else ""
    detail = f"exit({error.code!r})" if isinstance(error, SystemExit) else f"{type(error).__name__}: {error}"
    return ComplexaError(f"{what} raised {detail}{where}")


def _cell(value: Any) -> str:
    return str(value)


def module_table(d: TracedDerivation) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows of the per-module table: module, phase, each op, torch FLOPs; a total row last."""
    header = ["module", "phase", *d.ops, "torch FLOPs"]
    rows: list[list[Any]] = []
    phases = ("forward", "backward") if d.training else ("forward",)
    for path, row in d.by_layer.items():
        for phase in phases:
            values = [row[phase][op] for op in d.ops]
            flops = d.torch_by_layer[path][phase]
            if any(v != 0 for v in values) or flops != 0:
                rows.append([path or "(root)", phase, *values, flops])
    for phase in phases:
        rows.append(["total", phase, *(d.counts[phase][op] for op in d.ops), d.torch_flops[phase]])
    return header, rows


def render(d: TracedDerivation, fmt: str) -> str | dict[str, Any]:
    """`d`'s table in `fmt` (one of `FORMATS`); json is the document of `TracedDerivation.to_json`."""
    import sympy

    if fmt == "json":
        return d.to_json()
    header, rows = module_table(d)
    notes = [
        f"unsupported (not counted): {op} in {', '.join(repr(p) for p in paths)}" for op, paths in d.unsupported.items()
    ]
    if d.assumptions:  # the sizes where the formulas hold (docs/torch.md)
        notes.insert(0, f"holds for {', '.join(str(a) for a in d.assumptions)}")
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(f"`{c}`" if i > 1 else str(c) for i, c in enumerate(r)) + " |" for r in rows]
        return "\n".join(lines + [f"\n{n}" for n in notes])
    if fmt == "latex":

        def tex(text: str) -> str:
            return text.replace("_", "\\_")

        cols = "ll" + "r" * (len(header) - 2)
        lines = [f"\\begin{{tabular}}{{{cols}}}", " & ".join(tex(h) for h in header) + " \\\\ \\hline"]
        for r in rows:
            cells = [f"\\texttt{{{tex(r[0])}}}", r[1], *(f"${sympy.latex(c)}$" for c in r[2:])]
            lines.append(" & ".join(cells) + " \\\\")
        lines.append("\\end{tabular}")
        return "\n".join(lines + [f"% {n}" for n in notes] + ["", d.latex()])
    text = [[str(c) for c in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in text) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in text]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"parameters: {d.parameters}")
    tools = ", ".join(f"{c} {d.flops(c)}" for c in ("exact", "torch", "fvcore", "ptflops"))
    lines.append(f"forward FLOPs: {tools} (ptflops: MACs)")
    lines += [f"big-O of {name}: {order}" for name, order in d.big_o().items()]
    return "\n".join(lines + notes)


def run_torch(args: argparse.Namespace) -> int:
    """Trace the module and print its table; 0 on success."""
    _factory_path(args.factory)  # a mistyped FILE:FACTORY is told at once, before torch takes seconds to import
    from complexa._trace import from_torch, torch_module

    torch = torch_module()
    dtype = {"float32": torch.float32, "float64": torch.float64, "long": torch.long, "int": torch.int32}[args.dtype]
    module = load_factory(args.factory)
    shapes = [tuple(part.strip() for part in text.split(",")) for text in args.input]
    d = from_torch(module, *shapes, training=not args.no_training, dtype=dtype, strict=args.strict)
    output = render(d, args.format)
    from complexa._cli import _emit

    _emit(output)
    return 0
