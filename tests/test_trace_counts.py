"""from_torch's rules for convolution, pooling and normalisation, forward and backward, against hand counts: each
operator written out here as plain loops that compute it on real numbers (checked against torch's own result) and
count every scalar operation they perform. FlopCounterMode counts none of these ops but the convolution's products,
so a wrong count in a backward rule would pass every FLOP comparison; here it fails."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from complexa._trace import from_torch  # noqa: E402

OPS = ("mul", "add", "div", "sqrt", "cmp")


class Counted:
    """A scalar arithmetic that counts what it does."""

    def __init__(self) -> None:
        self.ops: Counter[str] = Counter()

    def total(self, values: list[float]) -> float:
        """A sum of m values: m - 1 adds."""
        self.ops["add"] += len(values) - 1
        out = values[0]
        for v in values[1:]:
            out += v
        return out

    def __getattr__(self, op: str):  # mul, add, div, sqrt, cmp: one each call
        def apply(*args: float) -> float:
            self.ops[op] += 1
            if op == "mul":
                return args[0] * args[1]
            if op == "add":
                return args[0] + args[1]
            if op == "div":
                return args[0] / args[1]
            if op == "sqrt":
                return math.sqrt(args[0])
            return max(args)

        if op not in OPS:
            raise AttributeError(op)
        return apply


def traced(module: nn.Module, *shape: int, phase: str) -> dict[str, int]:
    """The traced counts of `module`'s own operators (not the loss's) at a concrete shape, nonzero ops only."""
    d = from_torch(module, shape)
    row = d.by_layer[""][phase] if "" in d.by_layer else {}
    return {op: int(v) for op, v in row.items() if v != 0}


def nonzero(counter: Counted) -> dict[str, int]:
    return {op: n for op, n in counter.ops.items() if n}


# --- convolution ----------------------------------------------------------------------------------------------------


def conv_by_hand(x, w, b, stride: int, groups: int, dy):
    """A 2-D convolution without padding (every tap lands in the input), forward and backward, counted: each output
    a sum of its taps' products (+ the bias); each weight and input gradient a sum of its products; the bias's a sum
    of the output gradients over the batch and the positions."""
    n, _, h, wd = x.shape
    c_out, per_group, kh, kw = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    outs = c_out // groups
    fwd, bwd, bwd_input = Counted(), Counted(), Counted()
    y = torch.zeros(n, c_out, ho, wo, dtype=x.dtype)
    taps: dict[tuple, list] = {}  # input element -> its (dy index, weight index) pairs
    weight_terms: dict[tuple, list] = {}
    for i, co, oy, ox in itertools.product(range(n), range(c_out), range(ho), range(wo)):
        g = co // outs
        products = []
        for ci, ky, kx in itertools.product(range(per_group), range(kh), range(kw)):
            cin = g * per_group + ci
            at = (i, cin, oy * stride + ky, ox * stride + kx)
            products.append(fwd.mul(float(x[at]), float(w[co, ci, ky, kx])))
            taps.setdefault(at, []).append(((i, co, oy, ox), (co, ci, ky, kx)))
            weight_terms.setdefault((co, ci, ky, kx), []).append(((i, co, oy, ox), at))
        value = fwd.total(products)
        y[i, co, oy, ox] = fwd.add(value, float(b[co])) if b is not None else value
    dx = torch.zeros_like(x)
    for at, pairs in taps.items():
        dx[at] = bwd_input.total([bwd_input.mul(float(dy[o]), float(w[k])) for o, k in pairs])
    dw = torch.zeros_like(w)
    for k, pairs in weight_terms.items():
        dw[k] = bwd.total([bwd.mul(float(dy[o]), float(x[at])) for o, at in pairs])
    db = None
    if b is not None:
        db = torch.tensor([bwd.total([float(v) for v in dy[:, co].flatten()]) for co in range(c_out)], dtype=x.dtype)
    return y, dx, dw, db, fwd, bwd, bwd_input


@pytest.mark.parametrize(
    ("shape", "conv"),
    [
        ((2, 3, 7, 5), dict(in_channels=3, out_channels=4, kernel_size=3, stride=1, groups=1, bias=True)),
        ((3, 4, 7, 9), dict(in_channels=4, out_channels=2, kernel_size=3, stride=2, groups=2, bias=True)),
        ((2, 2, 5, 5), dict(in_channels=2, out_channels=5, kernel_size=(3, 1), stride=1, groups=1, bias=False)),
    ],
)
def test_convolution_forward_and_backward_by_hand(shape: tuple[int, ...], conv: dict) -> None:
    torch.manual_seed(0)
    module = nn.Conv2d(**conv).double()
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    y = module(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    stride = conv["stride"]
    hand_y, dx, dw, db, fwd, bwd, bwd_input = conv_by_hand(
        x.detach(),
        module.weight.detach(),
        module.bias.detach() if module.bias is not None else None,
        stride,
        conv["groups"],
        dy,
    )
    torch.testing.assert_close(hand_y, y.detach())
    torch.testing.assert_close(dw, module.weight.grad)
    if db is not None:
        torch.testing.assert_close(db, module.bias.grad)
    # The batch differs from every channel count, so a bias gradient summed over the wrong dimension shows.
    assert shape[0] != conv["out_channels"]
    torch.testing.assert_close(dx, x.grad)
    assert traced(module, *shape, phase="forward") == nonzero(fwd)
    # A training step wants no gradient of the input: the weight's and the bias's only.
    assert traced(module, *shape, phase="backward") == nonzero(bwd)
    # Behind a parameter added to the input it is wanted, as in a deeper layer: all three gradients.
    d = from_torch(_WithInputGrad(module), shape)
    assert {op: int(v) for op, v in d.by_layer["conv"]["backward"].items() if v != 0} == dict(
        Counter(nonzero(bwd)) + Counter(nonzero(bwd_input))
    )


class _WithInputGrad(nn.Module):
    """`conv` behind a parameter added to its input, so that the input's gradient is wanted as in a deeper layer."""

    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv
        self.shift = nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x + self.shift)


