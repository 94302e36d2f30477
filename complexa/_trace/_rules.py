"""One counting rule per ATen operator: the exact ops (complexa's vocabulary) and the FLOPs of PyTorch's
``FlopCounterMode`` (the ``torch`` convention), from the shapes of the operator's arguments and results.

A rule gets the call's arguments with every tensor replaced by its shape (a tuple of sympy sizes) and the results'
shapes, and returns ``(ops, torch_flops)``. Operators in `FREE` move, view or fill memory and cost nothing; an
operator with no rule and not free is *unsupported*: the tracer lists it, and never counts it as zero silently.
docs/torch.md has the table of rules, and docs/counting.md explains where ATen's operators count differently from
complexa's own layer kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import Any

import sympy

__all__ = [
    "RULES",
    "FREE",
    "Shape",
    "Rule",
    "rule",
    "free",
    "torch_mm",
    "torch_conv",
    "torch_sdpa",
    "torch_sdpa_backward",
]

Shape = tuple[sympy.Expr, ...]
Ops = dict[str, sympy.Expr]
Rule = Callable[[Sequence[Any], dict[str, Any], Sequence[Any]], tuple[Ops, sympy.Expr]]

ZERO = sympy.Integer(0)

FREE = frozenset(
    """
    view _unsafe_view reshape _reshape_alias t transpose permute expand squeeze unsqueeze slice select split
    split_with_sizes chunk unbind clone contiguous detach alias _to_copy copy_ copy empty empty_like empty_strided zeros
    zeros_like ones ones_like full full_like new_empty new_zeros new_ones new_full new_empty_strided fill_ fill zero_
    cat stack as_strided arange lift_fresh lift_fresh_copy scalar_tensor embedding index_select select_backward
    slice_backward flatten unflatten device sym_size sym_stride sym_numel sym_storage_offset is_contiguous
    sym_is_contiguous _local_scalar_dense constant_pad_nd masked_fill where index gather _unsafe_index
    bernoulli bernoulli_ rand rand_like randn randn_like uniform_ normal_
    unsafe_split unsafe_split_with_sizes unsafe_chunk narrow diagonal movedim view_as expand_as alias_copy
    view_copy permute_copy t_copy transpose_copy unsqueeze_copy squeeze_copy resolve_conj resolve_neg
    _assert_tensor_metadata _assert_async _assert_scalar sym_constrain_range sym_constrain_range_for_size
    triu tril index_put scatter slice_scatter select_scatter diagonal_scatter masked_scatter repeat roll flip
    upsample_nearest1d upsample_nearest2d upsample_nearest3d _upsample_nearest_exact1d _upsample_nearest_exact2d
    _upsample_nearest_exact3d
    """.split()
)
"""Operators that only view, copy, select or fill memory, or draw random numbers: no arithmetic. A nearest-neighbour
upsampling copies each output from one input (its indices are integer arithmetic, not on values); a triangle mask
(``triu``, ``tril``) writes zeros."""


def _base(packet: str) -> str | None:
    """The out-of-place operator of an in-place one (``silu_`` -> ``silu``): the same arithmetic, written over its
    input; None for a name that is not in-place."""
    if packet.endswith("_") and not packet.endswith("__") and len(packet) > 1:
        return packet[:-1]
    return None


def rule(packet: str) -> Callable[..., tuple[Ops, sympy.Expr] | None] | None:
    """The counting rule of an operator (overload packet name), in-place ones by their out-of-place rule."""
    found = RULES.get(packet)
    base = _base(packet)
    return found if found is not None or base is None else RULES.get(base)


def free(packet: str) -> bool:
    """Whether an operator does no arithmetic (`FREE`), in-place ones (``transpose_``) as their out-of-place."""
    base = _base(packet)
    return packet in FREE or (base is not None and base in FREE)


def numel(shape: Shape) -> sympy.Expr:
    return sympy.Mul(*shape) if shape else sympy.Integer(1)


def _out(outs: Sequence[Any], i: int = 0) -> Shape:
    return outs[i]


# --- the torch convention: FlopCounterMode's formulas (torch/utils/flop_counter.py), symbolically ---------------


def torch_mm(m: sympy.Expr, k: sympy.Expr, n: sympy.Expr) -> sympy.Expr:
    """``mm_flop``: 2 m n k (``addmm``, ``bmm`` and ``baddbmm`` likewise, times the batch)."""
    return 2 * m * n * k


def torch_conv(x: Shape, w: Shape, out: Shape, transposed: bool = False) -> sympy.Expr:
    """``conv_flop_count``: 2 prod(spatial) prod(kernel) N C_out C_in/groups, spatial the output's (the input's for a
    transposed convolution); the bias free."""
    spatial = (x if transposed else out)[2:]
    c_out, c_in, *kernel = w
    return 2 * prod(spatial, start=sympy.Integer(1)) * prod(kernel, start=sympy.Integer(1)) * x[0] * c_out * c_in


def torch_sdpa(q: Shape, k: Shape, v: Shape) -> sympy.Expr:
    """``sdpa_flop_count``: the two batched products q k^T and p v; the softmax, the scale and a causal mask free."""
    b, h, s_q, d_q = q
    s_k, d_v = k[2], v[3]
    return torch_mm(b * h * s_q, d_q, s_k) + torch_mm(b * h * s_q, s_k, d_v)


def torch_sdpa_backward(q: Shape, k: Shape, v: Shape) -> sympy.Expr:
    """``sdpa_backward_flop_count``: five batched products (the scores recomputed, dV, dP, dQ, dK)."""
    b, h, s_q, d_q = q
    s_k, d_v = k[2], v[3]
    bh = b * h
    return (
        torch_mm(bh * s_q, d_q, s_k)
        + torch_mm(bh * s_q, d_v, s_k)
        + torch_mm(bh * s_k, s_q, d_v)
        + torch_mm(bh * s_q, s_k, d_q)
        + torch_mm(bh * d_q, s_q, s_k)
    )


# --- the rules --------------------------------------------------------------------------------------------------


def _elementwise(op: str) -> Rule:
    def rule(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
        n = numel(_out(outs))
        ops = {op: n}
        alpha = kwargs.get("alpha", args[2] if len(args) > 2 else 1)
        if op == "add" and alpha != 1:
            ops["mul"] = n
        return ops, ZERO

    return rule


def _activation(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    return {"act": numel(_out(outs))}, ZERO


def _activation_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # g' from the stored input or output, then dy * g': one act_grad and one mul per element, as complexa's kinds.
    n = numel(_out(outs))
    return {"act_grad": n, "mul": n}, ZERO


def _pow(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr] | None:
    exponent, n = args[1], numel(_out(outs))
    if not isinstance(exponent, (int, float)):
        return None
    if exponent == 0.5:
        return {"sqrt": n}, ZERO
    if exponent == -1:
        return {"div": n}, ZERO
    if exponent == int(exponent) and 1 <= exponent <= 8:
        # x^e by repeated multiplication: e - 1 products.
        return {"mul": (int(exponent) - 1) * n}, ZERO
    return None


def _rsqrt(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    n = numel(_out(outs))
    return {"sqrt": n, "div": n}, ZERO


def _reduce(op: str, divide: bool = False) -> Rule:
    """A reduction of numel(in) values to numel(out): a sum of m terms is m - 1 adds (or m - 1 cmp for a max)."""

    def rule(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
        n_in, n_out = numel(args[0]), numel(_out(outs))
        ops = {op: n_in - n_out}
        if divide:
            ops["div"] = n_out
        return ops, ZERO

    return rule


def _matmul(batched: bool, bias: bool) -> Rule:
    """mm, addmm, bmm, baddbmm: (b,) m x k times k x n is b m n k mul and b m n (k - 1) add, plus b m n add for the
    bias (and a mul each for beta or alpha other than 1)."""

    def rule(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
        a, b = (args[1], args[2]) if bias else (args[0], args[1])
        batch = a[0] if batched else sympy.Integer(1)
        m, k = a[-2], a[-1]
        n = b[-1]
        ops = {"mul": batch * m * n * k, "add": batch * m * n * (k - 1)}
        if bias:
            ops["add"] += batch * m * n
            beta, alpha = kwargs.get("beta", 1), kwargs.get("alpha", 1)
            ops["mul"] += batch * m * n * ((beta != 1) + (alpha != 1))
        return ops, torch_mm(batch * m, k, n)

    return rule


def _conv_products(x: Shape, w: Shape, out: Shape, transposed: bool) -> sympy.Expr:
    """The products of a convolution: every output element a dot product over C_in/groups x kernel (every input
    element, for a transposed one); padding's zeros are multiplied, as im2col kernels do."""
    return torch_conv(x, w, out, transposed) / 2


