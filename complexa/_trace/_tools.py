"""The forward-pass counts of two other tools for a traced module, symbolically: fvcore's ``FlopCountAnalysis`` (one
per multiply-add of the ATen operators in its default table) and ptflops' ``get_model_complexity_info`` with its
``pytorch`` backend (MACs: per-module forward hooks, plus its patched functions). docs/torch.md says what each
counts and where complexa's reading of it differs from the tool.

fvcore's rules read the dispatched ATen calls the tracer records (`fvcore_flops`). ptflops counts at the Python level,
so the tracer calls `ptflops_module` from a forward hook on every module ptflops would hook, and wraps the same
functions ptflops patches (`PTFLOPS_FUNCTIONS`) while the forward pass runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import Any

import sympy

__all__ = ["fvcore_flops", "ptflops_module", "PTFLOPS_FUNCTIONS", "FVCORE_FUNCTIONS"]

Shape = tuple[sympy.Expr, ...]
ShapeOf = Callable[[Any], Shape]
ONE = sympy.Integer(1)


def _numel(shape: Sequence[sympy.Expr]) -> sympy.Expr:
    return prod(shape, start=ONE)


# --- fvcore: flop_count.py's _DEFAULT_SUPPORTED_OPS, on the ATen operators they reach at dispatch -----------------


def _fv_mm(args: Sequence[Any], outs: Sequence[Any]) -> sympy.Expr:
    a, b = args[-2], args[-1]  # addmm's bias is args[0], and fvcore ignores it
    return _numel(a) * b[-1]


def _fv_conv(args: Sequence[Any], outs: Sequence[Any]) -> sympy.Expr:
    x, w, transposed = args[0], args[1], bool(args[6])
    return x[0] * _numel(w) * _numel((x if transposed else outs[0])[2:])


def _fv_norm(affine_index: int) -> Callable[[Sequence[Any], Sequence[Any]], sympy.Expr]:
    def rule(args: Sequence[Any], outs: Sequence[Any]) -> sympy.Expr:
        # norm_flop_counter: "5 is just a rough estimate" per element with the affine parameters, else 4.
        return _numel(args[0]) * (5 if args[affine_index] is not None else 4)

    return rule


def _fv_batch_norm(training_index: int | None) -> Callable[[Sequence[Any], Sequence[Any]], sympy.Expr]:
    def rule(args: Sequence[Any], outs: Sequence[Any]) -> sympy.Expr:
        training = bool(args[training_index]) if training_index is not None else False
        affine = args[1] is not None
        # batchnorm_flop_jit: training as a norm (5 or 4 per element); eval 2 per element with affine, else 1.
        return _numel(args[0]) * ((5 if affine else 4) if training else (2 if affine else 1))

    return rule


def _fv_output(scale: int) -> Callable[[Sequence[Any], Sequence[Any]], sympy.Expr]:
    return lambda args, outs: scale * _numel(outs[0])


FVCORE: dict[str, Callable[[Sequence[Any], Sequence[Any]], sympy.Expr]] = {
    "addmm": _fv_mm,
    "mm": _fv_mm,
    "bmm": _fv_mm,
    "convolution": _fv_conv,
    "native_layer_norm": _fv_norm(2),
    "native_group_norm": _fv_norm(1),
    "native_batch_norm": _fv_batch_norm(5),
    "_native_batch_norm_legit": _fv_batch_norm(5),
    "_native_batch_norm_legit_no_training": _fv_batch_norm(None),
    "upsample_nearest2d": _fv_output(1),
    "upsample_bilinear2d": _fv_output(4),
    "grid_sampler_2d": _fv_output(4),
}
"""ATen operator at dispatch (overload packet) -> fvcore's count. ``aten::linear`` and ``aten::matmul``, which fvcore
sees in its JIT graph, reach dispatch as ``addmm``/``mm``/``bmm`` with the same m n k; ``instance_norm`` as a
``native_batch_norm`` in training mode over N x C channels, which fvcore's rule counts the same."""


def fvcore_flops(packet: str, args: Sequence[Any], outs: Sequence[Any]) -> sympy.Expr | None:
    """fvcore's count of one forward ATen call, None for an operator fvcore counts as zero."""
    rule = FVCORE.get(packet)
    return rule(args, outs) if rule is not None else None


def _fv_adaptive_avg_pool2d(shape: ShapeOf, input: Any, *args: Any, **kwargs: Any) -> sympy.Expr:
    # elementwise_flop_counter(1, 0): one per input element. Counted at the Python call, because at dispatch an
    # output of 1 x 1 runs as a `mean`.
    return _numel(shape(input))


