"""The command line's spelling of a stack of layers and of an optimizer, read by a small recursive-descent parser.

``--layers`` takes the layers of `complexa.nn` by their torch names, their arguments as in torch; ``--optimizer``
takes one of `complexa.nn`'s optimizers the same way, or ``sgd``, the default plain SGD::

    stack     := layer ([","] layer)* [","]           white space anywhere between tokens
    layer     := NAME ["(" [args] ")"]                 ReLU and ReLU() are the same layer
    args      := arg ("," arg)* [","]
    arg       := [NAME "="] value                      positional arguments first, as in Python
    optimizer := "sgd" | NAME ["(" [args] ")"]

A value is read as its parameter's type, which its default in the kind's ``__init__`` gives:

- a size (no default: ``in_features``, ``normalized_shape``): everything up to the next ``,`` or ``)`` outside
  parentheses, read by `complexa.parse` and checked as every size is, so ``Linear(784, 2*h + 1)`` works;
- a flag: ``true`` or ``false`` (``True``, ``False`` too);
- a number: ``0.9``, ``1e-3``, ``-1``;
- a word: ``tanh``, or quoted, ``'tanh'``;
- a tuple of numbers: ``(0.9, 0.999)`` or ``[0.9, 0.999]``;
- layers (``Residual``'s body): a stack, as above.

So ``Linear(784, h) ReLU Residual(Linear(h, h) GELU(approximate=tanh)) Linear(h, 10, bias=false)`` is a stack, and
so is what `repr` prints of a network's layers, ``Linear(784, h), ReLU(), Residual(Linear(h, h), GELU())``.

Nothing is evaluated: names are looked up in `complexa.nn`'s registry, numbers are read by ``float``, sizes by
`complexa.parse`. The text is bounded before it is read (`MAX_LENGTH` characters, `MAX_DEPTH` levels of nesting,
`MAX_LAYERS` layers), and every error is one `ComplexaError` that names the flag, quotes the text and gives the
position (characters before the fault, as `complexa.parse` counts) of what is wrong.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from complexa._limits import MAX_DEPTH, MAX_DIGITS, MAX_LENGTH, show
from complexa.errors import ComplexaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sympy

    from complexa.network import Network
    from complexa.nn import Layer, Optimizer

__all__ = ["MAX_LAYERS", "Stack", "parse_layers", "parse_optimizer", "parse_gpt", "stack_network", "signature"]

MAX_LAYERS = 2_000
"""Most layers a ``--layers`` text may hold, a Residual's body layers included: as many as a dense network of 1,001
sizes has (a Linear layer and an activation each), whose every command answers in seconds."""

_SPACE = " \t\r\n"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ASCII digits only, and no inf or nan: a number of the grammar is finite as written.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORD = re.compile(r"[^ \t\r\n,()\[\]=]+")
_FLAGS = {"true": True, "True": True, "false": False, "False": False}

SIZE, FLAG, NUMBER, WORD, NUMBERS, LAYERS = "size", "flag", "number", "word", "numbers", "layers"
OPTIONAL_SIZE, LAYER = "optional size", "layer"
"""The types of an argument, as `signature` gives them (an optional size defaults to None, such as a Block's d_ff)."""

_SHOWN = {
    SIZE: "a size such as 784, h or 2*h",
    OPTIONAL_SIZE: "a size such as 784, h or 2*h",
    LAYER: "a layer",
    FLAG: "true or false",
    NUMBER: "a number such as 0.9 or 1e-3",
    WORD: "a word",
    NUMBERS: "numbers in parentheses, such as (0.9, 0.999)",
}


def signature(cls: type) -> tuple[tuple[str, str], ...]:
    """(name, type) of each argument `cls` takes, in order, the type read from its default (`SIZE` for none).

    >>> from complexa import nn
    >>> signature(nn.LayerNorm)
    (('normalized_shape', 'size'), ('eps', 'number'), ('elementwise_affine', 'flag'))
    >>> signature(nn.ReLU), signature(nn.Residual)
    ((), (('layers', 'layers'),))
    """
    init = next(vars(c)["__init__"] for c in cls.__mro__ if "__init__" in vars(c))  # object has one
    if init is object.__init__:
        return ()
    return _typed(list(inspect.signature(init).parameters.values())[1:], cls.__name__)


def _typed(parameters: list[inspect.Parameter], owner: str) -> tuple[tuple[str, str], ...]:
    """(name, type) of each of `parameters`, the type read from its default (`SIZE` for none)."""
    out = []
    for p in parameters:
        name = p.name
        if p.kind is p.VAR_POSITIONAL:
            out.append((name, LAYERS))
        elif p.annotation in ("Layer", "nn.Layer"):
            out.append((name, LAYER))
        elif p.default is None:
            out.append((name, OPTIONAL_SIZE))
        elif p.default is p.empty:
            out.append((name, SIZE))
        elif isinstance(p.default, bool):
            out.append((name, FLAG))
        elif isinstance(p.default, float):
            out.append((name, NUMBER))
        elif isinstance(p.default, str):
            out.append((name, WORD))
        elif isinstance(p.default, tuple):
            out.append((name, NUMBERS))
        else:  # pragma: no cover - every kind of complexa.nn is one of the above (tests/test_cli_layers.py)
            raise AssertionError(f"{owner}({name}): no spelling for a default of {p.default!r}")
    return tuple(out)


@dataclass(frozen=True)
class Stack:
    """What `parse_layers` read: the layers, and where each begins in the text, by its torch path (``"3.0"``)."""

    layers: tuple[Layer, ...]
    positions: dict[str, int]


class _Reader:
    """The text, a position in it, and what has been read so far (nesting, layers)."""

    def __init__(self, text: str, flag: str) -> None:
        self.text = text
        self.flag = flag
        self.pos = 0
        self.depth = 0
        self.count = 0
        self.positions: dict[str, int] = {}
        self.sizes: dict[str, sympy.Expr] = {}
        """Each size text read, checked once: a stack repeats its sizes."""
        self.made: dict[tuple[object, ...], object] = {}
        """Each layer made, by its kind and arguments: a stack repeats its layers, which never change."""

    # --- errors -----------------------------------------------------------------------------------------------------
    def fail(self, why: str, at: int | None = None) -> ComplexaError:
        return ComplexaError(f"{self.flag} {show(self.text)}: at position {self.pos if at is None else at}: {why}")

    def found(self) -> str:
        """What stands at the position, for an error message."""
        if self.pos >= len(self.text):
            return "the end of the text"
        match = _WORD.match(self.text, self.pos)
        return show(match.group() if match else self.text[self.pos], 20)

    # --- characters -------------------------------------------------------------------------------------------------
    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str, what: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {what}, found {self.found()}")
        self.pos += 1

    def name(self) -> str | None:
        self.skip()
        match = _NAME.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def enter(self, at: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep", at)

    # --- values -----------------------------------------------------------------------------------------------------
    def size(self, where: str) -> sympy.Expr:
        """Everything up to the next "," or ")" outside parentheses, as a size."""
        from complexa._validate import as_size  # sympy only now

        self.skip()
        start, depth = self.pos, 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in ",)" and depth == 0:
                break
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            self.pos += 1
        else:
            if depth:
                raise self.fail(f"{where}: a '(' is never closed", start)
        raw = self.text[start : self.pos].rstrip(_SPACE)
        if not raw:
            raise self.fail(f"{where}: expected {_SHOWN[SIZE]}, found {self.found()}")
        if raw not in self.sizes:
            try:
                self.sizes[raw] = as_size(raw, where)
            except ComplexaError as error:
                raise self.fail(str(error), start) from None
        return self.sizes[raw]

    def number(self, where: str) -> float:
        self.skip()
        match = _NUMBER.match(self.text, self.pos)
        if match is None or _NAME.match(self.text, match.end()):
            raise self.fail(f"{where}: expected {_SHOWN[NUMBER]}, found {self.found()}")
        if len(match.group()) > MAX_DIGITS:
            raise self.fail(f"{where}: a number has more than {MAX_DIGITS} digits")
        self.pos = match.end()
        return float(match.group())

    def flag_value(self, where: str) -> bool:
        start = self.pos
        name = self.name()
        if name not in _FLAGS:
            self.pos = start
            self.skip()
            raise self.fail(f"{where}: expected {_SHOWN[FLAG]}, found {self.found()}")
        return _FLAGS[name]

    def word(self, where: str) -> str:
        quote = self.peek()
        if quote in ("'", '"'):
            match = _NAME.match(self.text, self.pos + 1)
            if match is None or self.text[match.end() : match.end() + 1] != quote:
                self.pos += 1
                raise self.fail(f"{where}: expected a word and a closing {quote}, found {self.found()}")
            self.pos = match.end() + 1
            return match.group()
        name = self.name()
        if name is None:
            raise self.fail(f"{where}: expected {_SHOWN[WORD]}, found {self.found()}")
        return name

    def numbers(self, where: str) -> tuple[float, ...]:
        opening = self.peek()
        if opening not in ("(", "["):
            raise self.fail(f"{where}: expected {_SHOWN[NUMBERS]}, found {self.found()}")
        closing = ")" if opening == "(" else "]"
        self.enter(self.pos)
        self.pos += 1
        values: list[float] = []
        while self.peek() != closing:
            values.append(self.number(f"{where}[{len(values)}]"))
            if self.peek() != ",":
                break
            self.pos += 1
        self.expect(closing, f"',' or {closing!r} in {where}")
        self.depth -= 1
        return tuple(values)

    # --- layers -----------------------------------------------------------------------------------------------------
    def stack(self, prefix: str, closing: str) -> list[Layer]:
        """Layers until `closing` ("" for the end of the text), separated by white space or a comma."""
        layers: list[Layer] = []
        while self.peek() != closing:
            if not self.peek():
                raise self.fail(f"expected a layer or ')', found {self.found()}")
            layers.append(self.layer(f"{prefix}{len(layers)}"))
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() not in (closing, "") and _NAME.match(self.text, self.pos) is None:
                end = "')'" if closing else "the end"
                raise self.fail(f"expected a layer, ',' or {end} after a layer, found {self.found()}")
        return layers

    def layer(self, path: str) -> Layer:
        from complexa.nn import KINDS

        self.skip()
        start = self.pos
        name = self.name()
        if name is None:
            raise self.fail(f"expected a layer such as Linear(784, h) or ReLU, found {self.found()}")
        if self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            word = _WORD.match(self.text, start)
            raise self.fail(
                f"unknown layer {show(word.group() if word else name, 20)}: {self.text[self.pos]!r} at position "
                f"{self.pos} is not an ASCII letter, digit or _{_suggest(name, KINDS)}",
                start,
            )
        cls = KINDS.get(name)
        if cls is None:
            raise self.fail(f"unknown layer {name!r}{_suggest(name, KINDS)}", start)
        self.count += 1
        if self.count > MAX_LAYERS:
            raise self.fail(f"more than {MAX_LAYERS:,} layers", start)
        self.positions[path] = start
        return self.call(name, cls, start, path)  # type: ignore[return-value]

    def call(self, name: str, cls: Callable[..., object], start: int, path: str) -> object:
        """`name` and its arguments, if any, made into an instance of `cls`."""
        params = signature(cls)  # type: ignore[arg-type]
        if self.peek() != "(":
            args: tuple[object, ...] = ()
            kwargs: dict[str, object] = {}
            where: dict[str, int] = {}
        else:
            self.enter(self.pos)
            self.pos += 1
            if params and params[0][1] == LAYERS:
                args, kwargs, where = tuple(self.stack(f"{path}.", ")")), {}, {}
            else:
                args, kwargs, where = self.arguments(name, params, path)
            self.expect(")", f"',' or ')' after an argument of {name}")
            self.depth -= 1
        missing = [p for p, kind in params[len(args) :] if kind in (SIZE, LAYER) and p not in kwargs]
        if missing:
            given = ", ".join(p for p, kind in params if kind in (SIZE, LAYER))
            raise self.fail(f"{name} needs {' and '.join(missing)}: {name}({given})", start)
        key = (name, args, tuple(sorted(kwargs.items())))
        try:
            if key not in self.made:
                self.made[key] = cls(*args, **kwargs)
            return self.made[key]
        except ComplexaError as error:
            # "Linear(bias) = ...": point at that argument, else at the layer.
            at = next((pos for p, pos in where.items() if str(error).startswith(f"{name}({p}")), start)
            raise self.fail(str(error), at) from None

    def arguments(
        self, name: str, params: tuple[tuple[str, str], ...], path: str = "", positional: int | None = None
    ) -> tuple[tuple[object, ...], dict[str, object], dict[str, int]]:
        """The arguments of a call, up to its ")": positional, keyword, and where each value begins; at most
        `positional` of them by position (all by default), the rest keyword-only."""
        args: list[object] = []
        kwargs: dict[str, object] = {}
        where: dict[str, int] = {}
        names = [p for p, _ in params]
        by_position = len(params) if positional is None else positional
        while self.peek() != ")":
            start = self.pos
            key = self.keyword()
            positional = key is None
            if key is None:
                if kwargs:
                    raise self.fail(f"{name}: a positional argument after a keyword argument", start)
                if len(args) >= by_position:
                    if by_position < len(params):
                        first, listed = names[by_position], ", ".join(names[:by_position])
                        raise self.fail(
                            f"{name} takes at most {by_position} arguments by position ({listed}); give the others "
                            f"by name, such as {first}=...",
                            start,
                        )
                    takes = f"at most {len(params)} arguments ({', '.join(names)})" if params else "no arguments"
                    raise self.fail(f"{name} takes {takes}", start)
                key = names[len(args)]
            elif key not in names:
                takes = f"it takes {', '.join(names)}" if params else "it takes no arguments"
                raise self.fail(f"{name} has no argument {key!r}; {takes}", start)
            elif key in where:
                raise self.fail(f"{name}({key}) is given twice", start)
            self.skip()
            where[key] = self.pos
            kind = dict(params)[key]
            value = self.layer(f"{path}.0") if kind == LAYER else self.value(kind, f"{name}({key})")
            if positional:
                args.append(value)
            else:
                kwargs[key] = value
            if self.peek() != ",":
                break
            self.pos += 1
        return tuple(args), kwargs, where

    def keyword(self) -> str | None:
        """A ``NAME =`` at the position, read; None (and nothing read) when there is none."""
        start = self.pos
        key = self.name()
        if key is not None and self.peek() == "=" and self.text[self.pos + 1 : self.pos + 2] != "=":
            self.pos += 1
            return key
        self.pos = start
        return None

    def value(self, kind: str, where: str) -> object:
        if kind in (SIZE, OPTIONAL_SIZE):
            self.skip()
            if re.match(r"None(?![A-Za-z0-9_])", self.text[self.pos : self.pos + 5]):  # Python's None, not a symbol
                if kind == SIZE:
                    raise self.fail(f"{where}: None is not a size; give {_SHOWN[SIZE]}")
                self.pos += 4
                return None
            return self.size(where)
        if kind == FLAG:
            return self.flag_value(where)
        if kind == NUMBER:
            return self.number(where)
        if kind == WORD:
            return self.word(where)
        return self.numbers(where)

    def end(self) -> None:
        if self.peek():
            raise self.fail(f"unexpected {self.found()} after the end")


def _suggest(name: str, known: Iterable[str]) -> str:
    """The end of an error: ``; did you mean ReLU?`` for a name close to one of `known`, else the list of them."""
    names = sorted(known)
    close = [n for n in names if n.lower() == name.lower()] or difflib.get_close_matches(name, names, 1)
    return f"; did you mean {close[0]}?" if close else f"; known: {', '.join(names)}"


def _start(text: object, flag: str, what: str) -> _Reader:
    if not isinstance(text, str):
        raise ComplexaError(f"{flag} {show(text)}: must be a string")
    if len(text) > MAX_LENGTH:
        raise ComplexaError(f"{flag} {show(text)}: {what} is limited to {MAX_LENGTH:,} characters")
    return _Reader(text, flag)


def parse_layers(text: str, flag: str = "--layers") -> Stack:
    """The layers `text` spells (see the module's grammar), with where each begins.

    **Raises:** `ComplexaError`, one line naming `flag`, the text and the position of the fault.

    >>> parse_layers("Linear(784, h) ReLU Residual(Linear(h, h) GELU(approximate=tanh)) Linear(h, 10)").layers
    (Linear(784, h), ReLU(), Residual(Linear(h, h), GELU(approximate='tanh')), Linear(h, 10))
    >>> parse_layers("Linear(784, h) Relu")
    Traceback (most recent call last):
    ...
    complexa.errors.ComplexaError: --layers 'Linear(784, h) Relu': at position 15: unknown layer 'Relu'; did you ...
    """
    reader = _start(text, flag, "a stack")
    layers = reader.stack("", "")
    if not layers:
        raise reader.fail("no layers; give them such as 'Linear(784, h) ReLU Linear(h, 10)'", 0)
    reader.end()
    return Stack(tuple(layers), reader.positions)


def parse_optimizer(text: str, flag: str = "--optimizer") -> str | Optimizer:
    """``"sgd"`` for the default plain SGD, else the optimizer of `complexa.nn` that `text` spells.

    >>> parse_optimizer("Adam(lr=1e-3, betas=(0.9, 0.99))")
    Adam(lr=0.001, betas=(0.9, 0.99))
    >>> parse_optimizer("sgd"), parse_optimizer("SGD(0.1, momentum=0.9)")
    ('sgd', SGD(lr=0.1, momentum=0.9))
    >>> parse_optimizer("adam"), parse_optimizer("adam(lr=0.01)")
    (Adam(lr=0.001), Adam(lr=0.01))
    """
    from complexa.nn import SGD, Adam

    reader = _start(text, flag, "an optimizer")
    known: dict[str, type[Optimizer]] = {"SGD": SGD, "Adam": Adam}
    reader.skip()
    start = reader.pos
    name = reader.name()
    if name == "sgd" and reader.peek() != "(":
        reader.end()
        return "sgd"
    if name is None:
        raise reader.fail(f"expected sgd, SGD(lr=...) or Adam(lr=...), found {reader.found()}")
    if name.lower() == "adam":  # adam as Adam; sgd is the default plain SGD, and sgd(...) stays refused
        name = "Adam"
    if name not in known:
        raise reader.fail(f"unknown optimizer {name!r}{_suggest(name, [*known, 'sgd'])}", start)
    optimizer = reader.call(name, known[name], start, "")
    reader.end()
    return optimizer  # type: ignore[return-value]


def _gpt_arguments() -> tuple[tuple[tuple[str, str], ...], int]:
    """What ``--gpt`` takes: `Network.gpt`'s arguments but the batch and the optimizer (flags of their own), and how
    many of them come first and may be given by position (the others are keyword-only)."""
    from complexa.network import Network

    parameters = [p for p in inspect.signature(Network.gpt).parameters.values() if p.name not in ("batch", "optimizer")]
    positional = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)
    return _typed(parameters, "Network.gpt"), positional


def parse_gpt(text: str, *, batch: object, optimizer: object, flag: str = "--gpt") -> Network:
    """The GPT (`Network.gpt`) whose arguments `text` spells as a call's would be, without the call:
    ``50257, 1024, 768, 12, 12`` or ``V, T, d, L, H, tied=false``.

    >>> parse_gpt("50257, 1024, 768, 12, 12", batch=1, optimizer="sgd")
    Network.gpt(50257, 1024, 768, 12, 12)
    >>> parse_gpt("V, T, d, L, H, d_ff=f, causal=false", batch="B", optimizer="sgd")
    Network.gpt(V, T, d, L, H, d_ff=f, causal=False, batch=B)
    """
    from complexa.network import Network

    reader = _start(text, flag, "a GPT")
    params, positional = _gpt_arguments()
    args, kwargs, where = reader.arguments("Network.gpt", params, positional=positional)
    reader.end()
    missing = [p for p, kind in params[len(args) :] if kind == SIZE and p not in kwargs]
    if missing:
        raise reader.fail(f"a GPT needs {', '.join(missing)}: vocab, seq, d_model, n_layers, n_heads", 0)
    try:
        return Network.gpt(*args, **kwargs, batch=batch, optimizer=optimizer)  # type: ignore[arg-type]
    except ComplexaError as error:
        at = next((pos for p, pos in where.items() if p in str(error).split(":")[0]), 0)
        raise reader.fail(str(error), at) from None


_AT_LAYER = re.compile(r"layer ([0-9.]+) \(")


def stack_network(text: str, *, batch: object, loss: str, optimizer: object, flag: str = "--layers") -> Network:
    """The `Network` of the layers `text` spells, with `batch`, `loss` and `optimizer`; an error about one layer (its
    width does not fit) points at that layer in `text`."""
    from complexa.network import Network

    stack = parse_layers(text, flag)
    try:
        return Network(list(stack.layers), batch=batch, loss=loss, optimizer=optimizer)
    except ComplexaError as error:
        found = _AT_LAYER.match(str(error))
        if found is None or found.group(1) not in stack.positions:
            raise
        at = stack.positions[found.group(1)]
        raise ComplexaError(f"{flag} {show(text)}: at position {at}: {error}") from None