def _convolution(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    x, w, bias, transposed = args[0], args[1], args[2], bool(args[6])
    out = _out(outs)
    products = _conv_products(x, w, out, transposed)
    # Each output element sums its products: products - numel(out) adds; the bias one more each.
    ops = {"mul": products, "add": products - numel(out) + (numel(out) if bias is not None else 0)}
    return ops, torch_conv(x, w, out, transposed)


def _convolution_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    grad_out, x, w, transposed, mask = args[0], args[1], args[2], bool(args[7]), args[10]
    forward_products = _conv_products(x, w, grad_out, transposed)
    mul, add, flops = ZERO, ZERO, ZERO

    def t(shape: Shape) -> Shape:
        return (shape[1], shape[0], *shape[2:])

    if mask[0]:  # grad_input: every product of the forward once more, summed into each input element
        mul += forward_products
        add += forward_products - numel(outs[0])
        flops += torch_conv(grad_out, w, outs[0], not transposed)
    if mask[1]:  # grad_weight: the same products, summed into each weight
        mul += forward_products
        add += forward_products - numel(outs[1])
        if transposed:
            flops += torch_conv(t(grad_out), t(x), t(outs[1]))
        else:
            flops += torch_conv(t(x), t(grad_out), t(outs[1]))
    if mask[2]:  # grad_bias: the sum of grad_out over the batch and the spatial positions
        add += numel(grad_out) - grad_out[1]
    return {"mul": mul, "add": add}, flops


def _softmax(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # Per row of n: max (n - 1 cmp), x - max (n add), exp (n), the sum (n - 1 add), the division (n div): the softmax
    # of complexa's cross_entropy.
    x, dim = args[0], args[1]
    n = x[dim] if x else sympy.Integer(1)
    total = numel(x)
    rows = total / n
    return {"cmp": rows * (n - 1), "add": 2 * total - rows, "exp": total, "div": total}, ZERO


def _softmax_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # dx = y (dy - sum(dy y)), per row of n: n mul and n - 1 add for the sum, n add and n mul after.
    grad, dim = args[0], args[2]
    n = grad[dim] if grad else sympy.Integer(1)
    total = numel(grad)
    return {"mul": 2 * total, "add": 2 * total - total / n}, ZERO


def _log_softmax(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # Per row of n: max (n - 1 cmp), x - max (n add), exp (n), the sum (n - 1 add), its log (1, counted as an exp:
    # complexa's one transcendental outside activations), and x - max - log (n add).
    x, dim = args[0], args[1]
    n = x[dim] if x else sympy.Integer(1)
    total = numel(x)
    rows = total / n
    return {"cmp": rows * (n - 1), "add": 3 * total - rows, "exp": total + rows}, ZERO


def _log_softmax_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # dx = dy - exp(y) sum(dy), per row of n: n - 1 add for the sum, n exp, n mul, n add.
    grad, dim = args[0], args[2]
    n = grad[dim] if grad else sympy.Integer(1)
    total = numel(grad)
    return {"add": 2 * total - total / n, "exp": total, "mul": total}, ZERO


NLL_MEAN, NLL_SUM = 1, 2
"""torch's reduction enum: 0 none, 1 mean, 2 sum."""


def _nll_loss(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # Each of the N targets picks -x[i, t_i]: a sign each (an add); summed, N - 1 adds and one sign; the mean one div
    # more. Class weights multiply each picked value (N mul), and the mean divides by their sum (N - 1 add).
    target, weight, reduction = args[1], args[2], args[3]
    n = numel(target)
    ops = {"add": n, "mul": ZERO, "div": ZERO}
    if weight is not None:
        ops["mul"] += n
    if reduction == NLL_MEAN:
        ops["div"] += 1
        if weight is not None:
            ops["add"] += n - 1
    return ops, ZERO


def _nll_loss_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # The gradient is zero but at each target: -g (a sign each), times the weight, over the total weight for a mean.
    target, weight, reduction = args[2], args[3], args[4]
    n = numel(target)
    ops = {"add": n, "mul": n if weight is not None else ZERO, "div": n if reduction == NLL_MEAN else ZERO}
    return ops, ZERO


def _dropout(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # native_dropout in training: x * mask * 1/(1 - p), 2 mul per element; drawing the mask counts nothing. Off
    # training it is a copy. (On the CPU dropout runs decomposed: bernoulli_, a div_ of the mask, a mul.)
    train = args[2] if len(args) > 2 else kwargs.get("train")
    return ({"mul": 2 * numel(_out(outs))} if train is not False else {}), ZERO


def _dropout_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    return {"mul": 2 * numel(_out(outs))}, ZERO


def _layer_norm(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # complexa.nn.norm's LayerNorm, per row of n: mul (2 + a) n, add (3 + a) n - 1, 3 div, 1 sqrt.
    x, normalized, weight = args[0], args[1], args[2]
    n = numel(tuple(normalized))
    rows = numel(x) / n
    a = int(weight is not None)
    return {"mul": rows * (2 + a) * n, "add": rows * ((3 + a) * n - 1), "div": 3 * rows, "sqrt": rows}, ZERO


def _norm_backward(rows: sympy.Expr, n: sympy.Expr, params: sympy.Expr, mask: Sequence[bool], affine: int) -> Ops:
    """complexa.nn.norm's LayerNorm backward, for `rows` groups of `n` values normalised together and `params`
    affine parameters, each shared by the same number of values: the input's gradient per group (when wanted), then
    the weight's (dy x-hat) and the bias's (dy), each summed over the values that share a parameter."""
    total = rows * n
    ops: Ops = {"mul": ZERO, "add": ZERO, "div": ZERO}
    if mask[0]:
        ops["mul"] += rows * (3 + affine) * n
        ops["add"] += rows * (4 * n - 2)
        ops["div"] += 2 * rows
    if mask[1]:
        ops["mul"] += total
        ops["add"] += total - params
    if mask[2]:
        ops["add"] += total - params
    return ops


def _layer_norm_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # complexa.nn.norm's error (when the input's gradient is wanted) and gradients (per affine parameter wanted).
    grad, normalized, weight, mask = args[0], args[2], args[5], args[7]
    n = numel(tuple(normalized))
    return _norm_backward(numel(grad) / n, n, n, mask, int(weight is not None)), ZERO


def _batch_norm(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # LayerNorm's rule per channel over its m = N x spatial values, in training; with running statistics, their
    # update r = (1 - momentum) r + momentum v: 2 mul and 1 add per channel for the mean, and for the variance
    # also the unbiased m / (m - 1): 1 more mul.
    x, weight, running, training = args[0], args[1], args[3], bool(args[5])
    c = x[1]
    m = numel(x) / c
    a = int(weight is not None)
    if not training:  # (x - mean) * rstd from the running statistics, then the affine
        return {"mul": (1 + a) * numel(x), "add": (1 + a) * numel(x) + c, "div": c, "sqrt": c}, ZERO
    ops = {"mul": c * (2 + a) * m, "add": c * ((3 + a) * m - 1), "div": 3 * c, "sqrt": c}
    if running is not None:
        ops["mul"] += 5 * c
        ops["add"] += 2 * c
    return ops, ZERO


def _batch_norm_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # LayerNorm's backward per channel, over its N x spatial values.
    grad, weight, mask = args[0], args[2], args[9]
    c = grad[1]
    return _norm_backward(c, numel(grad) / c, c, mask, int(weight is not None)), ZERO


def _max_pool(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # Each output element is the max of its window: kernel elements - 1 comparisons (padding included).
    kernel = args[1]
    return {"cmp": numel(_out(outs)) * (numel(tuple(kernel)) - 1)}, ZERO


def _scatter_add(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # The gradient of a gather (an embedding, a max pool): each incoming value added into a zeroed buffer, one add
    # each, as the kernels do; which indices repeat is data, not shape.
    return {"add": numel(args[0])}, ZERO


def _avg_pool(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    kernel, n = numel(tuple(args[1])), numel(_out(outs))
    return {"add": n * (kernel - 1), "div": n}, ZERO


def _sdpa_exact(q: Shape, k: Shape, v: Shape, backward: bool) -> Ops:
    """Scaled dot-product attention, dense (a causal mask's skipped blocks are counted; docs/torch.md): the scores
    q k^T, the scale, the softmax and p v forward; backward the scores and p again from the saved log-sum-exp,
    dV = p^T dO, dP = dO V^T, D = rowsum(dO O), dS = p (dP - D) scale, dQ = dS K, dK = dS^T Q."""
    b, h, s_q, d_q = q
    s_k, d_v = k[2], v[3]
    bh = b * h
    scores = bh * s_q * s_k
    if not backward:
        return {
            "mul": scores * d_q + scores + scores * d_v,
            "add": scores * (d_q - 1) + (2 * scores - bh * s_q) + bh * s_q * d_v * (s_k - 1),
            "cmp": bh * s_q * (s_k - 1),
            "exp": scores,
            "div": scores,
        }
    mul = scores * d_q + scores  # scores and scale
    add = scores * (d_q - 1) + scores  # scores, minus the log-sum-exp
    mul += bh * s_k * d_v * s_q  # dV
    add += bh * s_k * d_v * (s_q - 1)
    mul += scores * d_v  # dP
    add += scores * (d_v - 1)
    mul += bh * s_q * d_v  # D
    add += bh * s_q * (d_v - 1)
    mul += 2 * scores  # dS = p (dP - D) scale
    add += scores
    mul += bh * s_q * d_q * s_k  # dQ
    add += bh * s_q * d_q * (s_k - 1)
    mul += bh * s_k * d_q * s_q  # dK
    add += bh * s_k * d_q * (s_q - 1)
    return {"mul": mul, "add": add, "exp": scores}


def _sdpa(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    q, k, v = args[0], args[1], args[2]
    return _sdpa_exact(q, k, v, backward=False), torch_sdpa(q, k, v)


def _sdpa_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    q, k, v = args[1], args[2], args[3]
    return _sdpa_exact(q, k, v, backward=True), torch_sdpa_backward(q, k, v)


RULES: dict[str, Callable[..., tuple[Ops, sympy.Expr] | None]] = {
    "add": _elementwise("add"),
    "add_": _elementwise("add"),
    "sub": _elementwise("add"),
    "sub_": _elementwise("add"),
    "rsub": _elementwise("add"),
    "neg": _elementwise("add"),
    "mul": _elementwise("mul"),
    "mul_": _elementwise("mul"),
    "div": _elementwise("div"),
    "div_": _elementwise("div"),
    "reciprocal": _elementwise("div"),
    "sqrt": _elementwise("sqrt"),
    "exp": _elementwise("exp"),
    "erf": _elementwise("exp"),
    "rsqrt": _rsqrt,
    "pow": _pow,
    "eq": _elementwise("cmp"),
    "ne": _elementwise("cmp"),
    "gt": _elementwise("cmp"),
    "lt": _elementwise("cmp"),
    "ge": _elementwise("cmp"),
    "le": _elementwise("cmp"),
    "maximum": _elementwise("cmp"),
    "minimum": _elementwise("cmp"),
    "clamp_min": _elementwise("cmp"),
    "clamp_max": _elementwise("cmp"),
    "sum": _reduce("add"),
    "mean": _reduce("add", divide=True),
    "amax": _reduce("cmp"),
    "amin": _reduce("cmp"),
    "mm": _matmul(batched=False, bias=False),
    "addmm": _matmul(batched=False, bias=True),
    "bmm": _matmul(batched=True, bias=False),
    "baddbmm": _matmul(batched=True, bias=True),
    "convolution": _convolution,
    "convolution_backward": _convolution_backward,
    "_softmax": _softmax,
    "_softmax_backward_data": _softmax_backward,
    "_log_softmax": _log_softmax,
    "_log_softmax_backward_data": _log_softmax_backward,
    "nll_loss_forward": _nll_loss,
    "nll_loss_backward": _nll_loss_backward,
    "native_dropout": _dropout,
    "native_dropout_backward": _dropout_backward,
    "native_layer_norm": _layer_norm,
    "native_layer_norm_backward": _layer_norm_backward,
    "native_batch_norm": _batch_norm,
    "native_batch_norm_backward": _batch_norm_backward,
    "max_pool2d_with_indices": _max_pool,
    "max_pool2d_with_indices_backward": _scatter_add,
    "avg_pool2d": _avg_pool,
    "embedding_dense_backward": _scatter_add,
    "_scaled_dot_product_flash_attention_for_cpu": _sdpa,
    "_scaled_dot_product_flash_attention": _sdpa,
    "_scaled_dot_product_efficient_attention": _sdpa,
    "_scaled_dot_product_cudnn_attention": _sdpa,
    "_scaled_dot_product_flash_attention_for_cpu_backward": _sdpa_backward,
    "_scaled_dot_product_flash_attention_backward": _sdpa_backward,
    "_scaled_dot_product_efficient_attention_backward": _sdpa_backward,
    "_scaled_dot_product_cudnn_attention_backward": _sdpa_backward,
}
"""ATen operator (overload packet name) -> its rule; a rule returning None could not count this call."""

_ACTIVATIONS = "relu relu_ gelu sigmoid tanh silu elu leaky_relu hardtanh hardtanh_ softplus mish hardswish hardsigmoid"
# ReLU's backward is threshold_backward; the others' are named after them.
_BACKWARDS = [
    "threshold_backward",
    *(f"{a}_backward" for a in _ACTIVATIONS.split() if a not in ("relu", "relu_", "hardtanh_")),
]
RULES.update(dict.fromkeys(_ACTIVATIONS.split(), _activation))
RULES.update(dict.fromkeys(_BACKWARDS, _activation_backward))


# --- issue 19: the operators torchvision's, timm's and transformers' models run besides ------------------------


def _cumsum(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # A running sum along a dimension of n: n - 1 adds per row.
    x, dim = args[0], args[1]
    n = x[dim] if x else sympy.Integer(1)
    return {"add": numel(x) - numel(x) / n}, ZERO


def _argreduce(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # argmax / argmin: the max's comparisons, numel(in) - numel(out).
    return {"cmp": numel(args[0]) - numel(_out(outs))}, ZERO


def _windows(n: sympy.Expr, m: sympy.Expr) -> sympy.Expr | None:
    """The total size of adaptive pooling's m windows over n values: window i spans floor(i n / m) to
    ceil((i + 1) n / m) (overlapping where m does not divide n); None for a symbolic m."""
    if not m.is_Integer:
        return None
    m = int(m)
    return sympy.Add(*(sympy.ceiling((i + 1) * n / m) - sympy.floor(i * n / m) for i in range(m)))


def _adaptive_avg_pool(
    args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]
) -> tuple[Ops, sympy.Expr] | None:
    # Each output element is the mean of its window: window - 1 adds and a div.
    x, out = args[0], _out(outs)
    spatial = len(out) - 2
    sizes = [_windows(x[-spatial + i], out[-spatial + i]) for i in range(spatial)]
    if any(s is None for s in sizes):
        return None
    planes = numel(out[:-spatial])
    return {"add": planes * (sympy.Mul(*sizes) - numel(out[-spatial:])), "div": numel(out)}, ZERO


def _adaptive_avg_pool_backward(
    args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]
) -> tuple[Ops, sympy.Expr] | None:
    # Each gradient value divided by its window's size, then added into every element of the window (zeroed).
    grad, x = args[0], args[1]
    spatial = len(grad) - 2
    sizes = [_windows(x[-spatial + i], grad[-spatial + i]) for i in range(spatial)]
    if any(s is None for s in sizes):
        return None
    return {"div": numel(grad), "add": numel(grad[:-spatial]) * sympy.Mul(*sizes)}, ZERO


def _avg_pool_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # Each gradient value divided by the window's count, then added into the window's kernel positions (zeroed).
    grad, kernel = args[0], numel(tuple(args[2]))
    n = numel(grad)
    return {"div": n, "add": n * kernel}, ZERO


def _group_norm(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # LayerNorm's rule over N x G rows of C/G x HxW values; the affine per channel, once per element.
    x, weight, n_groups = args[0], args[1], args[6]
    rows = x[0] * n_groups
    n = numel(x) / rows
    a = int(weight is not None)
    return {"mul": rows * (2 + a) * n, "add": rows * ((3 + a) * n - 1), "div": 3 * rows, "sqrt": rows}, ZERO


def _group_norm_backward(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # LayerNorm's backward per group for the input; the weight's and bias's gradients sum over N x HxW per channel.
    grad, weight, n_groups, mask = args[0], args[4], args[8], args[9]
    rows = grad[0] * n_groups
    return _norm_backward(rows, numel(grad) / rows, grad[1], mask, int(weight is not None)), ZERO


def _upsample_linear(taps: int) -> Rule:
    # PyTorch's CPU kernels interpolate dimension by dimension: each output is a weighted sum of 2^d taps, a lerp per
    # pair, 2 mul and 1 add each: 2(2^d - 1) mul and 2^d - 1 add.
    def rule(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
        n = numel(_out(outs))
        return {"mul": 2 * (taps - 1) * n, "add": (taps - 1) * n}, ZERO

    return rule


def _upsample_linear_backward(taps: int) -> Rule:
    # Each gradient value goes to its 2^d taps, weighted by the product of d lerp weights (d mul each) and added
    # into a zeroed buffer.
    dims = taps.bit_length() - 1

    def rule(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
        n = numel(args[0])
        return {"mul": taps * dims * n, "add": taps * n}, ZERO

    return rule


def _abs(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # |x|: a comparison with zero per element (its sign flip is the comparison's outcome, as relu's).
    return {"cmp": numel(_out(outs))}, ZERO


RULES.update(
    {
        "_safe_softmax": _softmax,
        "cumsum": _cumsum,
        "argmax": _argreduce,
        "argmin": _argreduce,
        "max": _reduce("cmp"),  # max(x, y) reaches dispatch as maximum
        "min": _reduce("cmp"),
        "any": _reduce("cmp"),
        "all": _reduce("cmp"),
        "bitwise_and": _elementwise("cmp"),
        "bitwise_or": _elementwise("cmp"),
        "bitwise_xor": _elementwise("cmp"),
        "bitwise_not": _elementwise("cmp"),
        "logical_and": _elementwise("cmp"),
        "logical_or": _elementwise("cmp"),
        "logical_not": _elementwise("cmp"),
        "isinf": _elementwise("cmp"),
        "isnan": _elementwise("cmp"),
        "abs": _abs,
        "sgn": _abs,
        "sign": _abs,
        "cos": _elementwise("exp"),
        "sin": _elementwise("exp"),
        "log": _elementwise("exp"),
        "log1p": _elementwise("exp"),
        "expm1": _elementwise("exp"),
        "avg_pool2d_backward": _avg_pool_backward,
        "_adaptive_avg_pool2d": _adaptive_avg_pool,
        "_adaptive_avg_pool2d_backward": _adaptive_avg_pool_backward,
        "adaptive_avg_pool2d": _adaptive_avg_pool,
        "native_group_norm": _group_norm,
        "native_group_norm_backward": _group_norm_backward,
        "upsample_nearest1d_backward": _scatter_add,
        "upsample_nearest2d_backward": _scatter_add,
        "upsample_nearest3d_backward": _scatter_add,
        "_upsample_nearest_exact2d_backward": _scatter_add,
        "upsample_linear1d": _upsample_linear(2),
        "upsample_bilinear2d": _upsample_linear(4),
        "upsample_trilinear3d": _upsample_linear(8),
        "upsample_linear1d_backward": _upsample_linear_backward(2),
        "upsample_bilinear2d_backward": _upsample_linear_backward(4),
        "upsample_trilinear3d_backward": _upsample_linear_backward(8),
    }
)


LSTM_MODE = 2
"""oneDNN's (and cuDNN's) code for an LSTM, the only mode `mkldnn_rnn_layer` runs."""


def _lstm_sizes(x: Shape, w_ih: Shape, w_hh: Shape) -> tuple[sympy.Expr, sympy.Expr, sympy.Expr]:
    """(steps x samples, input width, hidden width) of one LSTM layer; its input is (T, B, in)."""
    return x[0] * x[1], w_ih[1], w_hh[1]


def _lstm_layer(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr] | None:
    # torch.nn.LSTM's equations, per step and sample, h hidden and i inputs: the four gates' pre-activations
    # W_ih x + b_ih + W_hh h + b_hh (4h(i + h) mul, 4h(i + h - 1) add, 8h more with the biases), their sigmoids and
    # tanh and tanh(c) (5h act), c = f c' + i g (2h mul, h add), h = o tanh(c) (h mul).
    x, w_ih, w_hh, mode, biases = args[0], args[1], args[2], args[9], args[12]
    if mode != LSTM_MODE:
        return None
    n, i, h = _lstm_sizes(x, w_ih, w_hh)
    add = 4 * h * (i + h - 1) + h + (8 * h if biases else 0)
    return {"mul": n * (4 * h * (i + h) + 3 * h), "add": n * add, "act": n * 5 * h}, ZERO


def _lstm_layer_backward(
    args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]
) -> tuple[Ops, sympy.Expr] | None:
    # Back through time, per step and sample: dh (the output's gradient, plus the next step's but at the last step),
    # do = dh tanh(c) (h mul), dc = dh o tanh'(c) (+ the next step's; h act_grad, 2h mul), di, dg, df and the
    # previous c's gradient (4h mul), the gates' pre-activations (4h act_grad, 4h mul), then W_ih^T and W_hh^T of
    # them (4h(i + h) mul, (4h - 1)(i + h) add), and the weights' gradients (4h(i + h) mul), summed over the steps and
    # samples (4h(i + h)(n - 1) add, and 4h(n - 1) for each bias).
    x, w_ih, w_hh, mode, biases = args[0], args[1], args[2], args[14], args[17]
    if mode != LSTM_MODE:
        return None
    n, i, h = _lstm_sizes(x, w_ih, w_hh)
    steps, samples = x[0], x[1]
    mul = n * (11 * h + 8 * h * (i + h))
    add = n * (4 * h - 1) * (i + h) + 2 * h * (steps - 1) * samples + 4 * h * (i + h) * (n - 1)
    if biases:
        add += 2 * 4 * h * (n - 1)
    return {"mul": mul, "add": add, "act_grad": n * 5 * h}, ZERO


RULES.update({"mkldnn_rnn_layer": _lstm_layer, "mkldnn_rnn_layer_backward": _lstm_layer_backward})


# --- issue 22: Mixtral's router (transformers' MixtralTopKRouter) ---------------------------------------------------


def _topk(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr]:
    # The k largest of each row of n as k passes of a maximum over the values not yet taken, n - 1, ..., n - k
    # comparisons: k (2 n - k - 1) / 2 (`complexa.nn.moe.top_k_compares`, the count of complexa's own Router).
    x = args[0]
    k = sympy.Integer(args[1]) if isinstance(args[1], int) else args[1]
    dim = args[2] if len(args) > 2 else kwargs.get("dim", -1)
    n = x[dim] if x else sympy.Integer(1)
    return {"cmp": sympy.expand(numel(x) / n * k * (2 * n - k - 1) / 2)}, ZERO


RULES["topk"] = _topk


def _index_put(args: Sequence[Any], kwargs: dict[str, Any], outs: Sequence[Any]) -> tuple[Ops, sympy.Expr] | None:
    # With accumulate (the gradient of an index: transformers' batched_mm experts gather each token's expert weights,
    # and the backward adds each token's weight gradient into its expert's), one add per value, as `_scatter_add`;
    # without, a write (`FREE`).
    accumulate = args[3] if len(args) > 3 else kwargs.get("accumulate", False)
    return ({"add": numel(args[2])}, ZERO) if accumulate else None


RULES["index_put"] = _index_put
