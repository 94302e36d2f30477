"""`derive`: a network's operation counts and the essay's six quantities, symbolic, with the steps that lead to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Literal, overload

import sympy

from complexa._choices import MODELS
from complexa._limits import show
from complexa._poly import Converter, add, to_expr
from complexa._validate import as_choice, as_size, as_values
from complexa.asymptotics import big_o as _big_o
from complexa.errors import ComplexaError
from complexa.models import essay, exact
from complexa.models._layers import ConcreteLayers, GeneralLayers, Layers, UniformLayers, Value
from complexa.network import Network
from complexa.nn._base import merge

if TYPE_CHECKING:
    from complexa._inference import Inference

PHASES = ("training", "prefill", "decode")
"""What `derive` counts: training steps, or a language model's prefill or decode step (docs/inference.md)."""

__all__ = ["derive", "Derivation", "Evaluation", "Step", "MODELS", "QUANTITIES"]

QUANTITIES = ("n_mul", "n_g", "time_forward", "time_error", "time_weights", "time_gradient_descent")
"""The essay's six quantities, in its order."""

Counts = dict[str, dict[str, sympy.Expr]]


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs = rhs``, with a note saying where it comes from.

    `lhs` is a quantity's name, or None for a line that continues the one before (``= rhs``).
    """

    lhs: str | None
    rhs: sympy.Basic
    note: str = ""

    def _latex(self, printer: sympy.printing.latex.LatexPrinter) -> str:
        from complexa.printing import latex_step

        return latex_step(self)

    def _sympystr(self, printer: sympy.printing.str.StrPrinter) -> str:
        from complexa.printing import text_step

        return text_step(self)


def _layers(network: Network, convert: Converter) -> Layers:
    if network.width is not None:
        # Every layer of one width: the closed form, as quick for a depth of 10**18 (or a symbol) as for 3.
        return UniformLayers(convert(network.width), convert(network.depth))
    return ConcreteLayers([convert(size) for size in network.sizes])


def _plain(value: sympy.Expr) -> Value:
    return int(value) if value.is_Integer else value


def _exact(
    network: Network, layers: Layers | None, convert: Converter, batch: Value, iterations: Value
) -> tuple[dict[str, dict[str, Value]], dict[str, Value], list[exact.Row] | None]:
    """Per-step sections, the update's totals over `iterations` and, for a stack, its rows."""
    optimizer = exact.optimizer_of(network)
    if network.is_stack:
        rows = exact.stack(network, convert, batch)
        secs = merge([row[1] for row in rows])
        elements, tensors = add([row[2] for row in rows]), add([row[3] for row in rows])
    else:
        assert layers is not None
        rows = None
        secs = exact.sections(layers, batch, bias=network.bias, activation=network.activation, loss=network.loss)
        elements, tensors = exact.parameters(layers, bias=network.bias), exact.tensors(layers, bias=network.bias)
    return secs, optimizer.update(elements, tensors, iterations), rows


def _total(ops: Mapping[str, Value]) -> Value:
    return add(list(ops.values()))


def _exact_quantities(
    secs: Mapping[str, Mapping[str, Value]], update: Mapping[str, Value], iterations: Value
) -> dict[str, Value]:
    time_forward = _total(secs["forward"])
    time_error = _total(secs["error"])
    time_weights = time_error + _total(secs["gradients"])
    return {
        "n_mul": secs["forward"].get("mul", 0),
        "n_g": secs["forward"].get("act", 0),
        "time_forward": time_forward,
        "time_error": time_error,
        "time_weights": time_weights,
        "time_gradient_descent": iterations * (time_forward + time_weights) + _total(update),
    }


def _phases(
    secs: Mapping[str, Mapping[str, Value]], update: Mapping[str, Value], iterations: Value, ops: tuple[str, ...]
) -> dict[str, dict[str, Value]]:
    def per_step(*names: str) -> dict[str, Value]:
        return {op: iterations * add([secs[name].get(op, 0) for name in names]) for op in ops}

    return {
        "forward": per_step("forward"),
        "backward": per_step("error", "gradients"),
        "update": {op: update.get(op, 0) for op in ops},
    }


