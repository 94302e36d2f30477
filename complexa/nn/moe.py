"""`MoE(d_model, d_ff, n_experts, top_k)`: a top-k routed mixture of SwiGLU experts, as Mixtral's
``MixtralSparseMoeBlock`` in transformers 5: ``gate`` (`Router`, its weight E x d) and ``experts`` (`Experts`, the
experts' weights fused: ``gate_up_proj`` E x 2 d_ff x d and ``down_proj`` E x d x d_ff), each a row of its own and
each taking the block's input.

Every token goes to exactly `top_k` (k) experts, so the experts' total work is the same whatever the routing: the
counts are exact for any routing, with E = n_experts, f = d_ff, per row (token):

- `Router` (``mlp.gate``): forward the logits, E dot products of length d (E d mul, E (d - 1) add); their softmax as
  cross-entropy's ((E - 1) cmp, (2 E - 1) add, E exp, E div); the top k by k passes of a maximum over the scores
  not yet taken, k (2 E - k - 1) / 2 cmp; the renormalisation w = v / sum v over the k (k - 1 add, k div). Error
  (always: its weight gradient needs it): the renormalisation's backward dv = (dw - sum dw w) / s (k mul, 2 k - 1
  add, k div), the softmax's over the E scores, the k gradients scattered among zeros (2 E mul, 2 E - 1 add); and,
  when the block computes its input's gradient, dx = W^T dz (d E mul, d (E - 1) add). Gradients: dW = sum over
  the B rows of dz x^T (B E d mul, (B - 1) E d add).
- `Experts` (``mlp.experts``): forward, for each of the k experts, [g; u] = W_gu x (2 f d mul, 2 f (d - 1) add),
  silu(g) (f act), h = silu(g) u (f mul), o = W_down h (d f mul, d (f - 1) add), o w (d mul); y = the sum of the k
  (k - 1) d add. Error (always: the weight gradients need it), for each of the k: do = dy w (d mul) and the routing
  weight's gradient dw = dy . o (d mul, d - 1 add); dh = W_down^T do (f d mul, f (d - 1) add); d silu = dh u and
  du = dh silu(g) (2 f mul); dg = d silu g' (f act_grad, f mul); and, when the block computes its input's
  gradient, dx_e = W_gu^T [dg; du] (2 f d mul, d (2 f - 1) add) and dx = their sum ((k - 1) d add). Gradients: each
  routed token adds its dW_gu = [dg; du] x^T and dW_down = do h^T into its expert's gradient, which starts at zero
  (so that the count is the routing's sum, whatever the routing): B k 3 f d mul and B k 3 f d add.
- `MoE` (``mlp``) itself: the join of the router's and the experts' input gradients, d add per row, when it
  computes its input's gradient.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import sympy

from complexa.errors import ComplexaError
from complexa.models._layers import Value
from complexa.nn._base import Convert, Cost, FixedWidth, Layer, Width, cost, replaced, size

__all__ = ["MoE", "Router", "Experts", "top_k_compares"]


def top_k_compares(e: Value, k: Value) -> Value:
    """k passes of a maximum over E, E - 1, ..., E - k + 1 scores: k (2 E - k - 1) / 2 comparisons."""
    twice = k * (2 * e - k - 1)
    return twice // 2 if isinstance(twice, int) else twice * Fraction(1, 2)


class _Part(Layer):
    """A part of an `MoE`, walked as its row and never a layer of a stack by itself (so not in `KINDS`: its `name`
    is its kind's)."""

    name = ""
    d_model: sympy.Expr

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(str(v) for v in self._values())})"

    def output(self, width: Width | None, path: str) -> Width:
        raise ComplexaError(
            f"layer {path} ({self!r}) is a part of a mixture of experts; use nn.MoE(d_model, d_ff, n_experts, top_k)"
        )

    @property
    def has_parameters(self) -> bool:
        return True

    @property
    def fixed_input(self) -> sympy.Expr:
        return self.d_model


class Router(_Part):
    """Mixtral's router (``MixtralTopKRouter``): logits = W x (W: E x d, no bias), softmax, top-k, renormalised."""

    name = "Router"
    uses = ("div", "exp", "cmp")
    _fields = ("d_model", "n_experts", "top_k")

    def __init__(self, d_model: sympy.Expr, n_experts: sympy.Expr, top_k: sympy.Expr) -> None:
        self.d_model, self.n_experts, self.top_k = d_model, n_experts, top_k

    def parameters(self, width: sympy.Expr) -> list[tuple[str, tuple[sympy.Expr, ...]]]:
        return [("weight", (self.n_experts, self.d_model))]

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        d, e, k = convert(self.d_model), convert(self.n_experts), convert(self.top_k)
        ed = e * d
        forward = {
            "mul": batch * ed,
            "add": batch * (ed + e + k - 2),
            "div": batch * (e + k),
            "exp": batch * e,
            "cmp": batch * (e - 1 + top_k_compares(e, k)),
        }
        error = {"mul": batch * (k + 2 * e), "add": batch * (2 * k + 2 * e - 2), "div": batch * k}
        if input_grad:
            error["mul"] = error["mul"] + batch * ed
            error["add"] = error["add"] + batch * (ed - d)
        return cost(forward, error, {"mul": batch * ed, "add": (batch - 1) * ed})

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        d, e, k = convert(self.d_model), convert(self.n_experts), convert(self.top_k)
        # The probabilities, the k indices and weights, and their sum s before renormalising (its backward divides by
        # it); dz and, when computed, dx.
        return batch * (e + 2 * k + 1), batch * e + (batch * d if input_grad else 0)

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Router:
        return Router(self.d_model.xreplace(mapping), self.n_experts.xreplace(mapping), self.top_k.xreplace(mapping))