FVCORE_FUNCTIONS: tuple[tuple[str, str, Callable[..., sympy.Expr]], ...] = (
    ("torch.nn.functional", "adaptive_avg_pool2d", _fv_adaptive_avg_pool2d),
)
"""(owner, name, rule) of the Python functions whose fvcore count is read where they are called."""


# --- ptflops: pytorch_ops.py's MODULES_MAPPING hooks and FUNCTIONAL_MAPPING / TENSOR_OPS_MAPPING, symbolically -------


def _pt_activation(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr:
    return _numel(shape(output))


def _pt_pool(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr:
    return _numel(shape(inputs[0]))


def _pt_norm(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr:
    # bn_flops_counter_hook: 2 per element when the module has `affine` set, else 1; LayerNorm's attribute is
    # `elementwise_affine`, so a LayerNorm counts 1.
    return _numel(shape(inputs[0])) * (2 if getattr(module, "affine", False) else 1)


def _pt_linear(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr:
    x, out = shape(inputs[0]), shape(output)
    bias = out[-1] if module.bias is not None else 0
    return (x[-1] * out[-1] + bias) * _numel(x[:-1])


def _pt_upsample(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr:
    # upsample_flops_counter_hook reads output[0], the first sample: one sample's output elements.
    return _numel(shape(output)[1:])


def _pt_conv(transpose: bool) -> Callable[..., sympy.Expr]:
    def hook(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr:
        x, out = shape(inputs[0]), shape(output)
        per_position = _numel(module.kernel_size) * module.in_channels * (module.out_channels // module.groups)
        active = x[0] * _numel((x if transpose else out)[2:])
        bias = x[0] * _numel(out[1:]) if module.bias is not None else 0
        return per_position * active + bias

    return hook


def _pt_rnn_layer(module: Any, w_ih: Any, w_hh: Any) -> int:
    """ptflops' rnn_flops for one layer (or cell), and its biases."""
    flops = prod(w_ih.shape) + prod(w_hh.shape)
    h = module.hidden_size
    kind = type(module).__name__
    if kind in ("RNN", "RNNCell"):
        flops += h
    elif kind in ("GRU", "GRUCell"):
        flops += h + 3 * h + 3 * h
    else:  # LSTM, LSTMCell
        flops += 4 * h + 3 * h + 3 * h
    return flops


def _pt_rnn(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr:
    # rnn_flops_counter_hook takes dimension 0 as the batch and 1 as the sequence, batch_first or not.
    x = shape(inputs[0])
    flops = 0
    for i in range(module.num_layers):
        flops += _pt_rnn_layer(module, getattr(module, f"weight_ih_l{i}"), getattr(module, f"weight_hh_l{i}"))
        if module.bias:
            flops += 2 * getattr(module, f"bias_ih_l{i}").shape[0]
    return flops * x[0] * x[1] * (2 if module.bidirectional else 1)


def _pt_rnn_cell(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr:
    flops = _pt_rnn_layer(module, module.weight_ih, module.weight_hh)
    if module.bias:
        flops += 2 * module.bias_ih.shape[0]
    return flops * shape(inputs[0])[0]


def _pt_attention(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr | None:
    if len(inputs) != 3:  # ptflops unpacks q, k, v from the positional inputs, and fails otherwise
        return None
    q, k, v = (shape(t) for t in inputs)
    batch, length = (0, 1) if module.batch_first else (1, 0)
    qdim, kdim, vdim = q[2], k[2], v[2]
    qlen, klen, vlen = q[length], k[length], v[length]
    heads = module.num_heads
    flops = qlen * qdim + qlen * qdim * qdim + klen * kdim * kdim + vlen * vdim * vdim
    if module.in_proj_bias is not None:
        flops += (qlen + klen + vlen) * qdim
    head = qlen * klen * (qdim // heads) + qlen * klen + qlen * klen * (vdim // heads)
    flops += heads * head + qlen * vdim * (vdim + 1)
    return flops * q[batch]


_PTFLOPS_MODULES: dict[str, Callable[..., sympy.Expr | None]] = {
    **dict.fromkeys(("Conv1d", "Conv2d", "Conv3d"), _pt_conv(False)),
    **dict.fromkeys(("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"), _pt_conv(True)),
    **dict.fromkeys(("ReLU", "PReLU", "ELU", "LeakyReLU", "ReLU6", "GELU"), _pt_activation),
    **dict.fromkeys(
        (
            "MaxPool1d AvgPool1d AvgPool2d MaxPool2d MaxPool3d AvgPool3d AdaptiveMaxPool1d AdaptiveAvgPool1d "
            "AdaptiveMaxPool2d AdaptiveAvgPool2d AdaptiveMaxPool3d AdaptiveAvgPool3d"
        ).split(),
        _pt_pool,
    ),
    **dict.fromkeys(
        (
            "BatchNorm1d BatchNorm2d BatchNorm3d InstanceNorm1d InstanceNorm2d InstanceNorm3d GroupNorm LayerNorm"
        ).split(),
        _pt_norm,
    ),
    "Linear": _pt_linear,
    "Upsample": _pt_upsample,
    **dict.fromkeys(("RNN", "GRU", "LSTM"), _pt_rnn),
    **dict.fromkeys(("RNNCell", "LSTMCell", "GRUCell"), _pt_rnn_cell),
    "MultiheadAttention": _pt_attention,
}
"""torch.nn class name -> ptflops' hook. ptflops looks modules up by exact type: a subclass of nn.Linear (such as
MultiheadAttention's out_proj) is not hooked."""


def ptflops_hooked(module: Any) -> bool:
    """Whether ptflops hooks `module`: its exact type is one of torch.nn's classes ptflops maps."""
    import torch

    name = type(module).__name__
    return name in _PTFLOPS_MODULES and type(module) is getattr(torch.nn, name, None)


def ptflops_module(module: Any, inputs: Sequence[Any], output: Any, shape: ShapeOf) -> sympy.Expr | None:
    """ptflops' count of one call of a hooked module, from its positional inputs and its output (the first tensor of
    a tuple); None where ptflops' hook would fail."""
    if isinstance(output, (tuple, list)):
        output = output[0]
    return _PTFLOPS_MODULES[type(module).__name__](module, inputs, output, shape)


def _pt_numel(shape: ShapeOf, input: Any, *args: Any, **kwargs: Any) -> sympy.Expr:
    return _numel(shape(input))


def _pt_interpolate(shape: ShapeOf, *args: Any, **kwargs: Any) -> sympy.Expr:
    x = kwargs.get("input", args[0] if args else None)
    dims = shape(x)
    size = kwargs.get("size", args[1] if len(args) > 1 else None)
    if size is not None:
        spatial = _numel(size) if isinstance(size, (tuple, list)) else sympy.sympify(size) ** (len(dims) - 2)
        return spatial * _numel(dims[:2])
    scale = kwargs.get("scale_factor", args[2] if len(args) > 2 else None)
    if isinstance(scale, tuple) and len(scale) == len(dims) - 2:
        return _numel(dims) * int(prod(scale))
    return _numel(dims) * sympy.nsimplify(scale) ** (len(dims) - 2)


def _pt_matmul(shape: ShapeOf, input: Any, other: Any, *args: Any, **kwargs: Any) -> sympy.Expr:
    return _numel(shape(input)) * shape(other)[-1]


def _pt_addmm(shape: ShapeOf, input: Any, mat1: Any, mat2: Any, *, beta: Any = 1, **kwargs: Any) -> sympy.Expr:
    return _numel(shape(mat1)) * shape(mat2)[-1] + (_numel(shape(input)) if beta != 0 else 0)


def _pt_elementwise(shape: ShapeOf, input: Any, other: Any, *args: Any, **kwargs: Any) -> sympy.Expr:
    import torch

    if not torch.is_tensor(input):
        return _numel(shape(other)) if torch.is_tensor(other) else ONE
    if not torch.is_tensor(other):
        return _numel(shape(input))
    # ptflops aligns the two shapes from the left and takes the larger size of each dimension.
    a, b = shape(input), shape(other)
    return _numel([sympy.Max(a[i] if i < len(a) else 1, b[i] if i < len(b) else 1) for i in range(max(len(a), len(b)))])


_F = "torch.nn.functional"
PTFLOPS_FUNCTIONS: tuple[tuple[str, str, Callable[..., sympy.Expr]], ...] = (
    *((_F, name, _pt_numel) for name in "relu prelu elu relu6 gelu silu softmax".split()),
    *(
        (_F, f"{kind}_pool{d}d", _pt_numel)
        for kind in ("avg", "max", "adaptive_avg", "adaptive_max")
        for d in (1, 2, 3)
    ),
    (_F, "upsample", _pt_interpolate),
    (_F, "interpolate", _pt_interpolate),
    *((owner, name, _pt_matmul) for owner in ("torch", "torch.Tensor") for name in ("matmul", "mm", "bmm")),
    ("torch", "addmm", _pt_addmm),
    ("torch.Tensor", "addmm", _pt_addmm),
    ("torch", "baddbmm", _pt_addmm),
    *((owner, name, _pt_elementwise) for owner in ("torch", "torch.Tensor") for name in ("mul", "add")),
)
"""(owner, name, rule) of every function ptflops' ``pytorch`` backend patches (``count_functional``, its default):
each call counts wherever it is made, inside a hooked module too (an ``nn.ReLU`` calls ``F.relu``: ptflops counts its
output twice). Python's operators (``x + y``, ``x @ w``) are not these functions, and count nothing."""
