"""The CPU kernels and nodes of Mixtral's mixture of experts (`complexa.nn.MoE`: its `Router` and `Experts`),
counted as `complexa.nn.moe` derives them.

The rows are tokens. The router's logits z = W x are Linear's kernels (`linear.forward`, and backward its input and
weight gradients); the rest is here, per row, on the routing the data gives:

- route: the softmax of the E logits in place (as cross-entropy's), then the top k by k passes of a maximum over the
  scores not yet taken (each pass's first untaken score starts it; the first of equal scores wins), their sum s,
  and the weights w = v / s. The k indices (stored as float64, exact), w and s are kept.
- experts_forward: per routed pair (row r, slot p, expert e), [g; u] = W_gu[e] x (a dot product of length d each),
  a = silu(g), h = a u, o = W_down[e] h; y[r] = sum over the k slots of o w, the first slot's product starting it.
  g and u (``gu``), a, h and o are kept per pair.
- experts_backward: per pair, do = dy w; the routing weight's gradient dw = dy . o; dh = W_down[e]^T do; then
  d silu = dh u and du = dh a; dg = d silu silu'(g).
- experts_input_grad: dx[r] = sum over the k slots of W_gu[e]^T [dg; du], the first slot's first term starting it.
- experts_gradients: each expert's weight gradients from zero, each routed pair adding [dg; du] x^T and do h^T to
  its expert's: the count is the routing's own sum, so it is the same whatever the routing.
- route_backward: the renormalisation's dv = (dw - sum dw w) / s, scattered among zeros at the k indices, then the
  softmax's backward dz = p (dv - sum p dv).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from complexa.reference._node import Backend, Build, Node, Tensor, new_tensor, view
from complexa.reference.kinds import _rows as rows
from complexa.reference.kinds._jit import ACT, ACT_GRAD, ADD, BACKWARD, CMP, DIV, EXP, FORWARD, MUL, jit
from complexa.reference.kinds.activation import SILU, _activate, _derivative

__all__ = ["Kernels", "make"]


class Kernels(NamedTuple):
    route: Any
    route_backward: Any
    experts_forward: Any
    experts_backward: Any
    experts_input_grad: Any
    experts_gradients: Any


def make(count: bool) -> Kernels:
    counting = count
    dot, softmax, _, mix, _, _ = rows.make(count)

    @jit
    def route(probs, index, weights, total, counts):
        n_add = 0
        n_div = 0
        n_exp = 0
        n_cmp = 0
        n_experts = probs.shape[1]
        k = index.shape[1]
        for r in range(probs.shape[0]):
            row = probs[r]
            adds, divs, exps, cmps = softmax(row, n_experts)
            if counting:
                n_add += adds
                n_div += divs
                n_exp += exps
                n_cmp += cmps
            for p in range(k):
                best = -1
                for e in range(n_experts):
                    taken = False
                    for q in range(p):
                        if int(index[r, q]) == e:
                            taken = True
                    if taken:
                        continue
                    if best < 0:
                        best = e
                    else:
                        if counting:
                            n_cmp += 1
                        if row[e] > row[best]:
                            best = e
                index[r, p] = best
                weights[r, p] = row[best]
            s = weights[r, 0]
            for p in range(1, k):
                s += weights[r, p]
                if counting:
                    n_add += 1
            total[r] = s
            for p in range(k):
                weights[r, p] = weights[r, p] / s
                if counting:
                    n_div += 1
        if counting:
            counts[FORWARD, ADD] += n_add
            counts[FORWARD, DIV] += n_div
            counts[FORWARD, EXP] += n_exp
            counts[FORWARD, CMP] += n_cmp

    @jit
    def route_backward(probs, index, weights, total, dw, dz, counts):
        n_mul = 0
        n_add = 0
        n_div = 0
        n_experts = probs.shape[1]
        k = index.shape[1]
        for r in range(probs.shape[0]):
            s, muls, adds = dot(dw[r], 0, weights[r], 0, k)
            if counting:
                n_mul += muls
                n_add += adds
            d = dz[r]
            for e in range(n_experts):
                d[e] = 0.0
            for p in range(k):
                d[int(index[r, p])] = (dw[r, p] - s) / total[r]
                if counting:
                    n_add += 1
                    n_div += 1
            row = probs[r]
            t, muls, adds = dot(row, 0, d, 0, n_experts)
            if counting:
                n_mul += muls
                n_add += adds
            for e in range(n_experts):
                d[e] = row[e] * (d[e] - t)
                if counting:
                    n_mul += 1
                    n_add += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add
            counts[BACKWARD, DIV] += n_div

    @jit
    def experts_forward(x, w_gu, w_down, index, weights, gu, a, h, o, y, counts):
        n_mul = 0
        n_add = 0
        n_act = 0
        k = index.shape[1]
        f = a.shape[1]
        d = x.shape[1]
        for r in range(x.shape[0]):
            xr = x[r]
            out = y[r]
            for p in range(k):
                j = r * k + p
                e = int(index[r, p])
                wg = w_gu[e]
                wd = w_down[e]
                z = gu[j]
                for i in range(2 * f):
                    s, muls, adds = dot(wg[i], 0, xr, 0, d)
                    z[i] = s
                    if counting:
                        n_mul += muls
                        n_add += adds
                for i in range(f):
                    a[j, i] = _activate(z[i], SILU)
                    h[j, i] = a[j, i] * z[f + i]
                    if counting:
                        n_act += 1
                        n_mul += 1
                hj = h[j]
                w = weights[r, p]
                for i in range(d):
                    s, muls, adds = dot(wd[i], 0, hj, 0, f)
                    o[j, i] = s
                    if counting:
                        n_mul += muls
                        n_add += adds
                    if p == 0:
                        out[i] = s * w
                        if counting:
                            n_mul += 1
                    else:
                        out[i] += s * w
                        if counting:
                            n_mul += 1
                            n_add += 1
        if counting:
            counts[FORWARD, MUL] += n_mul
            counts[FORWARD, ADD] += n_add
            counts[FORWARD, ACT] += n_act

    @jit
    def experts_backward(w_down, index, weights, gu, a, o, dy, dw, dgu, dh, do, counts):
        n_mul = 0
        n_add = 0
        n_grad = 0
        k = index.shape[1]
        f = a.shape[1]
        d = dy.shape[1]
        for r in range(dy.shape[0]):
            g = dy[r]
            for p in range(k):
                j = r * k + p
                e = int(index[r, p])
                wd = w_down[e]
                w = weights[r, p]
                dj = do[j]
                oj = o[j]
                s = g[0] * oj[0]
                dj[0] = g[0] * w
                if counting:
                    n_mul += 2
                for i in range(1, d):
                    s += g[i] * oj[i]
                    dj[i] = g[i] * w
                    if counting:
                        n_mul += 2
                        n_add += 1
                dw[r, p] = s
                # dh = W_down^T do: column c of W_down against do
                for c in range(f):
                    t, muls, adds = dot(wd[:, c], 0, dj, 0, d)
                    dh[j, c] = t
                    if counting:
                        n_mul += muls
                        n_add += adds
                z = gu[j]
                dz = dgu[j]
                for c in range(f):
                    dz[f + c] = dh[j, c] * a[j, c]
                    dz[c] = dh[j, c] * z[f + c] * _derivative(z[c], a[j, c], SILU)
                    if counting:
                        n_mul += 3
                        n_grad += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add
            counts[BACKWARD, ACT_GRAD] += n_grad

    @jit
    def experts_input_grad(w_gu, index, dgu, dx, counts):
        n_mul = 0
        n_add = 0
        k = index.shape[1]
        rows2f = dgu.shape[1]
        d = dx.shape[1]
        for r in range(dx.shape[0]):
            out = dx[r]
            for p in range(k):
                j = r * k + p
                # the first slot's first term starts the sum
                muls, adds = mix(dgu[j], rows2f, w_gu[int(index[r, p])], 0, 0, out, 0, d, p == 0)
                if counting:
                    n_mul += muls
                    n_add += adds
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    @jit
    def experts_gradients(x, index, dgu, do, h, g_gu, g_down, counts):
        # From zero: each routed pair adds to its expert's, so the count is the routing's sum.
        n_mul = 0
        n_add = 0
        k = index.shape[1]
        g_gu[:, :, :] = 0.0
        g_down[:, :, :] = 0.0
        d = x.shape[1]
        f = h.shape[1]
        for r in range(x.shape[0]):
            xr = x[r]
            for p in range(k):
                j = r * k + p
                e = int(index[r, p])
                gg = g_gu[e]
                gd = g_down[e]
                dz = dgu[j]
                for i in range(2 * f):
                    ci = dz[i]
                    row = gg[i]
                    for c in range(d):
                        row[c] += ci * xr[c]
                        if counting:
                            n_mul += 1
                            n_add += 1
                hj = h[j]
                for i in range(d):
                    ci = do[j, i]
                    row = gd[i]
                    for c in range(f):
                        row[c] += ci * hj[c]
                        if counting:
                            n_mul += 1
                            n_add += 1
        if counting:
            counts[BACKWARD, MUL] += n_mul
            counts[BACKWARD, ADD] += n_add

    return Kernels(route, route_backward, experts_forward, experts_backward, experts_input_grad, experts_gradients)


# --- the nodes: this kind as the runtime trains it (`complexa.reference._runtime`) ----------------------------------
class RouterNode(Node):
    """``mlp.gate``: the logits (Linear's kernels), softmax, top k and the weights; backward from the gradient of
    the weights the experts hand it."""

    def __init__(self, path: str, width: int, grad: bool, n_experts: int, top_k: int, w: Tensor) -> None:
        super().__init__(path, width, grad)
        self.n_experts, self.top_k, self.w = n_experts, top_k, w

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k, self.linear = backend.kernels.moe, backend.kernels.linear
        self.weight, self.g_weight = view(params, self.w), view(grads, self.w)
        self.nothing, self.g_nothing = view(params, None), view(grads, None)
        e, k = self.n_experts, self.top_k
        self.probs = backend.empty((batch, e))
        self.index, self.weights, self.total = (
            backend.empty((batch, k)),
            backend.empty((batch, k)),
            backend.empty((batch,)),
        )
        self.dz = backend.empty((batch, e))
        self.dx = backend.empty((batch, self.width)) if self.input_grad else None
        self.kept = {"activations": [self.probs, self.index, self.weights, self.total], "deltas": [self.dz, self.dx]}

    def elements(self, batch: int) -> tuple[int, int]:
        e, k = self.n_experts, self.top_k
        return batch * (e + 2 * k + 1), batch * e + (batch * self.width if self.input_grad else 0)

    def output(self) -> Any:
        return self.weights

    def forward(self, x: Any, counts: Any) -> Any:
        self.x = x
        self.linear.forward(x, self.weight, self.nothing, False, self.probs, counts)
        self.k.route(self.probs, self.index, self.weights, self.total, counts)
        return self.weights

    def backward(self, dw: Any, counts: Any) -> Any:
        self.k.route_backward(self.probs, self.index, self.weights, self.total, dw, self.dz, counts)
        self.linear.gradients(self.dz, self.x, False, self.g_weight, self.g_nothing, counts)
        if self.dx is None:
            return None
        self.linear.input_grad(self.dz, self.weight, self.dx, counts)
        return self.dx


class ExpertsNode(Node):
    """``mlp.experts``: the k SwiGLU experts of each row, weighted by the router's weights."""

    def __init__(self, path: str, width: int, grad: bool, f: int, top_k: int, gu: Tensor, down: Tensor) -> None:
        super().__init__(path, width, grad)
        self.f, self.top_k, self.gu, self.down = f, top_k, gu, down

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.moe
        self.w_gu, self.w_down = view(params, self.gu), view(params, self.down)
        self.g_gu, self.g_down = view(grads, self.gu), view(grads, self.down)
        f, pairs, d = self.f, batch * self.top_k, self.width
        self.z, self.a, self.h, self.o = (
            backend.empty(s) for s in ((pairs, 2 * f), (pairs, f), (pairs, f), (pairs, d))
        )
        self.y = backend.empty((batch, d))
        self.dgu, self.dh, self.do = backend.empty((pairs, 2 * f)), backend.empty((pairs, f)), backend.empty((pairs, d))
        self.dw = backend.empty((batch, self.top_k))
        self.dx = backend.empty((batch, d)) if self.input_grad else None
        self.kept = {
            "activations": [self.z, self.a, self.h, self.o, self.y],
            "deltas": [self.dgu, self.dh, self.do, self.dw, self.dx],
        }

    def elements(self, batch: int) -> tuple[int, int]:
        f, pairs, d = self.f, batch * self.top_k, self.width
        return pairs * (4 * f + d) + batch * d, pairs * (3 * f + d + 1) + (batch * d if self.input_grad else 0)

    def output(self) -> Any:
        return self.y

    def forward(self, x: Any, index: Any, weights: Any, counts: Any) -> Any:  # type: ignore[override]
        self.x, self.index, self.weights = x, index, weights
        self.k.experts_forward(
            x, self.w_gu, self.w_down, index, weights, self.z, self.a, self.h, self.o, self.y, counts
        )
        return self.y

    def backward(self, dy: Any, counts: Any) -> Any:
        """The input's gradient (None when not computed); the routing weights' is `dw`."""
        k = self.k
        k.experts_backward(
            self.w_down,
            self.index,
            self.weights,
            self.z,
            self.a,
            self.o,
            dy,
            self.dw,
            self.dgu,
            self.dh,
            self.do,
            counts,
        )
        k.experts_gradients(self.x, self.index, self.dgu, self.do, self.h, self.g_gu, self.g_down, counts)
        if self.dx is None:
            return None
        k.experts_input_grad(self.w_gu, self.index, self.dgu, self.dx, counts)
        return self.dx


class MoENode(Node):
    def __init__(self, path: str, width: int, grad: bool, router: RouterNode, experts: ExpertsNode) -> None:
        super().__init__(path, width, grad)
        self.body: list[Node] = [router, experts]

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        for child in self.body:
            child.allocate(backend, batch, params, grads)
        self.res = backend.kernels.residual
        self.dx = backend.empty((batch, self.width)) if self.input_grad else None
        self.kept = {"deltas": [self.dx]}

    def elements(self, batch: int) -> tuple[int, int]:
        return 0, batch * self.width if self.input_grad else 0

    def output(self) -> Any:
        return self.body[1].output()

    def forward(self, x: Any, counts: Any) -> Any:
        router, experts = self.body
        weights = router.forward(x, counts)
        return experts.forward(x, router.index, weights, counts)  # type: ignore[call-arg, attr-defined]

    def backward(self, dy: Any, counts: Any) -> Any:
        router, experts = self.body
        dx_experts = experts.backward(dy, counts)
        dx_router = router.backward(experts.dw, counts)  # type: ignore[attr-defined]
        if self.dx is None:
            return None
        self.res.input_grad(dx_router, dx_experts, self.dx, counts)
        return self.dx


def moe_node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> Node:
    d, f, e, k = (int(v) for v in (layer.d_model, layer.d_ff, layer.n_experts, layer.top_k))
    w = new_tensor(tensors, f"{path}.gate.weight", (e, d))
    gu = new_tensor(tensors, f"{path}.experts.gate_up_proj", (e, 2 * f, d))
    down = new_tensor(tensors, f"{path}.experts.down_proj", (e, d, f))
    router = RouterNode(f"{path}.gate", width, input_grad, e, k, w)
    experts = ExpertsNode(f"{path}.experts", width, input_grad, f, k, gu, down)
    return MoENode(path, width, input_grad, router, experts)