class Experts(_Part):
    """Mixtral's experts (``MixtralExperts``), SwiGLU each, their weights fused into ``gate_up_proj`` (E x 2 d_ff x
    d) and ``down_proj`` (E x d x d_ff); each token through its k experts, weighted by the router."""

    name = "Experts"
    _fields = ("d_model", "d_ff", "n_experts", "top_k")

    def __init__(self, d_model: sympy.Expr, d_ff: sympy.Expr, n_experts: sympy.Expr, top_k: sympy.Expr) -> None:
        self.d_model, self.d_ff, self.n_experts, self.top_k = d_model, d_ff, n_experts, top_k

    def parameters(self, width: sympy.Expr) -> list[tuple[str, tuple[sympy.Expr, ...]]]:
        e, d, f = self.n_experts, self.d_model, self.d_ff
        return [("gate_up_proj", (e, 2 * f, d)), ("down_proj", (e, d, f))]

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        d, f, k = convert(self.d_model), convert(self.d_ff), convert(self.top_k)
        fd = f * d
        routed = batch * k  # the (token, expert) pairs
        forward = {"mul": routed * (3 * fd + f + d), "add": routed * (3 * fd - 2 * f) - batch * d, "act": routed * f}
        error = {"mul": routed * (fd + 3 * f + 2 * d), "add": routed * (fd + d - f - 1), "act_grad": routed * f}
        if input_grad:
            error["mul"] = error["mul"] + routed * 2 * fd
            error["add"] = error["add"] + routed * 2 * fd - batch * d
        return cost(forward, error, {"mul": routed * 3 * fd, "add": routed * 3 * fd})

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        d, f, k = convert(self.d_model), convert(self.d_ff), convert(self.top_k)
        routed = batch * k
        # Per routed pair g, u, silu(g), h and o (the backward reads each); the output. Per pair dg, du, dh and do; the
        # weights' gradient; dx.
        return routed * (4 * f + d) + batch * d, routed * (3 * f + d + 1) + (batch * d if input_grad else 0)

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> Experts:
        return Experts(*(v.xreplace(mapping) for v in (self.d_model, self.d_ff, self.n_experts, self.top_k)))


class MoE(FixedWidth):
    """A top-k routed mixture of `n_experts` SwiGLU experts of width `d_ff`, as Mixtral's sparse MoE block.

    >>> MoE("d", "f", 8, 2)
    MoE(d, f, 8, 2)
    """

    kind = "MoE"
    parallel = frozenset({"gate", "experts"})
    _fields = ("d_model", "d_ff", "n_experts", "top_k")

    def __init__(self, d_model: object, d_ff: object, n_experts: object, top_k: object) -> None:
        self.d_model = size(d_model, "MoE", "d_model")
        self.d_ff = size(d_ff, "MoE", "d_ff")
        self.n_experts = size(n_experts, "MoE", "n_experts")
        self.top_k = size(top_k, "MoE", "top_k")
        e, k = self.n_experts, self.top_k
        if e.is_Integer and k.is_Integer and k > e:
            raise ComplexaError(f"MoE(n_experts = {e}, top_k = {k}): top_k must be at most n_experts")
        self.gate = Router(self.d_model, e, k)
        self.experts = Experts(self.d_model, self.d_ff, e, k)

    def children(self) -> tuple[Layer, ...]:
        return (self.gate, self.experts)

    def inner(self, width: sympy.Expr) -> list[tuple[str, Layer, sympy.Expr]]:
        return [("gate", self.gate, self.d_model), ("experts", self.experts, self.d_model)]

    def cost(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> Cost:
        return cost(None, {"add": batch * convert(self.d_model)} if input_grad else None)

    def memory(self, width: Value, batch: Value, input_grad: bool, convert: Convert) -> tuple[Value, Value]:
        return 0, batch * convert(self.d_model) if input_grad else 0

    def xreplace(self, mapping: Mapping[sympy.Symbol, sympy.Expr]) -> MoE:
        return MoE(*(replaced(getattr(self, f), mapping, f"MoE({f})") for f in self._fields))

    def __repr__(self) -> str:
        return f"MoE({self.d_model}, {self.d_ff}, {self.n_experts}, {self.top_k})"
