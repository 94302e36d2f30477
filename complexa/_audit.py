"""`audit`: the essay's claims, checked against the exact model and against a network that counts its work.

Every result of the essay is stated for n neurons in each of n layers, and gradient descent for n iterations. For
each, the audit sets side by side: the essay's expression and the big-O it claims; the exact model's expression and
big-O under the same assumptions (depth L = n, iterations T = n), for one input vector (batch 1, the essay's x in R^n)
and for a batch of n (what its matrix-shaped activations a^(k) in R^(n x n) amount to); the counts of the reference
network measured for n = 2..16 with the exponent fitted to them; and a verdict comparing the claimed exponent with
the exact one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, overload

import sympy

from complexa._audit_claims import ASSUMED, BATCHES, SPECS, Counts, L, N, T, Value
from complexa._audit_llm import LLMAudit, audit_llm
from complexa._format import text_order
from complexa._limits import show
from complexa.asymptotics import big_o
from complexa.derivation import Derivation, derive
from complexa.errors import ComplexaError
from complexa.network import Network

__all__ = ["audit", "Audit", "AuditRow", "Side", "Verdict", "BATCHES"]


@dataclass(frozen=True)
class Verdict:
    """The essay's claimed exponent of n against the exact model's.

    >>> str(Verdict(essay=5, exact=3)), str(Verdict(4, 4)), str(Verdict(3, 4))
    ('overcounts by n^2', 'holds', 'undercounts by n')
    """

    essay: int
    exact: int

    @property
    def kind(self) -> str:
        """``"holds"``, ``"overcounts"`` or ``"undercounts"``."""
        return "holds" if self.essay == self.exact else "overcounts" if self.essay > self.exact else "undercounts"

    @property
    def factor(self) -> int:
        """k in n^k: how far the essay's exponent is from the exact one (0 when it holds)."""
        return abs(self.essay - self.exact)

    def __str__(self) -> str:
        if self.kind == "holds":
            return "holds"
        return f"{self.kind} by {'n' if self.factor == 1 else f'n^{self.factor}'}"


@dataclass(frozen=True)
class Side:
    """One reading of a claim under the exact model, and the measurements of it.

    **Attributes:**

    - `batch`: ``"1"`` or ``"n"``.
    - `expr`: the exact model's expression in n, L and T (width, depth, iterations).
    - `assumed`: `expr` with L = n and T = n: what was measured.
    - `order`: the dominant term of `assumed`, n^k; `exponent` is k.
    - `model`: `assumed` at each n of the audit, exact.
    - `measured`: the reference network's count at each n (a ratio of counts on the learning/inference row).
    - `fit`: the least-squares slope of log(measured) against log(n).
    - `verdict`: the essay's claimed exponent against `exponent`.
    """

    batch: str
    expr: sympy.Expr
    assumed: sympy.Expr
    order: sympy.Expr
    exponent: int
    model: tuple[Value, ...]
    measured: tuple[Value, ...]
    fit: float
    verdict: Verdict


@dataclass(frozen=True)
class AuditRow:
    """One result of the essay, checked.

    **Attributes:**

    - `key`: a quantity's name (``"n_mul"``, ...) or ``"conclusion_..."`` for a statement of the conclusion.
    - `section`, `claim`, `quote`: where the essay says it, the claim in short, and the essay's words.
    - `essay_expr`: the essay's own expression in n, L and T, or None where it states only a big-O.
    - `essay_order`: the big-O the essay claims, n^k; `essay_exponent` is k.
    - `sides`: batch (``"1"``, ``"n"``) -> `Side`.
    - `measured_what`: which counts of the reference network were measured.
    - `bound`: whether the measured count is an upper bound on the quantity rather than the quantity itself.
    - `note`: what else to know about this row.
    """

    key: str
    section: str
    claim: str
    quote: str
    essay_expr: sympy.Expr | None
    essay_order: sympy.Expr
    essay_exponent: int
    sides: dict[str, Side]
    measured_what: str
    bound: bool
    note: str


def _exponent(monomial: sympy.Expr) -> int:
    return int(sympy.degree(monomial, N)) if monomial.free_symbols else 0


def _order(expr: sympy.Expr, ratio: bool) -> sympy.Expr:
    if ratio:
        numerator, denominator = sympy.fraction(sympy.together(expr))
        return N ** (_exponent(_order(numerator, False)) - _exponent(_order(denominator, False)))
    present = {s.name for s in expr.free_symbols}
    return big_o(expr, **{k.name: v for k, v in ASSUMED.items() if k.name in present}).expr


def fit_exponent(ns: tuple[int, ...], values: tuple[Value, ...]) -> float:
    """The least-squares slope of log(value) against log(n): the exponent k of the best fit c n^k.

    >>> fit_exponent((2, 4, 8), (8, 64, 512))
    3.0
    """
    xs = [math.log(n) for n in ns]
    ys = [math.log(float(v)) for v in values]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return round(slope, 10)


