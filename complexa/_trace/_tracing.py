"""Tracing a ``torch.nn.Module`` with symbolic sizes: every ATen operator of its forward pass and, for training, of
the backward pass of its loss, each with the module it runs in and its arguments' shapes as sympy expressions.

The module runs once under PyTorch's ``FakeTensorMode`` with a ``ShapeEnv``: the machinery under
``make_fx(tracing_mode="symbolic")`` and ``torch.export``, used directly. Each size the user names becomes one
symbol of the ShapeEnv (``create_symbol``), so that distinct names stay distinct (no duck sizing) and one name is one
symbol across inputs; the parameters keep their concrete shapes. A ``TorchDispatchMode`` sees every operator as it
is dispatched, the stream ``FlopCounterMode`` sees on real tensors, and a ``ModuleTracker`` (the one
``FlopCounterMode`` uses) names the module of each operator, in the backward pass too. docs/torch.md says why this
and not ``make_fx`` or ``torch.export`` themselves.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sympy

from complexa.errors import ComplexaError

__all__ = ["Call", "Trace", "trace", "to_sympy"]

HINT_SCALES = (1000, 100, 17)
"""Where the size hints start, tried in turn until the module traces: large, so that no stage of a network shrinks a
size to 1 (torch then fixes it to 1 in every later shape: a formula right only there), then smaller for a module that
bounds its sizes (a model's longest sequence)."""


def hints_from(names: Sequence[str], scale: int, skip: frozenset[int] = frozenset()) -> dict[str, int]:
    """A distinct prime hint per name, from the first prime past `scale`; none in `skip` (another trace's), none a
    small fixed size such as a channel count by chance."""
    hints: dict[str, int] = {}
    p = scale
    for name in names:
        p = int(sympy.nextprime(p))
        while p in skip:
            p = int(sympy.nextprime(p))
        hints[name] = p
    return hints


@dataclass(frozen=True)
class Call:
    """One ATen operator call: its name (``"aten.addmm.default"``), its overload packet (``"addmm"``), whether it
    ran in the backward pass, the module path it ran in (``""`` the root module, ``"loss"`` outside it), and its
    arguments and results with every tensor replaced by its shape (a tuple of sympy sizes)."""

    op: str
    packet: str
    backward: bool
    path: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    outs: tuple[Any, ...]


@dataclass(frozen=True)
class Trace:
    """What `trace` records: the ATen calls in order, the symbols by name, the elements of the tensors autograd saves
    (0 without training), and the forward pass's counts in the ``fvcore`` and ``ptflops`` conventions that are read
    at the Python level (``_tools``): (module path, count) each."""

    calls: list[Call]
    symbols: dict[str, sympy.Symbol]
    saved: sympy.Expr
    tools: dict[str, list[tuple[str, sympy.Expr]]]
    guards: list[sympy.Basic]
    """Every condition on the sizes torch assumed while tracing (guards and deferred runtime asserts), over
    complexa's symbols: the formula holds where all of them do (`complexa._trace._domain`)."""
    inputs: tuple[tuple[sympy.Expr, ...], ...]
    """Each input's shape, as traced."""
    saved_by_layer: dict[str, tuple[sympy.Expr, sympy.Expr]] = field(default_factory=dict)
    """Module path -> (elements, bytes) of the tensors autograd saved while it ran, each storage once, in the
    first module that saved it; the bytes are each tensor's own dtype's."""
    outputs: dict[str, tuple[tuple[sympy.Expr, ...], ...]] = field(default_factory=dict)
    """Module path -> the shape of each tensor its forward pass returned (the first call's, for a module called
    twice)."""


def to_sympy(value: Any, names: dict[sympy.Symbol, sympy.Symbol]) -> sympy.Expr:
    """A torch size (an int or a SymInt) as a sympy expression over complexa's symbols; torch's FloorDiv, CeilDiv,
    Mod, Max and Min become sympy's floor, ceiling, Mod, Max and Min, so that `subs` evaluates them."""
    import torch

    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, torch.SymInt):
        expr = value.node.expr
        return _convert(expr, names)
    raise ComplexaError(f"a size of {value!r} ({type(value).__name__}): expected an int or a torch.SymInt")