class Derivation:
    """The counts and quantities of a network under a cost model, and the steps that derive them.

    Made by `derive`. Prints as a summary (``str``), as a LaTeX ``aligned`` block (``sympy.latex``, `latex`) and in
    Jupyter.

    **Attributes:**

    - `network`, `model`, `iterations`: what was derived.
    - `counts`: phase -> op -> sympy expression, totals over `iterations` training steps (see `derive`).
    - `quantities`: the essay's quantities by name (`QUANTITIES`), sympy expressions.
    - `notes`: what the model could not give for this network, and why.
    """

    network: Network
    model: str
    iterations: sympy.Expr
    notes: tuple[str, ...]

    def __init__(self, network: Network, model: str, iterations: sympy.Expr) -> None:
        self.network = network
        self.model = model
        self.iterations = iterations
        convert = Converter(network.free_symbols | iterations.free_symbols)
        layers = None if network.is_stack else _layers(network, convert)
        T = convert(iterations)
        notes: list[str] = []
        self._convert = convert
        if model == "exact":
            secs, update, rows = _exact(network, layers, convert, convert(network.tokens), T)
            counts = _phases(secs, update, T, exact.ops_of(network))
            quantities = _exact_quantities(secs, update, T)
            self._rows = rows
        else:
            assert layers is not None
            quantities = essay.forward(layers)
            counts = {"forward": {"mul": quantities["n_mul"], "act": quantities["n_g"]}}
            if network.is_uniform:
                assert network.width is not None
                quantities.update(essay.backward(convert(network.width), convert(network.depth), T))
            else:
                notes.append(
                    "The essay gives time_error, time_weights and time_gradient_descent only for n neurons in every "
                    "layer; this network's sizes differ, so the essay model has none of them."
                )
        self.notes = tuple(notes)
        # The counts as exact polynomials (or ints): `evaluate` reads them at integers, and the sympy expressions of
        # `counts` and `quantities` are built from them when first asked for.
        self._polynomials = (
            counts,
            {name: quantities[name] for name in QUANTITIES if name in quantities},
            convert.symbols,
        )

    @cached_property
    def counts(self) -> Counts:
        """phase -> op -> sympy expression, totals over `iterations` training steps (see `derive`)."""
        return {phase: {op: to_expr(v) for op, v in ops.items()} for phase, ops in self._polynomials[0].items()}

    @cached_property
    def by_layer(self) -> dict[str, Counts]:
        """One row per layer, named by its torch module path (``"0"``, ``"3.0"``), and ``"loss"``: phase -> op ->
        sympy expression, totals over `iterations` steps, each layer's update included. A Residual's row holds its
        own addition only: its body's layers have rows of their own, so the rows add up to `counts`. A dense network
        of symbolic depth has rows ``"2k"`` (its Linear layers) and ``"2k+1"`` (their activations), each summed over
        k = 0..L-1.

        >>> from complexa import nn
        >>> d = derive(Network([nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]))
        >>> d.by_layer["2"]["backward"]
        {'mul': 6, 'add': 0, 'act': 0, 'act_grad': 0}
        """
        if self.model != "exact":
            raise ComplexaError("by_layer: the essay model counts whole networks, not layers; use model='exact'")
        ops = tuple(next(iter(self.counts.values())))
        T = self._convert(self.iterations)
        optimizer = exact.optimizer_of(self.network)
        out: dict[str, Counts] = {}
        for path, cost, elements, tensors in self._layer_rows():
            update = optimizer.update(elements, tensors, T) if tensors else {}
            phases = _phases(cost, update, T, ops)
            out[path] = {phase: {op: to_expr(v) for op, v in row.items()} for phase, row in phases.items()}
        return out

    def _layer_rows(self) -> list[exact.Row]:
        network, convert = self.network, self._convert
        B = convert(network.tokens)
        if self._rows is not None:
            return self._rows
        if network.listed:
            stack = Network(list(network.layers), batch=network.batch, loss=network.loss, optimizer=network.optimizer)
            return exact.stack(stack, convert, B)
        # A uniform network of symbolic (or huge) depth: its Linear layers and its activations, each summed.
        layers = _layers(network, convert)
        dense, acts, loss = exact.parts(layers, B, bias=network.bias, activation=network.activation, loss=network.loss)
        elements, tensors = exact.parameters(layers, bias=network.bias), exact.tensors(layers, bias=network.bias)
        return [("2k", dense, elements, tensors), ("2k+1", acts, 0, 0), ("loss", loss, 0, 0)]

    @cached_property
    def quantities(self) -> dict[str, sympy.Expr]:
        """The essay's quantities by name (`QUANTITIES`), sympy expressions."""
        return {name: to_expr(value) for name, value in self._polynomials[1].items()}

    @property
    def free_symbols(self) -> frozenset[sympy.Symbol]:
        """The symbols `evaluate` needs values for: the network's and the number of iterations'."""
        return self.network.free_symbols | self.iterations.free_symbols

    @property
    def assumptions(self) -> dict[str, sympy.Expr]:
        """The essay's assumptions as substitutions, where they apply: depth and iterations equal to the width."""
        width = self.network.width
        if width is None or width.is_number:
            return {}
        return {
            s.name: width
            for s in (self.network.depth, self.iterations)
            if isinstance(s, sympy.Symbol) and s not in width.free_symbols
        }

    def big_o(self, **substitutions: object) -> dict[str, sympy.Order]:
        """The big-O of every quantity, after `substitutions` (see `complexa.big_o`); names absent from a quantity
        are ignored for it.

        >>> d = derive(Network.uniform("n", "L"), model="essay", iterations="T")
        >>> d.big_o(L="n", T="n")["time_gradient_descent"]
        O(n**6, (n, oo))
        """
        out = {}
        for name, q in self.quantities.items():
            have = {s.name for s in q.free_symbols if isinstance(s, sympy.Symbol)}
            out[name] = _big_o(q, **{k: v for k, v in substitutions.items() if k in have})
        return out

    def evaluate(self, **values: object) -> Evaluation:
        """The counts and quantities with every symbol replaced: exact Python integers, however large.

        **Arguments:**

        - `values`: a positive integer (or size expression) for every symbol of the network and of `iterations`.

        **Returns:** an `Evaluation` with `counts` and `quantities` of the same shape, as ints.

        >>> derive(Network([784, "h", 10]), iterations="T").evaluate(h=100, T=3).quantities["n_mul"]
        79400
        """
        mapping = as_values(values, self.free_symbols, "evaluate")
        missing = sorted(s.name for s in self.free_symbols - mapping.keys())
        if missing:
            raise ComplexaError(f"evaluate: give a value for every symbol; missing {', '.join(missing)}")
        still = [k for k, v in mapping.items() if not v.is_Integer]
        if still:
            raise ComplexaError(f"evaluate: {still[0].name}={show(values[still[0].name])} must be a positive integer")
        # Every size must still be a positive integer, and every count is a polynomial in the sizes: so checking the
        # substituted network, then evaluating the polynomials in Python integers, is the substitution, without
        # sympy's slow `subs`; `tests/test_derive.py` checks the two agree.
        if mapping:
            self.network.xreplace(mapping)
        counts, quantities, symbols = self._polynomials
        at = {i: int(mapping[s]) for i, s in enumerate(symbols)}
        return Evaluation(
            values={k.name: int(v) for k, v in mapping.items()},
            counts={phase: {op: _at(v, at) for op, v in ops.items()} for phase, ops in counts.items()},
            quantities={name: _at(v, at) for name, v in quantities.items()},
        )

    @cached_property
    def steps(self) -> tuple[Step, ...]:
        """The derivation, equation by equation, as the essay writes it."""
        from complexa.printing import derivation_steps

        return derivation_steps(self, _general_quantities(self))

    def latex(self) -> str:
        """The steps as a LaTeX ``aligned`` block."""
        from complexa.printing import latex_derivation

        return latex_derivation(self)

    def _latex(self, printer: sympy.printing.latex.LatexPrinter) -> str:
        return self.latex()

    def _sympystr(self, printer: sympy.printing.str.StrPrinter) -> str:
        from complexa.printing import text_derivation

        return text_derivation(self)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def __str__(self) -> str:
        return self._sympystr(sympy.printing.str.StrPrinter())

    def __repr__(self) -> str:
        return f"derive({self.network!r}, model={self.model!r}, iterations={self.iterations})"