@dataclass(frozen=True)
class Audit:
    """The essay's claims, checked: made by `audit`.

    Prints as an aligned text table (``str``); `markdown`, `latex` and `as_json` give the other formats.

    **Attributes:**

    - `ns`: the widths measured (n = depth = iterations = width; batch 1 and batch n).
    - `backend`: where the reference network ran.
    - `rows`: one `AuditRow` per result of the essay, in the essay's order, then its conclusion.
    - `contradictions`: where the essay contradicts itself, in words.
    - `networks`: how many measurements were compared with the exact model, every phase and op of each.
    - `counts_agree`: whether every one of them equalled the exact model's count.
    """

    ns: tuple[int, ...]
    backend: str
    rows: tuple[AuditRow, ...]
    contradictions: tuple[str, ...]
    networks: int
    counts_agree: bool

    def row(self, key: str) -> AuditRow:
        """The row called `key`."""
        for row in self.rows:
            if row.key == key:
                return row
        raise ComplexaError(f"key = {show(key)}: the audit has rows {', '.join(r.key for r in self.rows)}")

    def __str__(self) -> str:
        from complexa._audit_format import audit_text  # the renderers import this module

        return audit_text(self)

    def markdown(self) -> str:
        """The audit as Markdown: the verdicts, the expressions, the notes and the contradictions."""
        from complexa._audit_format import audit_markdown  # the renderers import this module

        return audit_markdown(self)

    def latex(self) -> str:
        """The verdict table as a LaTeX ``array``."""
        from complexa._audit_format import audit_latex  # the renderers import this module

        return audit_latex(self)

    def as_json(self) -> dict[str, object]:
        """The audit as JSON-ready data, as documented in docs/json.md."""
        from complexa._audit_format import audit_json  # the renderers import this module

        return audit_json(self)


def _check_ns(max_n: object) -> tuple[int, ...]:
    if isinstance(max_n, bool) or not isinstance(max_n, int) or not 3 <= max_n <= 64:
        raise ComplexaError(f"max_n = {show(max_n)}: must be an int from 3 to 64 (the audit measures n = 2..max_n)")
    return tuple(range(2, max_n + 1))


def _measure_all(ns: tuple[int, ...], backend: str) -> tuple[dict[tuple[int, str], tuple[Counts, Counts]], bool]:
    """Measure, for each n and batch, one step and n steps of the uniform network; compare each with `derive`."""
    from complexa.reference import measure  # numba only now: the symbolic side never imports it

    out: dict[tuple[int, str], tuple[Counts, Counts]] = {}
    agree = True
    for n in ns:
        for batch in BATCHES:
            network = Network.uniform(n, n, batch=1 if batch == "1" else n)
            runs = []
            for iterations in (1, n):
                counts = measure(network, backend=backend, iterations=iterations).counts
                agree &= counts == derive(network, iterations=iterations).evaluate().counts
                runs.append(counts)
            out[n, batch] = (runs[0], runs[1])
    return out, agree


def _contradictions(rows: dict[str, AuditRow], essay: Derivation, exact: dict[str, Derivation]) -> tuple[str, ...]:
    out = []
    derived, concluded = rows["time_forward"].essay_exponent, rows["conclusion_forward"].essay_exponent
    if derived != concluded:
        out.append(
            f"Forward propagation: the derivation finds O(n^{derived}) (time = n_mul + n_g, n layers of n neurons), "
            f"the conclusion O(n^{concluded})."
        )
    mul, g = rows["n_mul"].sides, rows["n_g"].sides
    mul_holds = [b for b in BATCHES if mul[b].verdict.kind == "holds"]
    g_holds = [b for b in BATCHES if g[b].verdict.kind == "holds"]
    if mul_holds == ["n"] and g_holds == ["1"]:
        out.append(
            f"Batch: {rows['n_mul'].claim} holds only for a batch of n (its matrix-shaped activations), "
            f"{rows['n_g'].claim} only for one input vector (its x in R^n): it counts the multiplications of n "
            "samples and the activations of one."
        )
    essay_layer = [_order(sympy.diff(essay.quantities[q], L), False) for q in ("time_error", "n_mul")]
    exact_layer = {
        b: [_order(sympy.diff(exact[b].quantities[q], L), False) for q in ("time_error", "n_mul")] for b in BATCHES
    }
    if essay_layer[0] != essay_layer[1] and all(e[0] == e[1] for e in exact_layer.values()):
        out.append(
            f"Per layer: its time_error grows by {text_order(essay_layer[0])} a layer and its n_mul by "
            f"{text_order(essay_layer[1])}, though a layer's deltas are one product with the layer's weights "
            f"(transposed), as its forward pass is; in the exact model both grow by {text_order(exact_layer['1'][0])} "
            f"a layer for one vector and {text_order(exact_layer['n'][0])} for a batch of n."
        )
    gd, weights = rows["conclusion_backpropagation"].essay_exponent, rows["time_weights"].essay_exponent
    out.append(
        f"The conclusion sets n gradient iterations of backpropagation, O(n^{gd}), against one forward pass, "
        f"O(n^{concluded}); per training step its own figures are O(n^{weights}) (time_weights) against "
        f"O(n^{derived}) (time)."
    )
    return tuple(out)