def _convert(expr: sympy.Basic, names: dict[sympy.Symbol, sympy.Symbol]) -> sympy.Expr:
    if isinstance(expr, sympy.Symbol):
        if expr not in names:
            raise DataDependent(
                "the module makes a size that depends on its data (such as nonzero's or unique's): it has no formula "
                "in the input sizes"
            )
        return names[expr]
    if expr is sympy.true or expr is sympy.false:
        return expr
    if expr.is_Number:
        return sympy.Integer(int(expr)) if expr.is_integer else sympy.Rational(expr)
    args = [_convert(a, names) for a in expr.args]
    kind = type(expr).__name__
    if kind == "FloorDiv":
        return sympy.floor(args[0] / args[1])
    if kind in ("CeilDiv", "IntTrueDiv", "CleanDiv"):
        return sympy.ceiling(args[0] / args[1]) if kind == "CeilDiv" else args[0] / args[1]
    if kind in ("Mod", "PythonMod"):
        return sympy.Mod(args[0], args[1])
    if kind == "Max":
        return sympy.Max(*args)
    if kind == "Min":
        return sympy.Min(*args)
    if kind == "PowByNatural":
        return sympy.Pow(args[0], args[1])
    if isinstance(expr, (sympy.Add, sympy.Mul, sympy.Pow, sympy.floor, sympy.ceiling)):
        return expr.func(*args)
    if isinstance(expr, (sympy.core.relational.Relational, sympy.And, sympy.Or, sympy.Not)):
        return expr.func(*args)
    raise ComplexaError(f"the trace has a size {expr} ({kind}) complexa does not translate")


def _shapes(value: Any, names: dict[sympy.Symbol, sympy.Symbol]) -> Any:
    """`value` with every tensor replaced by its shape, every SymInt by a sympy expression; lists kept as tuples."""
    import torch

    if isinstance(value, torch.Tensor):
        return tuple(to_sympy(s, names) for s in value.shape)
    if isinstance(value, torch.SymInt):
        return to_sympy(value, names)
    if isinstance(value, (list, tuple)):
        return tuple(_shapes(v, names) for v in value)
    return value


def _tracker(root: str | None = None) -> Any:
    """A ModuleTracker that also remembers the order modules were entered, so that an operator is named by the
    innermost module entered last. torch's own keeps a set, and in the backward pass a module whose inputs need no
    gradient is never exited (an embedding's), so the set alone cannot say which of two siblings is running."""
    from torch.utils.module_tracker import ModuleTracker

    class Tracker(ModuleTracker):
        def __init__(self) -> None:
            super().__init__()
            self.order: list[str] = []

        def _get_append_fn(self, name: str, is_bw: bool) -> Callable[..., None]:
            inner = super()._get_append_fn(name, is_bw)

            def fn(*args: Any) -> None:
                inner(*args)
                if name in self.order:
                    self.order.remove(name)
                self.order.append(name)

            return fn

        def current(self) -> str:
            # The module entered last, or its innermost live descendant: in the backward pass a module and its
            # parent are entered by hooks on the same output, the parent's after. A module that is no part of the
            # root's tree (transformers wraps apply_rotary_pos_emb in one, which torch names "Func") is not where
            # its operators run: they count for the module that called it.
            live = [
                name for name in self.order if name in self.parents and (root is None or name.split(".")[0] == root)
            ]
            if not live:
                return "Global"
            last = live[-1]
            inner = [name for name in live if name.startswith(last + ".")]
            return max(inner, key=lambda name: (name.count("."), live.index(name))) if inner else last

    return Tracker()


FAKE_TENSOR_CACHE = False
"""Whether the trace's FakeTensorMode keeps its dispatch cache. It keys each operator call by its symbolic shapes,
which a trace seldom repeats, so making the entries costs more than the hits save: densenet121 traces about 1.8x
faster without it (``python benchmarks/bench_trace.py cache`` measures both)."""