def _at(value: Value, at: Mapping[int, int]) -> int:
    """A count (an int or a polynomial over the derivation's symbols) at integer values of its symbols."""
    if isinstance(value, int):
        return value
    whole, parts = 0, Fraction(0)  # integer coefficients in ints, the rare fractions apart: Fractions are slow
    for monom, coeff in value.terms.items():
        term = 1
        for i, e in monom:
            term *= at[i] if e == 1 else at[i] ** e
        if isinstance(coeff, int):
            whole += coeff * term
        else:
            parts += coeff * term
    assert parts.denominator == 1, "a count of a network of integer sizes is an integer"
    return whole + int(parts)


def _general_quantities(d: Derivation) -> dict[str, sympy.Expr]:
    """The quantities in the general form: n^{(k)} sizes and sums with symbolic bounds (the essay's uniform
    formulas, in n and L, for its backpropagation results); for a stack of layers, the sum of its layers' terms."""
    general = GeneralLayers()
    T = d.iterations
    if d.model == "exact" and d.network.is_stack:
        return _per_layer_quantities(d)
    if d.model == "exact":
        network, B = d.network, _plain(d.network.batch)
        secs = exact.sections(general, B, bias=network.bias, activation=network.activation, loss=network.loss)
        optimizer = exact.optimizer_of(network)
        update = optimizer.update(
            exact.parameters(general, bias=network.bias), exact.tensors(general, bias=network.bias), _plain(T)
        )
        return _exact_quantities(secs, update, _plain(T))
    out = essay.forward(general)
    n, L = sympy.symbols("n L", positive=True, integer=True)
    out.update(essay.backward(n, L, _plain(T)))
    return out