@overload
def audit(name: Literal["essay"] = "essay", *, max_n: int = 16, backend: str = "cpu") -> Audit: ...
@overload
def audit(
    name: Literal["kaplan", "chinchilla", "megatron", "palm", "llama", "mixtral", "inference"],
    *,
    max_n: int = 16,
    backend: str = "cpu",
) -> LLMAudit: ...
@overload
def audit(name: str, *, max_n: int = 16, backend: str = "cpu") -> Audit | LLMAudit: ...
def audit(name: str = "essay", *, max_n: int = 16, backend: str = "cpu") -> Audit | LLMAudit:
    """Check the essay's claims against the exact model and the reference network; or, given a source's name, the
    published FLOP formulas of large language models against complexa's GPT (`complexa._audit_llm`).

    **Arguments:**

    - `name`: ``"essay"`` (the default), or one source of LLM formulas: ``"kaplan"``, ``"chinchilla"``,
      ``"megatron"`` or ``"palm"`` (checked on complexa's GPT), ``"llama"``, ``"mixtral"`` or ``"inference"``
      (on its Llama kinds), which return an `LLMAudit` and take no measurement (`max_n` and `backend` are the
      essay's only).
    - `max_n`: measure uniform networks of width n, depth n (and n iterations where a claim has them) for
      n = 2..`max_n`, with batch 1 and batch n; an int from 3 to 64.
    - `backend`: where to run the reference network, ``"cpu"`` or ``"cuda"``.

    **Returns:** an `Audit`, one row per result of the essay; for a source's name, an `LLMAudit`, one row per
    published statement.

    **Raises:** `ComplexaError` for a bad argument (a name that is no audit, one line listing them) or a backend
    that cannot run.

    >>> a = audit(max_n=4)
    >>> r = a.row("n_mul")
    >>> r.essay_order, r.sides["1"].order, str(r.sides["1"].verdict), str(r.sides["n"].verdict)
    (n**4, n**3, 'overcounts by n', 'holds')
    >>> r.sides["1"].measured
    (8, 27, 64)
    """
    if name != "essay":
        if (max_n, backend) != (16, "cpu"):
            raise ComplexaError(
                f"max_n = {show(max_n)}, backend = {show(backend)} with {show(name)}: only the essay's audit measures "
                f"networks and takes them; the {show(name)} audit compares published formulas; leave them out"
            )
        return audit_llm(name)  # raises for a name that is no audit
    ns = _check_ns(max_n)
    essay = derive(Network.uniform(N, L), model="essay", iterations=T)
    exact = {b: derive(Network.uniform(N, L, batch=1 if b == "1" else N), iterations=T) for b in BATCHES}
    measured, agree = _measure_all(ns, backend)
    rows: dict[str, AuditRow] = {}
    for spec in SPECS:
        essay_exponent = _exponent(spec.claimed)
        sides = {}
        for b in BATCHES:
            expr = spec.exact(exact[b])
            assumed = sympy.expand(expr.xreplace(ASSUMED)) if not spec.ratio else sympy.cancel(expr.xreplace(ASSUMED))
            order = _order(expr, spec.ratio)
            values = tuple(spec.measured(*measured[n, b]) for n in ns)
            sides[b] = Side(
                batch=b,
                expr=expr,
                assumed=assumed,
                order=order,
                exponent=_exponent(order),
                model=tuple(sympy.Rational(assumed.xreplace({N: n})) for n in ns),
                measured=values,
                fit=fit_exponent(ns, values),
                verdict=Verdict(essay_exponent, _exponent(order)),
            )
        rows[spec.key] = AuditRow(
            key=spec.key,
            section=spec.section,
            claim=spec.claim,
            quote=spec.quote,
            essay_expr=spec.essay(essay),
            essay_order=spec.claimed,
            essay_exponent=essay_exponent,
            sides=sides,
            measured_what=spec.measured_what,
            bound=spec.bound,
            note=spec.note,
        )
    return Audit(
        ns=ns,
        backend=backend,
        rows=tuple(rows.values()),
        contradictions=_contradictions(rows, essay, exact),
        networks=4 * len(ns),
        counts_agree=agree,
    )