def trace(
    module: Any,
    inputs: Sequence[tuple[tuple[int | str, ...], Any]],
    *,
    training: bool,
    loss: Callable[[Any], Any] | None,
    hints: Mapping[str, int],
) -> Trace:
    """Run `module` on fake inputs of the given shapes and dtypes, and record every ATen call and every guard.

    **Arguments:** `inputs` is one (shape, dtype) per input, each entry of a shape an int or a symbol's name;
    `hints` the size each name takes while tracing.

    **Returns:** a `Trace`.
    """
    import torch
    from torch._dynamo.source import ConstantSource
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import DimDynamic, ShapeEnv
    from torch.utils._python_dispatch import TorchDispatchMode

    from complexa._poly import symbol

    env = ShapeEnv(should_record_events=False)  # its replay log: a third of the trace's time, and unused
    fake = FakeTensorMode(shape_env=env)
    fake.cache_enabled = FAKE_TENSOR_CACHE
    symints: dict[str, Any] = {}
    names: dict[sympy.Symbol, sympy.Symbol] = {}

    def size(entry: int | str) -> Any:
        if isinstance(entry, int):
            return entry
        if entry not in symints:
            hint = hints[entry]
            source = ConstantSource(entry)
            sym = env.create_symbol(hint, source, dynamic_dim=DimDynamic.DYNAMIC)
            symints[entry] = env.create_symintnode(sym, hint=hint, source=source)
            names[sym] = symbol(entry)
        return symints[entry]

    with fake:
        params = {
            name: fake.from_tensor(p, static_shapes=True).detach().requires_grad_(p.requires_grad)
            for name, p in module.named_parameters()
        }
        buffers = {name: fake.from_tensor(b, static_shapes=True) for name, b in module.named_buffers()}
        xs = [torch.zeros([size(e) for e in shape], dtype=dtype) for shape, dtype in inputs]

    root = type(module).__name__
    tracker = _tracker(root)
    calls: list[Call] = []
    ignored = {"prim", "profiler"}

    def path_of(name: str) -> str:
        if name == "Global":
            return "loss"
        return "" if name == root else name[len(root) + 1 :]

    dispatching = [False]

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if func.overloadpacket.__name__ in _SAME_DTYPE:
                kinds = {a.dtype for a in args if isinstance(a, torch.Tensor)}
                if len(kinds) > 1:  # the fake kernels let it pass; real torch refuses
                    mixed = " and ".join(sorted(str(k).removeprefix("torch.") for k in kinds))
                    raise ComplexaError(
                        f"{func} in {path_of(tracker.current()) or 'the root module'!r} got tensors of {mixed}: "
                        "torch refuses to mix them; give inputs of the module's dtype (dtype=...)"
                    )
            # Python functions torch runs below dispatch (decompositions, meta functions) are no user's calls.
            dispatching[0] = True
            try:
                out = func(*args, **kwargs)
            finally:
                dispatching[0] = False
            if func.namespace not in ignored:
                outs = out if isinstance(out, (tuple, list)) else (out,)
                calls.append(
                    Call(
                        op=str(func),
                        packet=func.overloadpacket.__name__,
                        backward=bool(tracker.is_bw),
                        path=path_of(tracker.current()),
                        args=_shapes(tuple(args), names),
                        kwargs={k: _shapes(v, names) for k, v in kwargs.items()},
                        outs=_shapes(tuple(outs), names),
                    )
                )
            return out

    saved: list[tuple[str, Any]] = []
    state = {id(t) for t in (*params.values(), *buffers.values())}

    def pack(t: Any) -> Any:
        saved.append((path_of(tracker.current()), t))
        return t

    tools: dict[str, list[tuple[str, sympy.Expr]]] = {"fvcore": [], "ptflops": []}
    outputs: dict[str, tuple[tuple[sympy.Expr, ...], ...]] = {}

    def shape(value: Any) -> Any:
        return _shapes(value, names)

    def record(convention: str, value: sympy.Expr | None, path: str | None = None) -> None:
        path = path_of(tracker.current()) if path is None else path
        if value is not None and not dispatching[0] and path != "loss":  # the tools run no loss
            tools[convention].append((path, sympy.sympify(value)))

    try:
        with (
            _tracing_context(env),
            fake,
            tracker,
            Recorder(),
            _tool_hooks(module, record, shape),
            _output_hooks(module, outputs, shape),
        ):
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                out = torch.func.functional_call(module, {**params, **buffers}, tuple(xs))
                value = (loss(out) if loss is not None else default_loss(out)) if training else None
            if value is not None:
                if not isinstance(value, torch.Tensor) or value.dim() != 0:
                    got = (
                        f"a tensor of {value.dim()} dimensions"
                        if isinstance(value, torch.Tensor)
                        else f"a {type(value).__name__}"
                    )
                    raise ComplexaError(f"loss returned {got}; it must return a scalar tensor, such as out.sum()")
                wanted = [p for p in params.values() if p.requires_grad]
                if wanted and value.requires_grad:
                    torch.autograd.grad(value, wanted, allow_unused=True)
    except ComplexaError:
        raise
    except Exception as error:  # torch's own errors: name the module and what failed, in one line
        where = path_of(tracker.current()) or "the root module"
        text = str(error).strip()
        first = _users_words(text.splitlines()[0] if text else type(error).__name__, names, hints)
        raise TraceFailed(
            f"tracing {root} with symbolic sizes failed in {where!r}: {type(error).__name__}: {first}"
        ) from None
    _check_specialised(env, names, hints)
    guards = [_convert(g.expr, names) for g in env.guards]
    for asserts in env.deferred_runtime_asserts.values():
        guards.extend(_convert(a.expr, names) for a in asserts)
    seen: set[int] = set()
    by_layer: dict[str, tuple[sympy.Expr, sympy.Expr]] = {}
    for path, t in saved:
        if not isinstance(t, torch.Tensor):
            continue
        # A view of a parameter (a transposed weight) or of a buffer (a causal mask's slice) is the module's state,
        # kept whether or not autograd saves it; a view of an activation is that activation, once.
        base = t._base if t._base is not None else t
        if id(base) in state or id(base) in seen:
            continue
        seen.add(id(base))
        n = to_sympy(base.numel(), names)
        elements, nbytes = by_layer.get(path, (sympy.Integer(0), sympy.Integer(0)))
        by_layer[path] = (elements + n, nbytes + n * base.element_size())
    elements = sympy.Add(*(e for e, _ in by_layer.values()))
    symbols = {name: symbol(name) for name in symints}
    shapes = tuple(tuple(to_sympy(n, names) for n in x.shape) for x in xs)
    return Trace(
        calls,
        symbols,
        elements if training else sympy.Integer(0),
        tools,
        guards,
        shapes,
        by_layer if training else {},
        outputs,
    )