def _per_layer_quantities(d: Derivation) -> dict[str, sympy.Expr]:
    """Each quantity as the unevaluated sum of its layers' terms, in layer order."""
    T = d._convert(d.iterations)
    optimizer = exact.optimizer_of(d.network)
    per_row = []
    for _, cost, elements, tensors in d._layer_rows():
        update = optimizer.update(elements, tensors, T) if tensors else {}
        per_row.append(_exact_quantities(merge([cost]), update, T))
    out: dict[str, sympy.Expr] = {}
    for name in QUANTITIES:
        terms = [to_expr(q[name]) for q in per_row]
        terms = [t for t in terms if t != 0]
        out[name] = sympy.Add(*terms, evaluate=False) if len(terms) > 1 else (terms[0] if terms else sympy.Integer(0))
    return out


@dataclass(frozen=True)
class Evaluation:
    """A derivation at given values of its symbols: exact integers.

    **Attributes:** `values` (symbol name -> int), `counts` (phase -> op -> int), `quantities` (name -> int).
    """

    values: dict[str, int]
    counts: dict[str, dict[str, int]]
    quantities: dict[str, int]

    def __str__(self) -> str:
        from complexa.printing import text_evaluation

        return text_evaluation(self)


@overload
def derive(
    network: Network,
    *,
    model: str = ...,
    iterations: object = ...,
    phase: Literal["training"] = ...,
    prompt: object = ...,
    cache: object = ...,
    logits: str = ...,
) -> Derivation: ...
@overload
def derive(
    network: Network,
    *,
    model: str = ...,
    iterations: object = ...,
    phase: Literal["prefill", "decode"],
    prompt: object = ...,
    cache: object = ...,
    logits: str = ...,
) -> Inference: ...
@overload
def derive(
    network: Network,
    *,
    model: str = ...,
    iterations: object = ...,
    phase: str,
    prompt: object = ...,
    cache: object = ...,
    logits: str = ...,
) -> Derivation | Inference: ...
def derive(
    network: Network,
    *,
    model: str = "exact",
    iterations: object = 1,
    phase: str = "training",
    prompt: object = None,
    cache: object = None,
    logits: str = "last",
) -> Derivation | Inference:
    """Derive the operation counts of `network` and the essay's quantities under a cost model.

    **Arguments:**

    - `network`: a `Network`, its sizes integers or symbols, its depth possibly a symbol (`Network.uniform`).
    - `model`: ``"exact"`` (default), what a dense network performs, op by op (docs/counting.md); or ``"essay"``, the
      essay's own formulas, its errors included (docs/essay.md). The essay counts one input vector: batch must be 1.
    - `iterations`: training steps T, a positive integer or a symbol such as ``"T"``.
    - `phase`: ``"training"`` (default), training steps; or a language model's inference (docs/inference.md):
      ``"prefill"``, the forward pass over a prompt of `prompt` tokens that fills the KV cache, its logits for the
      last position only, as ``transformers``' ``generate`` computes them (`logits` ``"all"``: every position's);
      ``"decode"``, one new token per sequence with `cache` tokens cached. Both for `Network.gpt` only.

    **Returns:** a `Derivation`; for ``"prefill"`` and ``"decode"`` a `complexa.Inference`. In the exact model the
    Derivation's `counts` are totals over `iterations` training steps, each a forward pass, a backward pass and an
    update; the essay counts by operation only one forward pass, so the essay model's `counts` are that pass's
    ``mul`` (n_mul) and ``act`` (n_g). Of its `quantities`, ``n_mul``, ``n_g``,
    ``time_forward``, ``time_error`` and ``time_weights`` are per step and ``time_gradient_descent`` is over all
    `iterations`. In the exact model each ``time_*`` counts every operation (mul, add, act, act_grad) of its part:
    ``time_forward`` the forward pass, ``time_error`` the deltas, ``time_weights`` the deltas and the weight and
    bias gradients, and ``time_gradient_descent`` whole steps, forward pass and update included (the essay leaves
    both out).

    >>> d = derive(Network([2, 3, 1]))
    >>> d.counts["forward"]
    {'mul': 9, 'add': 9, 'act': 4, 'act_grad': 0}
    >>> derive(Network.uniform("n", "L"), model="essay").quantities["n_mul"]
    L*n**3 - n**3 + n**2
    """
    phase = as_choice(phase, PHASES, "phase")
    if phase != "training":
        from complexa._inference import infer

        if model != "exact" or iterations != 1:
            raise ComplexaError(
                f"phase = {phase!r} with model = {show(model)}, iterations = {show(iterations)}: inference is counted "
                "in the exact model, one phase at a time; drop model and iterations"
            )
        return infer(network, phase, prompt, cache, logits)
    if prompt is not None or cache is not None or logits != "last":
        raise ComplexaError(
            "prompt, cache and logits are the inference phases'; give phase='prefill' or phase='decode', or drop them"
        )
    if not isinstance(network, Network):
        raise ComplexaError(f"network = {show(network)}: must be a complexa.Network, such as Network([784, 'h', 10])")
    model = as_choice(model, MODELS, "model")
    T = as_size(iterations, "iterations")
    if model == "essay" and network.is_stack:
        raise ComplexaError(
            "model = 'essay' with a network given as layers: the essay models dense networks only; give the sizes, "
            "Network([784, 'h', 10]), or use the exact model"
        )
    if model == "essay" and network.batch != 1:
        raise ComplexaError(
            f"batch = {network.batch} with model = 'essay': the essay counts one input vector; use batch=1, or the "
            "exact model for a batch"
        )
    return Derivation(network, model, T)
