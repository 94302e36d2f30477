"""The ``complexa torch`` command, wired into `complexa.cli` by `add_torch_parser`: a module from a Python file's
factory, traced by `complexa.from_torch`, printed as a table of its modules in every format."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from complexa._choices import FORMATS
from complexa._limits import show
from complexa.errors import ComplexaError

__all__ = ["add_torch_parser", "run_torch", "load_factory"]

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
    p.add_argument(
        "--no-training",
        action="store_true",
        help="the forward pass only: no loss, no backward pass, no training totals",
    )
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


def run_torch(args: argparse.Namespace) -> int:
    """Trace the module and print its table; 0 on success."""
    _factory_path(args.factory)  # a mistyped FILE:FACTORY is told at once, before torch takes seconds to import
    from complexa._trace import from_torch, torch_module

    torch = torch_module()
    dtype = {"float32": torch.float32, "float64": torch.float64, "long": torch.long, "int": torch.int32}[args.dtype]
    module = load_factory(args.factory)
    shapes = [tuple(part.strip() for part in text.split(",")) for text in args.input]
    d = from_torch(module, *shapes, training=not args.no_training, dtype=dtype, strict=args.strict)
    from complexa._cli import _emit
    from complexa._format_torch import render

    output = render(d, args.format)

    _emit(output)
    return 0