_SAME_DTYPE = frozenset("mm addmm bmm baddbmm convolution _convolution matmul linear".split())
"""Operators whose tensors must share one dtype on real tensors (``mat1 and mat2 must have the same dtype``)."""


class TraceFailed(ComplexaError):
    """torch could not run the module at the sizes given: `from_torch` tries other sizes before it says so."""


class DataDependent(ComplexaError):
    """The module makes a size from its data, not its input's sizes (`nonzero`): no formula exists."""


def _users_words(text: str, names: Mapping[sympy.Symbol, sympy.Symbol], hints: Mapping[str, int]) -> str:
    """torch's message with its own symbols (``s44``) and complexa's hint sizes (``1009``) named as the user did."""
    by_torch = {str(k): v.name for k, v in names.items()}
    by_hint = {str(v): k for k, v in hints.items()}
    text = re.sub(r"\b[su]\d+\b", lambda m: by_torch.get(m.group(0), m.group(0)), text)
    return re.sub(r"\b\d+\b", lambda m: by_hint.get(m.group(0), m.group(0)), text)


_LAYOUT_CHOICES = ("_select_conv_backend", "_conv_determine_backend_memory_format")
"""The functions a fake convolution calls to choose its backend and so its output's memory layout. Their size
heuristics (oneDNN's for a batch of 16 or more, C x H x W over 20480) choose strides, not arithmetic: they run
without recording guards, which would bound the formula's domain for nothing."""