# --- pooling --------------------------------------------------------------------------------------------------------


def windows(n: int, m: int) -> list[range]:
    """Adaptive pooling's m windows over n values, as PyTorch takes them: floor(i n / m) to ceil((i + 1) n / m)."""
    return [range((i * n) // m, -((-(i + 1) * n) // m)) for i in range(m)]


def pool_by_hand(x, dy, kind: str, kernel: int, stride: int, out_size: int | None = None):
    """Max, average and adaptive average pooling without padding, forward and backward, counted: a window's max is
    its size - 1 comparisons, its mean a sum and a division; backward each gradient value goes to its window's max
    (one add into a zeroed gradient) or, divided by the window's size, to each of its elements (one add each)."""
    n, c, h, w = x.shape
    if kind == "adaptive":
        rows, cols = windows(h, out_size), windows(w, out_size)
    else:
        rows = [range(i, i + kernel) for i in range(0, h - kernel + 1, stride)]
        cols = [range(j, j + kernel) for j in range(0, w - kernel + 1, stride)]
    fwd, bwd = Counted(), Counted()
    y = torch.zeros(n, c, len(rows), len(cols), dtype=x.dtype)
    dx = torch.zeros_like(x)
    for i, ch, (oy, r), (ox, q) in itertools.product(range(n), range(c), enumerate(rows), enumerate(cols)):
        cells = [(i, ch, a, b) for a in r for b in q]
        if kind == "max":
            best = cells[0]
            for cell in cells[1:]:
                fwd.ops["cmp"] += 1
                best = cell if x[cell] > x[best] else best
            y[i, ch, oy, ox] = x[best]
            dx[best] = bwd.add(float(dx[best]), float(dy[i, ch, oy, ox]))
        else:
            y[i, ch, oy, ox] = fwd.div(fwd.total([float(x[cell]) for cell in cells]), len(cells))
            share = bwd.div(float(dy[i, ch, oy, ox]), len(cells))
            for cell in cells:
                dx[cell] = bwd.add(float(dx[cell]), share)
    return y, dx, fwd, bwd


@pytest.mark.parametrize(
    ("kind", "module", "shape"),
    [
        ("max", nn.MaxPool2d(3, stride=2), (2, 3, 7, 9)),
        ("max", nn.MaxPool2d(2), (3, 2, 6, 4)),
        ("avg", nn.AvgPool2d(3, stride=2), (2, 3, 7, 9)),
        ("avg", nn.AvgPool2d(2), (3, 2, 6, 4)),
        ("adaptive", nn.AdaptiveAvgPool2d(3), (2, 3, 7, 8)),  # overlapping windows: 3 does not divide 7 or 8
        ("adaptive", nn.AdaptiveAvgPool2d(2), (3, 2, 6, 4)),
    ],
)
def test_pooling_forward_and_backward_by_hand(kind: str, module: nn.Module, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    y = module(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    kernel = getattr(module, "kernel_size", 0)
    stride = getattr(module, "stride", 0)
    hand_y, dx, fwd, bwd = pool_by_hand(x.detach(), dy, kind, kernel, stride, getattr(module, "output_size", None))
    torch.testing.assert_close(hand_y, y.detach())
    torch.testing.assert_close(dx, x.grad)
    d = from_torch(nn.Sequential(_Shift(), module), shape)
    assert {op: int(v) for op, v in d.by_layer["1"]["forward"].items() if v != 0} == nonzero(fwd)
    assert {op: int(v) for op, v in d.by_layer["1"]["backward"].items() if v != 0} == nonzero(bwd)


class _Shift(nn.Module):
    """A parameter added to the input, so that the next layer's input gradient is wanted, as in a deeper layer."""

    def __init__(self) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.shift


# --- normalisation --------------------------------------------------------------------------------------------------


def normalise_by_hand(groups: list[list[tuple]], x, dy, w, b, channel_of, eps: float):
    """Normalisation over each group of elements, as complexa's LayerNorm counts it: the mean (a sum and a div), the
    centred values (an add each), the variance (a mul each, a sum, a div), rstd = 1/sqrt(var + eps), x-hat (a mul
    each), then the affine (a mul and an add each). Backward per group: g = dy w, s1 = sum g, s2 = sum g x-hat,
    dx = (g - s1/m - x-hat s2/m) rstd; the weight's gradient sums dy x-hat per channel, the bias's dy."""
    fwd, bwd = Counted(), Counted()
    y, dx = torch.zeros_like(x), torch.zeros_like(x)
    xhat = {}
    for cells in groups:
        m = len(cells)
        mean = fwd.div(fwd.total([float(x[c]) for c in cells]), m)
        centred = {c: fwd.add(float(x[c]), -mean) for c in cells}
        var = fwd.div(fwd.total([fwd.mul(centred[c], centred[c]) for c in cells]), m)
        rstd = fwd.div(1.0, fwd.sqrt(fwd.add(var, eps)))
        for c in cells:
            xhat[c] = fwd.mul(centred[c], rstd)
            y[c] = (
                fwd.add(fwd.mul(xhat[c], float(w[channel_of(c)])), float(b[channel_of(c)]))
                if w is not None
                else xhat[c]
            )
        g = {c: bwd.mul(float(dy[c]), float(w[channel_of(c)])) if w is not None else float(dy[c]) for c in cells}
        s1 = bwd.div(bwd.total([g[c] for c in cells]), m)
        s2 = bwd.div(bwd.total([bwd.mul(g[c], xhat[c]) for c in cells]), m)
        for c in cells:
            dx[c] = bwd.mul(bwd.add(bwd.add(g[c], -s1), -bwd.mul(xhat[c], s2)), rstd)
    dw = db = None
    if w is not None:
        by_channel: dict[int, list] = {}
        for cells in groups:
            for c in cells:
                by_channel.setdefault(channel_of(c), []).append(c)
        dw = torch.tensor(
            [bwd.total([bwd.mul(float(dy[c]), xhat[c]) for c in by_channel[k]]) for k in sorted(by_channel)],
            dtype=x.dtype,
        )
        db = torch.tensor([bwd.total([float(dy[c]) for c in by_channel[k]]) for k in sorted(by_channel)], dtype=x.dtype)
    return y, dx, dw, db, fwd, bwd


@pytest.mark.parametrize(
    ("module", "shape"),
    [
        (nn.BatchNorm2d(3, track_running_stats=False), (2, 3, 4, 5)),
        (nn.BatchNorm2d(2, affine=False, track_running_stats=False), (3, 2, 3, 3)),
        (nn.GroupNorm(2, 4), (3, 4, 3, 2)),
        (nn.GroupNorm(3, 3, affine=False), (2, 3, 2, 5)),
    ],
)
def test_normalisation_forward_and_backward_by_hand(module: nn.Module, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    module = module.double()
    for p in module.parameters():
        nn.init.normal_(p)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    y = module(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    n, c = shape[:2]
    spatial = list(itertools.product(*(range(s) for s in shape[2:])))
    if isinstance(module, nn.GroupNorm):
        per = c // module.num_groups
        groups = [
            [(i, ch, *at) for ch in range(g * per, (g + 1) * per) for at in spatial]
            for i in range(n)
            for g in range(module.num_groups)
        ]
    else:
        groups = [[(i, ch, *at) for i in range(n) for at in spatial] for ch in range(c)]
    w = module.weight.detach() if module.weight is not None else None
    b = module.bias.detach() if module.bias is not None else None
    hand_y, dx, dw, db, fwd, bwd = normalise_by_hand(groups, x.detach(), dy, w, b, lambda cell: cell[1], module.eps)
    torch.testing.assert_close(hand_y, y.detach())
    torch.testing.assert_close(dx, x.grad)
    if w is not None:
        torch.testing.assert_close(dw, module.weight.grad)
        torch.testing.assert_close(db, module.bias.grad)
    d = from_torch(nn.Sequential(_Shift(), module), shape)
    assert {op: int(v) for op, v in d.by_layer["1"]["forward"].items() if v != 0} == nonzero(fwd)
    assert {op: int(v) for op, v in d.by_layer["1"]["backward"].items() if v != 0} == nonzero(bwd)


def test_batch_norm_running_statistics_by_hand() -> None:
    # r = (1 - momentum) r + momentum v for the mean, and for the variance v scaled by m / (m - 1) first: per
    # channel 2 + 3 mul and 1 + 1 add; num_batches_tracked += 1 an add, in the module's row.
    shape = (2, 3, 4, 5)
    tracked = from_torch(nn.Sequential(_Shift(), nn.BatchNorm2d(3).double()), shape).by_layer["1"]["forward"]
    plain = from_torch(nn.Sequential(_Shift(), nn.BatchNorm2d(3, track_running_stats=False).double()), shape).by_layer[
        "1"
    ]["forward"]
    assert {op: int(tracked[op] - plain[op]) for op in plain if tracked[op] != plain[op]} == {"mul": 15, "add": 7}


# --- the other operators of the model zoos, by hand ------------------------------------------------------------------


class _Op(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


OPERATORS = [
    # (what, function of x, shape, forward ops of the module's row)
    ("cumsum over 5", lambda x: x.cumsum(1), (3, 5), {"add": 3 * 4}),
    ("safe softmax", lambda x: torch.ops.aten._safe_softmax(x, -1), (2, 4), {"cmp": 6, "add": 14, "exp": 8, "div": 8}),
    ("abs", torch.abs, (2, 3), {"cmp": 6}),
    ("cos, sin, log", lambda x: x.cos() + x.sin() + x.abs().log(), (2, 3), {"exp": 18, "add": 12, "cmp": 6}),
    ("a mask's and", lambda x: ((x > 0) & (x < 1)).float(), (2, 3), {"cmp": 18}),
    ("argmax", lambda x: x.argmax(1).float(), (3, 5), {"cmp": 12}),
    ("max of two", lambda x: torch.max(x, x * 2), (2, 3), {"cmp": 6, "mul": 6}),  # runs as maximum
    ("max.other", lambda x: torch.ops.aten.max.other(x, x * 2), (2, 3), {"cmp": 6, "mul": 6}),  # so does this
    ("max along", lambda x: x.max(1).values, (3, 5), {"cmp": 12}),
    # Mixtral's router: the top k of each row by k passes of a maximum, 4 + 3 cmp for 2 of 5, 3 + 2 + 1 for 3 of 4.
    ("topk 2 of 5", lambda x: x.topk(2, 1).values, (3, 5), {"cmp": 3 * 7}),
    ("topk 3 of 4, last", lambda x: x.topk(3).values, (2, 4), {"cmp": 2 * 6}),
    # An indexing's gradient accumulates (one add per value, batched_mm experts' weight gradients); a write is free.
    (
        "index_put, accumulate",
        lambda x: x.new_zeros(4, 5).index_put_((x[:, 0].long(),), x, accumulate=True),
        (3, 5),
        {"add": 15},
    ),
    ("index_put", lambda x: x.new_zeros(4, 5).index_put_((x[:, 0].long(),), x), (3, 5), {}),
    # In place: the out-of-place rule.
    ("silu_", lambda x: nn.functional.silu(x * 1, inplace=True), (2, 3), {"mul": 6, "act": 6}),
    ("hardswish_", lambda x: nn.functional.hardswish(x * 1, inplace=True), (2, 3), {"mul": 6, "act": 6}),
    ("sigmoid_ tanh_", lambda x: (x * 1).sigmoid_().tanh_(), (2, 3), {"mul": 6, "act": 12}),
    # Views and copies: free.
    ("views in place", lambda x: (x * 1).t_().as_strided_((3, 2), (1, 3)).unsqueeze_(0), (2, 3), {"mul": 6}),
    ("unsafe_split", lambda x: torch.ops.aten.unsafe_split(x, 1, 1)[0] * 1, (2, 3), {"mul": 2}),
    ("roll, flip", lambda x: x.roll(1, 0).flip(1) * 1, (2, 3), {"mul": 6}),
    # Upsampling: nearest copies; bilinear takes 4 taps, a lerp per pair: 6 mul and 3 add per output.
    ("nearest", lambda x: nn.functional.interpolate(x, scale_factor=2, mode="nearest"), (1, 2, 3, 3), {}),
    (
        "bilinear",
        lambda x: nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
        (1, 2, 3, 3),
        {"mul": 6 * 72, "add": 3 * 72},
    ),
]


@pytest.mark.parametrize(("what", "fn", "shape", "expected"), OPERATORS, ids=[o[0] for o in OPERATORS])
def test_operator_forward_counts(what: str, fn, shape: tuple[int, ...], expected: dict[str, int]) -> None:
    d = from_torch(_Op(fn), shape, training=False)
    assert d.unsupported == {}
    row = d.by_layer.get("", {"forward": {}})["forward"]
    assert {op: int(v) for op, v in row.items() if v != 0} == expected


def test_upsampling_backward_by_hand() -> None:
    # Nearest: each output's gradient added into its source (one add each); bilinear: each to its 4 taps, weighted
    # by two lerp weights (2 mul each) and added: 8 mul and 4 add per output.
    for mode, expected in (("nearest", {"add": 72}), ("bilinear", {"mul": 8 * 72, "add": 4 * 72})):
        module = nn.Sequential(
            _Shift(), _Op(lambda x, mode=mode: nn.functional.interpolate(x, scale_factor=2, mode=mode))
        )
        d = from_torch(module, (1, 2, 3, 3), dtype=torch.float64)
        assert {op: int(v) for op, v in d.by_layer["1"]["backward"].items() if v != 0} == expected, mode


# --- an LSTM layer (oneDNN's mkldnn_rnn_layer) ---------------------------------------------------------------------


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def lstm_by_hand(x, w_ih, w_hh, b_ih, b_hh, dy):
    """torch.nn.LSTM's equations for one layer, batch first, from zero states, forward and back through time,
    counted: each gate's pre-activation two dot products and two biases; c = f c' + i g; h = o tanh(c); backward
    every gradient of those, the weights' summed over the steps and samples."""
    samples, steps, width = x.shape
    hidden = w_hh.shape[1]
    fwd, bwd = Counted(), Counted()
    y = torch.zeros(samples, steps, hidden, dtype=x.dtype)
    dx = torch.zeros_like(x)
    dw_ih, dw_hh = torch.zeros_like(w_ih), torch.zeros_like(w_hh)
    db = torch.zeros_like(b_ih)
    dbs = [[] for _ in range(4 * hidden)]
    dw_terms_ih = [[[] for _ in range(width)] for _ in range(4 * hidden)]
    dw_terms_hh = [[[] for _ in range(hidden)] for _ in range(4 * hidden)]
    for b in range(samples):
        h, c = [0.0] * hidden, [0.0] * hidden
        tape = []
        for t in range(steps):
            pre = []
            for r in range(4 * hidden):
                a = fwd.total([fwd.mul(float(w_ih[r, k]), float(x[b, t, k])) for k in range(width)])
                a = fwd.add(a, fwd.total([fwd.mul(float(w_hh[r, k]), h[k]) for k in range(hidden)]))
                pre.append(fwd.add(fwd.add(a, float(b_ih[r])), float(b_hh[r])))
            fwd.ops["act"] += 5 * hidden
            gi, gf = [sigmoid(v) for v in pre[:hidden]], [sigmoid(v) for v in pre[hidden : 2 * hidden]]
            gg, go = [math.tanh(v) for v in pre[2 * hidden : 3 * hidden]], [sigmoid(v) for v in pre[3 * hidden :]]
            c_prev, h_prev = c, h
            c = [fwd.add(fwd.mul(gf[k], c_prev[k]), fwd.mul(gi[k], gg[k])) for k in range(hidden)]
            tc = [math.tanh(v) for v in c]
            h = [fwd.mul(go[k], tc[k]) for k in range(hidden)]
            y[b, t] = torch.tensor(h, dtype=x.dtype)
            tape.append((gi, gf, gg, go, c_prev, h_prev, tc))
        dh_next, dc_next = [0.0] * hidden, [0.0] * hidden
        for t in reversed(range(steps)):
            gi, gf, gg, go, c_prev, h_prev, tc = tape[t]
            last = t == steps - 1
            dh = [float(dy[b, t, k]) if last else bwd.add(float(dy[b, t, k]), dh_next[k]) for k in range(hidden)]
            do = [bwd.mul(dh[k], tc[k]) for k in range(hidden)]
            bwd.ops["act_grad"] += hidden  # tanh'(c)
            dc = [bwd.mul(bwd.mul(dh[k], go[k]), 1 - tc[k] ** 2) for k in range(hidden)]
            dc = dc if last else [bwd.add(dc[k], dc_next[k]) for k in range(hidden)]
            di = [bwd.mul(dc[k], gg[k]) for k in range(hidden)]
            dg = [bwd.mul(dc[k], gi[k]) for k in range(hidden)]
            df = [bwd.mul(dc[k], c_prev[k]) for k in range(hidden)]
            dc_next = [bwd.mul(dc[k], gf[k]) for k in range(hidden)]
            bwd.ops["act_grad"] += 4 * hidden  # the gates' derivatives
            da = [bwd.mul(di[k], gi[k] * (1 - gi[k])) for k in range(hidden)]
            da += [bwd.mul(df[k], gf[k] * (1 - gf[k])) for k in range(hidden)]
            da += [bwd.mul(dg[k], 1 - gg[k] ** 2) for k in range(hidden)]
            da += [bwd.mul(do[k], go[k] * (1 - go[k])) for k in range(hidden)]
            for k in range(width):
                dx[b, t, k] = bwd.total([bwd.mul(float(w_ih[r, k]), da[r]) for r in range(4 * hidden)])
            dh_next = [bwd.total([bwd.mul(float(w_hh[r, k]), da[r]) for r in range(4 * hidden)]) for k in range(hidden)]
            for r in range(4 * hidden):
                dbs[r].append(da[r])
                for k in range(width):
                    dw_terms_ih[r][k].append(bwd.mul(da[r], float(x[b, t, k])))
                for k in range(hidden):
                    dw_terms_hh[r][k].append(bwd.mul(da[r], h_prev[k]))
    for r in range(4 * hidden):
        db[r] = bwd.total(dbs[r])
        bwd.total(dbs[r])  # b_hh's gradient: the same sum again
        for k in range(width):
            dw_ih[r, k] = bwd.total(dw_terms_ih[r][k])
        for k in range(hidden):
            dw_hh[r, k] = bwd.total(dw_terms_hh[r][k])
    return y, dx, dw_ih, dw_hh, db, fwd, bwd


def _ops(module: nn.Module, shape: tuple[int, ...]) -> set[str]:
    from complexa._trace._tracing import trace

    return {c.op for c in trace(module, [(shape, torch.float32)], training=True, loss=None, hints={}).calls}


class _LSTMOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 2, batch_first=True)  # float32: oneDNN's kernel (float64 runs decomposed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0]


def test_lstm_layer_forward_and_backward_by_hand() -> None:
    torch.manual_seed(0)
    module = _LSTMOut()
    lstm = module.lstm
    x = torch.randn(2, 4, 3, requires_grad=True)
    y = module(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    hand_y, dx, dw_ih, dw_hh, db, fwd, bwd = lstm_by_hand(  # in float64, to float32's precision
        x.detach(),
        lstm.weight_ih_l0.detach(),
        lstm.weight_hh_l0.detach(),
        lstm.bias_ih_l0.detach(),
        lstm.bias_hh_l0.detach(),
        dy,
    )
    torch.testing.assert_close(hand_y, y.detach())
    torch.testing.assert_close(dx, x.grad)
    torch.testing.assert_close(dw_ih, lstm.weight_ih_l0.grad)
    torch.testing.assert_close(dw_hh, lstm.weight_hh_l0.grad)
    torch.testing.assert_close(db, lstm.bias_ih_l0.grad)
    d = from_torch(module, (2, 4, 3))
    assert d.unsupported == {}
    assert any("mkldnn_rnn_layer" in op for op in _ops(module, (2, 4, 3)))
    assert {op: int(v) for op, v in d.by_layer["lstm"]["forward"].items() if v != 0} == nonzero(fwd)
    assert {op: int(v) for op, v in d.by_layer["lstm"]["backward"].items() if v != 0} == nonzero(bwd)
