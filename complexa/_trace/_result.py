"""`TracedDerivation`: the counts of a traced PyTorch module, by phase, op and module path, with the FLOPs of
PyTorch's convention beside them; the same surface as `complexa.Derivation` (counts, by_layer, big_o, evaluate,
latex) and what `complexa.flops`, `params` and `memory` read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sympy

from complexa._limits import show
from complexa._validate import as_values
from complexa.errors import ComplexaError
from complexa.nn._base import BASE_OPS, OPS

from ._floors import tidy

__all__ = ["TracedDerivation", "ModuleInfo", "module_infos", "share", "PHASES", "FORWARD_TOOLS"]

PHASES = ("forward", "backward", "update")
FORWARD_TOOLS = ("fvcore", "ptflops")
"""The conventions of tools that count one forward pass: fvcore's FlopCountAnalysis and ptflops' MACs."""
Counts = dict[str, dict[str, sympy.Expr]]


def _total(terms: Sequence[sympy.Expr]) -> sympy.Expr:
    """The sum of `terms`, expanded; where sizes are floor divisions (strided convolutions), each size in its
    plainest exact form and the sum a polynomial in the sizes (`complexa._trace._floors.tidy`), so that
    ``216*B*(floor(H/2 - 1/2) + 1)*(floor(W/2 - 1/2) + 1)`` reads ``216*B*ceiling(H/2)*ceiling(W/2)``."""
    if not terms:
        return sympy.Integer(0)
    return tidy(sympy.Add(*terms))


@dataclass(frozen=True)
class ModuleInfo:
    """One module of a traced model: its class name, the shape of each tensor its forward pass returned, and the
    elements of its own parameters that require a gradient (`trainable`), of those that do not (`frozen`), and of
    its own buffers (a BatchNorm's running statistics). A parameter shared by two modules is its first owner's."""

    type: str
    outputs: tuple[tuple[sympy.Expr, ...], ...]
    trainable: int
    frozen: int
    buffers: int


def module_infos(module: Any, outputs: Mapping[str, tuple[tuple[sympy.Expr, ...], ...]]) -> dict[str, ModuleInfo]:
    """A `ModuleInfo` for every module of `module` by path (``""`` the root), in ``named_modules`` order; `outputs`
    is `Trace.outputs`."""
    owned: dict[str, list[int]] = {}
    for name, p in module.named_parameters():  # each parameter once, under its first name
        counts = owned.setdefault(name.rpartition(".")[0], [0, 0, 0])
        counts[0 if p.requires_grad else 1] += p.numel()
    for name, b in module.named_buffers():
        owned.setdefault(name.rpartition(".")[0], [0, 0, 0])[2] += b.numel()
    return {
        path: ModuleInfo(
            type(sub).__name__,
            tuple(tuple(_total([size]) for size in shape) for shape in outputs.get(path, ())),
            *owned.get(path, [0, 0, 0]),
        )
        for path, sub in module.named_modules()
    }


def share(part: sympy.Expr, whole: sympy.Expr) -> sympy.Rational:
    """`part`'s share of `whole`, exactly: at integer sizes their ratio; with symbols, its limit as every size grows
    together (all equal, to infinity), floors read as their arguments: the ratio of the leading coefficients where
    the two have the same degree, 0 where `part`'s is lower.

    >>> from complexa._poly import symbol
    >>> B, s = symbol("B"), symbol("s")
    >>> share(sympy.Integer(1), sympy.Integer(4)), share(3 * B * s**2 + B * s, 4 * B * s**2), share(B * s, B * s**2)
    (1/4, 3/4, 0)
    """
    if whole == 0:
        return sympy.Integer(0)
    if part.is_number and whole.is_number:
        return sympy.Rational(part) / sympy.Rational(whole)
    t = sympy.Dummy("t", positive=True)
    symbols = (part.free_symbols | whole.free_symbols) - {t}
    top, bottom = (sympy.Poly(_smooth(e).xreplace(dict.fromkeys(symbols, t)), t) for e in (part, whole))
    if top.degree() < bottom.degree():
        return sympy.Integer(0)
    return sympy.Rational(top.LC()) / sympy.Rational(bottom.LC())


def _tex(name: str) -> str:
    return name.replace("_", "\\_")


def _smooth(expr: sympy.Expr) -> sympy.Expr:
    """`expr` with floor(x) and ceiling(x) replaced by x: the same big-O, and a polynomial `big_o` can read."""
    return sympy.expand(expr.replace(lambda e: isinstance(e, (sympy.floor, sympy.ceiling)), lambda e: e.args[0]))


def _order(expr: sympy.Expr) -> str | None:
    """The big-O of a count as docs/json.md writes it: its dominant terms, None for a number."""
    from complexa.asymptotics import dominant_terms

    smooth = _smooth(expr)
    return None if smooth.is_number else str(dominant_terms(smooth))


class TracedDerivation:
    """The exact operation counts of a PyTorch module's forward pass and, when trained, of its backward pass, as
    sympy expressions in the sizes its inputs name. Made by `complexa.from_torch`.

    **Attributes:**

    - `module`: the module's class name; `inputs`: each input's shape (sympy sizes); `training`: whether the
      backward pass of the loss was traced.
    - `counts`: phase (``forward``, ``backward``, ``update``) -> op -> sympy expression, complexa's op vocabulary
      (docs/counting.md); ``update`` is zero: no optimizer is traced.
    - `by_layer`: module path (``"features.0"``; ``""`` the root module's own operators; ``"loss"`` the loss outside
      the module) -> phase -> op. Backward operators count for the module whose forward they differentiate.
    - `torch_flops`: phase -> the FLOPs of ``FlopCounterMode``'s formulas (the ``torch`` convention).
    - `torch_by_layer`: module path -> phase -> its FLOPs in the ``torch`` convention.
    - `torch_by_op`: ATen operator -> phase -> its FLOPs in the ``torch`` convention.
    - `tool_flops`: ``"fvcore"`` and ``"ptflops"`` -> the forward pass as that tool counts it (docs/torch.md);
      `tool_by_layer`: convention -> module path -> its part, for the paths that have one (a module ptflops
      hooks holds its hook's count; a patched function's count is in the module that called it).
    - `unsupported`: ATen operator -> the module paths where it ran uncounted (no rule). Empty when all is counted.
    - `parameters`: ``sum(p.numel() for p in module.parameters())``, an int; `parameter_bytes` their bytes, each in
      its dtype; `trainable` and `trainable_bytes` the same for those that require a gradient.
    - `modules`: module path -> `ModuleInfo` (its class name, output shapes, own parameters and buffers), every
      module of the model in ``named_modules`` order.
    - `saved`: the elements of the tensors autograd saves for the backward pass (0 without training), each storage
      once; parameters and buffers (and views of them) are the module's state and are not counted.
    - `saved_bytes`: those tensors' bytes, each in its own dtype (a dropout's mask is one byte an element);
      `saved_by_layer` and `saved_bytes_by_layer`: module path -> its part, a tensor counted in the first module
      that saved it (``"loss"`` the loss outside the module).
    - `assumptions`: where the formulas hold, as relations over the sizes (``(H >= 33, W >= 33)``): the guards torch
      recorded while tracing, read as a domain and widened by tracing again (docs/torch.md). Empty when they hold
      at every size; `evaluate` and `at` refuse sizes outside.
    """

    assumptions: tuple[sympy.Basic, ...] = ()

    def __init__(
        self,
        module: str,
        inputs: tuple[tuple[sympy.Expr, ...], ...],
        training: bool,
        rows: Mapping[str, Mapping[str, Mapping[str, list[sympy.Expr]]]],
        torch_rows: Mapping[str, Mapping[str, list[sympy.Expr]]],
        torch_layers: Mapping[str, Mapping[str, list[sympy.Expr]]],
        unsupported: Mapping[str, list[str]],
        parameters: int,
        saved: sympy.Expr,
        symbols: Mapping[str, sympy.Symbol],
        tools: Mapping[str, Mapping[str, list[sympy.Expr]]] | None = None,
        *,
        saved_by_layer: Mapping[str, tuple[sympy.Expr, sympy.Expr]] | None = None,
        parameter_bytes: int | None = None,
        trainable: int | None = None,
        trainable_bytes: int | None = None,
        modules: Mapping[str, ModuleInfo] | None = None,
    ) -> None:
        self.module = module
        self.inputs = inputs
        self.training = training
        self.unsupported = {op: list(paths) for op, paths in unsupported.items()}
        self.parameters = parameters
        self.saved = saved
        self.parameter_bytes = 4 * parameters if parameter_bytes is None else parameter_bytes
        self.trainable = parameters if trainable is None else trainable
        self.trainable_bytes = self.parameter_bytes if trainable_bytes is None else trainable_bytes
        layers = dict(saved_by_layer or {})
        self.saved_by_layer = {path: elements for path, (elements, _) in layers.items()}
        self.saved_bytes_by_layer = {path: nbytes for path, (_, nbytes) in layers.items()}
        self.saved_bytes: sympy.Expr = _total(list(self.saved_bytes_by_layer.values()))
        self.symbols = dict(symbols)
        self.modules = dict(modules or {})
        used = {op for row in rows.values() for phase in row.values() for op in phase}
        self.ops = tuple(op for op in OPS if op in BASE_OPS or op in used)
        self.by_layer: dict[str, Counts] = {
            path: {phase: {op: _total(row.get(phase, {}).get(op, [])) for op in self.ops} for phase in PHASES}
            for path, row in rows.items()
        }
        self.counts: Counts = {
            phase: {op: _total([r[phase][op] for r in self.by_layer.values()]) for op in self.ops} for phase in PHASES
        }
        self.torch_by_op = {
            op: {phase: _total(terms.get(phase, [])) for phase in PHASES[:2]} for op, terms in torch_rows.items()
        }
        self.torch_by_layer = {
            path: {phase: _total(torch_layers.get(path, {}).get(phase, [])) for phase in PHASES[:2]}
            for path in self.by_layer
        }
        self.torch_flops = {phase: _total([row[phase] for row in self.torch_by_op.values()]) for phase in PHASES[:2]}
        tools = tools or {}
        self.tool_by_layer = {
            convention: {path: _total(terms) for path, terms in tools.get(convention, {}).items()}
            for convention in FORWARD_TOOLS
        }
        self.tool_flops = {
            convention: _total([terms for row in tools.get(convention, {}).values() for terms in row])
            for convention in FORWARD_TOOLS
        }

    @property
    def free_symbols(self) -> frozenset[sympy.Symbol]:
        """The symbols `evaluate` needs values for: those the inputs name."""
        return frozenset(self.symbols.values())

    @cached_property
    def quantities(self) -> dict[str, sympy.Expr]:
        """``n_mul`` and ``n_g`` (forward multiplications and activations), ``time_forward`` (every forward op) and,
        when trained, ``time_gradient_descent`` (every op of the step, forward and backward)."""
        forward = self.counts["forward"]
        out = {
            "n_mul": forward["mul"],
            "n_g": forward["act"],
            "time_forward": _total(list(forward.values())),
        }
        if self.training:
            out["time_gradient_descent"] = _total([v for phase in self.counts.values() for v in phase.values()])
        return out

    @property
    def phases(self) -> tuple[str, ...]:
        """The phases traced: ``("forward", "backward")`` when trained, ``("forward",)`` otherwise."""
        return PHASES[:2] if self.training else PHASES[:1]

    @cached_property
    def shares(self) -> dict[str, dict[str, sympy.Rational]]:
        """Module path -> phase -> its share of every op the trace counts (all its phases), exactly (`share`: with
        symbols, as every size grows together); ``"total"`` -> phase -> that phase's share."""
        whole = self.quantities["time_gradient_descent" if self.training else "time_forward"]

        def ops(row: Mapping[str, sympy.Expr]) -> sympy.Expr:
            return _total(list(row.values()))

        out = {path: {p: share(ops(row[p]), whole) for p in self.phases} for path, row in self.by_layer.items()}
        out["total"] = {p: share(ops(self.counts[p]), whole) for p in self.phases}
        return out

    def big_o(self, **substitutions: object) -> dict[str, sympy.Order]:
        """The big-O of every quantity (floor and ceiling read as their arguments), after `substitutions`."""
        from complexa.asymptotics import big_o

        out = {}
        for name, q in self.quantities.items():
            smooth = _smooth(q)
            have = {s.name for s in smooth.free_symbols}
            out[name] = big_o(smooth, **{k: v for k, v in substitutions.items() if k in have})
        return out

    def evaluate(self, **values: object) -> Any:
        """The counts and quantities at integer sizes, as Python ints (an `Evaluation`).

        **Raises:** `ComplexaError` for a missing or unknown symbol, or a value that is not a positive integer.
        """
        from complexa.derivation import Evaluation

        mapping = self._mapping(values)
        return Evaluation(
            values={k.name: int(v) for k, v in mapping.items()},
            counts={p: {op: int(v.xreplace(mapping)) for op, v in ops.items()} for p, ops in self.counts.items()},
            quantities={name: int(v.xreplace(mapping)) for name, v in self.quantities.items()},
        )

    def _mapping(self, values: Mapping[str, object]) -> dict[sympy.Symbol, sympy.Expr]:
        mapping = as_values(values, self.free_symbols, "evaluate")
        missing = sorted(s.name for s in self.free_symbols - mapping.keys())
        if missing:
            raise ComplexaError(f"evaluate: give a value for every symbol; missing {', '.join(missing)}")
        for k, v in mapping.items():
            if not v.is_Integer:
                raise ComplexaError(f"evaluate: {k.name}={show(values[k.name])} must be a positive integer")
        outside = [a for a in self.assumptions if a.xreplace(mapping) is not sympy.true]
        if outside:
            names = sorted({s for a in outside for s in a.free_symbols}, key=str)
            given = ", ".join(f"{s.name}={mapping[s]}" for s in names)
            raise ComplexaError(
                f"evaluate: {given} is outside where this formula holds ({self._domain()}): torch runs another "
                "program there; trace again with those sizes as ints"
            )
        return mapping

    def holds(self, **values: object) -> bool:
        """Whether the formulas hold at these sizes (every symbol given): they satisfy every one of `assumptions`.

        >>> import pytest; torch = pytest.importorskip("torch")
        >>> from complexa import from_torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, stride=32, padding=1), nn.BatchNorm2d(2), nn.Conv2d(2, 2, 3))
        >>> d = from_torch(net.eval(), ("B", 1, "H", "W"), training=False)
        >>> d.assumptions, d.holds(B=1, H=97, W=65), d.holds(B=1, H=64, W=65)
        ((H >= 65, W >= 65), True, False)
        """
        mapping = as_values(values, self.free_symbols, "holds")
        missing = sorted(s.name for s in self.free_symbols - mapping.keys())
        if missing:
            raise ComplexaError(f"holds: give a value for every symbol; missing {', '.join(missing)}")
        return all(a.xreplace(mapping) is sympy.true for a in self.assumptions)

    def _domain(self) -> str:
        return ", ".join(str(a) for a in self.assumptions)

    def flops(self, convention: str = "exact", phase: str = "forward") -> sympy.Expr:
        """The FLOPs in `convention` of the forward pass or of the traced training step (forward and backward):
        ``exact`` every op; ``torch`` FlopCounterMode's; ``fvcore`` FlopCountAnalysis's and ``ptflops``
        get_model_complexity_info's MACs, forward only."""
        if convention in FORWARD_TOOLS:
            if phase != "forward":
                raise ComplexaError(
                    f"convention = {convention!r} with phase = {phase!r}: {convention} counts the forward pass only; "
                    "use phase='forward', or convention 'torch' or 'exact' for a training step"
                )
            return self.tool_flops[convention]
        if phase == "training" and not self.training:
            raise ComplexaError("phase = 'training': this module was traced with training=False; trace it again")
        phases = ("forward",) if phase == "forward" else PHASES
        if convention == "torch":
            return _total([self.torch_flops[p] for p in phases if p in self.torch_flops])
        if convention == "exact":
            return _total([v for p in phases for v in self.counts[p].values()])
        raise ComplexaError(
            f"convention = {convention!r}: a traced module is counted in 'exact', 'torch', 'fvcore' or 'ptflops'"
        )

    def at(self, expr: sympy.Expr, **values: object) -> int:
        """`expr` (one of this result's expressions) at integer sizes."""
        return int(sympy.sympify(expr).xreplace(self._mapping(values)))

    def latex(self) -> str:
        """Every nonzero count and the torch-convention FLOPs, one equation each (a long sum over more lines), in a
        LaTeX ``aligned`` block."""
        from complexa.printing import latex_lines

        lines = []

        def equation(lhs: str, value: sympy.Expr) -> None:
            first, *rest = latex_lines(value)  # a long sum goes on over more lines
            lines.extend([f"{lhs} &= {first}", *(f"&\\quad {line}" for line in rest)])

        for phase, ops in self.counts.items():
            for op, value in ops.items():
                if value != 0:
                    equation(f"\\mathrm{{{phase}}}_{{\\mathrm{{{_tex(op)}}}}}", value)
        for phase, value in self.torch_flops.items():
            equation(f"\\mathrm{{FLOPs}}^{{\\mathrm{{torch}}}}_{{\\mathrm{{{phase}}}}}", value)
        for name, order in self.big_o().items():
            lines.append(f"\\mathrm{{{_tex(name)}}} &\\in {sympy.latex(order)}")
        if self.assumptions:
            domain = ",\\ ".join(sympy.latex(a) for a in self.assumptions)
            lines.append(f"&\\text{{for }} {domain}")
        body = " \\\\\n".join(lines)
        return f"\\begin{{aligned}}\n{body}\n\\end{{aligned}}"

    def _latex(self, printer: Any) -> str:
        return self.latex()

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON document in the style of docs/json.md (``"kind": "torch"``)."""

        def value(expr: sympy.Expr) -> int | str:
            return int(expr) if expr.is_Integer else str(expr)

        orders = self.big_o()
        phases = self.phases if not self.training else PHASES  # forward only: no backward or update to print
        return {
            "kind": "torch",
            "schema_version": 1,
            "module": self.module,
            "inputs": [[value(s) for s in shape] for shape in self.inputs],
            "training": self.training,
            "parameters": self.parameters,
            "counts": {
                p: {op: {"value": value(v), "big_o": _order(v)} for op, v in self.counts[p].items()} for p in phases
            },
            "flops": {
                "torch": {p: value(self.torch_flops[p]) for p in self.phases},
                "exact": {"forward": value(self.flops("exact"))},
                **{c: {"forward": value(v)} for c, v in self.tool_flops.items()},
            },
            "quantities": {
                name: {"value": value(q), "big_o": None if q.is_number else str(orders[name].expr)}
                for name, q in self.quantities.items()
            },
            "by_layer": {
                path: {
                    "counts": {p: {op: value(v) for op, v in row[p].items()} for p in phases},
                    "share": {p: value(v) for p, v in self.shares[path].items()},
                }
                for path, row in self.by_layer.items()
            },
            "modules": {
                path: {
                    "type": m.type,
                    "outputs": [[value(size) for size in shape] for shape in m.outputs],
                    "parameters": {"trainable": m.trainable, "frozen": m.frozen, "buffers": m.buffers},
                }
                for path, m in self.modules.items()
            },
            "unsupported": self.unsupported,
            "assumptions": [str(a) for a in self.assumptions],
        }

    def table(self, phase: str = "forward") -> list[tuple[str, dict[str, sympy.Expr]]]:
        """One row per module path: its ops of `phase`."""
        return [(path or "(root)", row[phase]) for path, row in self.by_layer.items()]

    def __str__(self) -> str:
        lines = [f"from_torch({self.module}, {', '.join(str(tuple(s)) for s in self.inputs)})"]
        for phase, ops in self.counts.items():
            for op, v in ops.items():
                if v != 0:
                    lines.append(f"  {phase}.{op} = {v}")
        for phase, v in self.torch_flops.items():
            lines.append(f"  torch FLOPs, {phase} = {v}")
        for op, paths in self.unsupported.items():
            lines.append(f"  unsupported: {op} in {', '.join(repr(p) for p in paths)}")
        if self.assumptions:
            lines.append(f"  for {self._domain()}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<TracedDerivation of {self.module} at {', '.join(str(tuple(s)) for s in self.inputs)}>"