@contextmanager
def _tracing_context(env: Any) -> Iterator[None]:
    """torch logs a traceback of its own when a guard or a fake kernel fails; complexa says it in one line. The
    layout choices of a convolution (`_LAYOUT_CHOICES`) record no guards."""
    import torch

    originals = {name: getattr(torch._C, name) for name in _LAYOUT_CHOICES if hasattr(torch._C, name)}

    def unguarded(original: Callable[..., Any]) -> Callable[..., Any]:
        def choose(*args: Any, **kwargs: Any) -> Any:
            with env.suppress_guards():
                return original(*args, **kwargs)

        return choose

    for name, original in originals.items():
        setattr(torch._C, name, unguarded(original))
    loggers = [logging.getLogger(name) for name in ("torch", "torch.fx", "torch._subclasses", "torch._dynamo")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        for name, original in originals.items():
            setattr(torch._C, name, original)


@contextmanager
def _tool_hooks(module: Any, record: Callable[..., None], shape: Callable[[Any], Any]) -> Iterator[None]:
    """While the forward pass runs: a forward hook on every module ptflops hooks (not inside another it hooks: it
    reads no deeper), and a wrapper around every function ptflops or fvcore counts at the Python level."""
    import importlib

    import torch

    from . import _tools

    handles = []
    hooked: list[str] = []
    for path, sub in module.named_modules():
        if not _tools.ptflops_hooked(sub) or any(path.startswith(p + ".") or p == "" for p in hooked):
            continue
        hooked.append(path)

        def hook(sub: Any, args: Any, output: Any, path: str = path) -> None:
            record("ptflops", _tools.ptflops_module(sub, args, output, shape), path)

        handles.append(sub.register_forward_hook(hook))
    rules: dict[tuple[str, str], list[tuple[str, Callable[..., Any]]]] = {}
    for convention, table in (("ptflops", _tools.PTFLOPS_FUNCTIONS), ("fvcore", _tools.FVCORE_FUNCTIONS)):
        for where, name, rule in table:
            rules.setdefault((where, name), []).append((convention, rule))
    patched = []
    for (owner_name, name), counted in rules.items():
        owner: Any = torch.Tensor if owner_name == "torch.Tensor" else importlib.import_module(owner_name)
        original = getattr(owner, name, None)
        if original is None:
            continue
        patched.append((owner, name, original))
        setattr(owner, name, _wrapped(original, counted, record, shape))
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)
        for handle in handles:
            handle.remove()


@contextmanager
def _output_hooks(module: Any, outputs: dict[str, Any], shape: Callable[[Any], Any]) -> Iterator[None]:
    """While the forward pass runs: a forward hook on every module that records the shapes of the tensors it returns
    (`Trace.outputs`)."""
    handles = []
    for path, sub in module.named_modules():

        def hook(sub: Any, args: Any, output: Any, path: str = path) -> None:
            if path not in outputs:
                outputs[path] = tuple(shape(t) for t in _leaves(output))

        handles.append(sub.register_forward_hook(hook))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _wrapped(
    original: Callable[..., Any],
    counted: list[tuple[str, Callable[..., Any]]],
    record: Callable[..., None],
    shape: Callable[[Any], Any],
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for convention, rule in counted:
            try:
                value = rule(shape, *args, **kwargs)
            except Exception:  # the tool's own hook fails on such a call, and counts nothing
                value = None
            record(convention, value)
        return original(*args, **kwargs)

    return wrapper


def _leaves(out: Any) -> Iterator[Any]:
    """Every tensor in nested tuples, lists, dicts (a transformers ModelOutput is one) and dataclasses."""

    import torch

    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, dict):
        for value in out.values():
            yield from _leaves(value)
    elif isinstance(out, (tuple, list)):
        for value in out:
            yield from _leaves(value)
    elif dataclasses.is_dataclass(out) and not isinstance(out, type):
        for f in dataclasses.fields(out):
            yield from _leaves(getattr(out, f.name))


def default_loss(out: Any) -> Any:
    """The default loss: the sum of every floating-point output tensor, in nested tuples, lists, dicts and
    ModelOutputs too."""
    tensors = [t for t in _leaves(out) if t.is_floating_point()]
    if not tensors:
        raise ComplexaError("the module returned no floating-point tensor to sum for the loss; give loss=")
    total = tensors[0].sum()
    for t in tensors[1:]:
        total = total + t.sum()
    return total


def _check_specialised(env: Any, names: dict[sympy.Symbol, sympy.Symbol], hints: Mapping[str, int]) -> None:
    """A size the trace fixed to one value has no formula: say which, and why."""
    for sym, user in names.items():
        replaced = env.replacements.get(sym)
        if replaced is None or not replaced.is_number:
            continue
        if int(replaced) == hints.get(user.name):  # fixed at whatever it was: made a plain number
            raise ComplexaError(
                f"the module turns size {user} into a plain number while it runs (as int(x.shape[0]) or an operator "
                f"that needs a concrete size does), so it has no formula in {user}: give {user} as an int"
            )
        raise ComplexaError(
            f"size {user} must be {int(replaced)} for this module (it compares the size with that number); give "
            f"{user} as the int {int(replaced)}"
        )
