"""The activations' CPU kernels: a = g(z), one act per unit, and in place d *= g'(z), one act_grad and one mul.

g and g' are plain Python here (`activate`, `derivative`, with libm's exp, expm1 and erf), compiled for the device in
`complexa.reference.kinds.activation_cuda` and, for ReLU and SiLU, for the CPU. The CPU's sigmoid, tanh and both
GELUs compute g and g' from a vectorised exp and erf instead (below), within a few ulps of the exact values: a loop
that calls libm is not vectorised. g' reads the stored output for sigmoid and tanh (a(1 - a), 1 - a^2) and the stored
input for ReLU, GELU and SiLU; its arithmetic is the act_grad and is not counted again. The counts are the same
whichever arithmetic computes g: one act per unit forward, one act_grad and one mul per unit backward.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from complexa.reference._node import Backend, Build, Node, Tensor
from complexa.reference.kinds._jit import ACT, ACT_GRAD, BACKWARD, FORWARD, MUL, jit

__all__ = [
    "SIGMOID",
    "TANH",
    "RELU",
    "GELU",
    "GELU_TANH",
    "IDENTITY",
    "SILU",
    "activate",
    "derivative",
    "Kernels",
    "make",
]

SIGMOID, TANH, RELU, GELU, GELU_TANH, IDENTITY, SILU = 0, 1, 2, 3, 4, 5, 6
"""The codes `complexa.nn.activations` gives its kinds."""

_SQRT_HALF = 0.7071067811865476  # 1 / sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)
_SQRT_2_OVER_PI = 0.7978845608028654  # sqrt(2 / pi)
_KAPPA = 0.044715


def activate(z: float, code: int) -> float:
    """g(z)."""
    if code == SIGMOID:
        return 1.0 / (1.0 + math.exp(-z))
    if code == TANH:
        # tanh from expm1, as accurate as libm's tanh (within an ulp) and about twice as fast under numba
        e = math.expm1(-2.0 * abs(z))
        t = -e / (2.0 + e)
        return t if z >= 0.0 else -t
    if code == RELU:
        return z if z > 0.0 else 0.0
    if code == GELU:
        return 0.5 * z * (1.0 + math.erf(z * _SQRT_HALF))
    if code == GELU_TANH:
        u = _SQRT_2_OVER_PI * (z + _KAPPA * z * z * z)
        e = math.expm1(-2.0 * abs(u))
        t = -e / (2.0 + e)
        return 0.5 * z * (1.0 + (t if u >= 0.0 else -t))
    if code == SILU:
        return z / (1.0 + math.exp(-z))
    return z


def derivative(z: float, a: float, code: int) -> float:
    """g'(z), from the stored input z and output a = g(z)."""
    if code == SIGMOID:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return 1.0 if z > 0.0 else 0.0
    if code == GELU:
        return 0.5 * (1.0 + math.erf(z * _SQRT_HALF)) + z * _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if code == GELU_TANH:
        u = _SQRT_2_OVER_PI * (z + _KAPPA * z * z * z)
        e = math.expm1(-2.0 * abs(u))
        t = -e / (2.0 + e)
        t = t if u >= 0.0 else -t
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3.0 * _KAPPA * z * z)
    if code == SILU:
        s = 1.0 / (1.0 + math.exp(-z))
        return s * (1.0 + z * (1.0 - s))
    return 1.0


_activate = jit(activate)
_derivative = jit(derivative)

# --- vectorisable exp and tanh for the CPU kernels ----------------------------------------------------------------
# numba has no vector exp or tanh without Intel's SVML, and a loop that calls libm is not vectorised. So exp(x) is
# computed here as LLVM can vectorise it: x = k ln 2 + r with |r| <= ln 2 / 2 (Cody and Waite's two-part ln 2, exact
# for |k| < 2^11), expm1(r) by its Taylor series to r^13 (truncation below 2e-17 relative), and 2^k written into a
# float's exponent bits. From those two parts come exp(x) and expm1(x), each with one rounding at the end; tanh and
# sigmoid follow from them. Measured against the exact values (tests/test_activation_kernels.py): sigmoid and tanh
# within 2.5 ulps (libm's own formula and tanh reach 2.2 and 2.1), within 4 and 3 ulps of libm; the tanh GELU within
# 3 ulps, and more accurate than libm's formula where 1 + tanh u cancels.
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2's leading bits: k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.9082149292705877e-10  # ln 2 - _LN2_HI
_SHIFTER = 6755399441055744.0  # 1.5 * 2^52: x + _SHIFTER rounds x to an integer, held in the low bits
_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13 = (1.0 / math.factorial(n) for n in range(2, 14))
"""1/2!, ..., 1/13!: expm1(r) = r + r^2 (1/2! + r/3! + ... + r^11/13!)."""


def _bits_of_typer(typingctx: Any, x: Any) -> Any:
    """A float64's bits as an int64 (a bit cast, which LLVM vectorises)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


def _float_of_typer(typingctx: Any, n: Any) -> Any:
    """An int64's bits as a float64."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


def _fma_typer(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """a * b + c with one rounding (llvm.fma: the FMA instruction, or libm's fma without one)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        double = ir.DoubleType()
        fma = builder.module.declare_intrinsic("llvm.fma", [double], ir.FunctionType(double, [double] * 3))
        return builder.call(fma, args)

    return types.float64(types.float64, types.float64, types.float64), codegen


_bits_of: Any = intrinsic(_bits_of_typer)
_float_of: Any = intrinsic(_float_of_typer)
_fma: Any = intrinsic(_fma_typer)


def _inline(function: Any) -> Any:
    """`function` compiled into each kernel that calls it (numba inlines it), so the kernel's loop can be
    vectorised."""
    return jit(function, inline="always")


@_inline
def _exp_parts(x: float, lo: float, bias: int) -> tuple[float, float]:
    """2^(k + bias - 1023) and expm1(r), where x + lo = k ln 2 + r, |r| <= ln 2 / 2: exp(x + lo) = 2^(1023 - bias)
    s (1 + q). `lo` is a low part below x's last bit (-0.0 for none, which LLVM drops: x + -0.0 is x).

    The bias is added to the shifter, so that the integer k + bias is what lands in the low bits, and one shift
    moves it into the exponent field: 2^(k + bias - 1023) is a normal float for k + bias in [1, 2046].
    """
    k: float = _fma(x, _LOG2E, _SHIFTER + bias)
    kf = k - (_SHIFTER + bias)
    r = _fma(-kf, _LN2_LO, _fma(-kf, _LN2_HI, x) + lo)
    # Estrin's scheme: the sum in pairs, then pairs of pairs (a chain of 4 fma rather than Horner's 11)
    r2 = r * r
    r4 = r2 * r2
    p01 = _fma(_fma(_E5, r, _E4), r2, _fma(_E3, r, _E2))
    p23 = _fma(_fma(_E9, r, _E8), r2, _fma(_E7, r, _E6))
    p45 = _fma(_fma(_E13, r, _E12), r2, _fma(_E11, r, _E10))
    p = _fma(_fma(p45, r4, p23), r4, p01)
    return _float_of(_bits_of(k) << 52), _fma(r2, p, r)


@_inline
def _sigmoid(z: float) -> float:
    """1 / (1 + exp(-z)), exp(-z) = 2 h (1 + q) with h = 2^(k - 1) (2^k is not a float at k = 1024), and
    1 + exp(-z) = 2 (h q + (h + 1/2)) rounded once (h + 1/2 is exact while the 1 matters). -z is clamped to [-708, 710]:
    below, 1 + exp(-z) rounds to 1 either way; above, it is inf and sigmoid 0, as with libm."""
    x = -z
    x = 710.0 if x > 710.0 else x
    x = -708.0 if x < -708.0 else x
    h, q = _exp_parts(x, -0.0, 1022)
    return 1.0 / (2.0 * _fma(h, q, h + 0.5))


@_inline
def _tanh(z: float) -> float:
    """tanh z = sign(z) (1 - f) / (1 + f), f = exp(-2|z|): 1 - f = -expm1(-2|z|) computed as such (rounded once:
    no cancellation near 0). -2|z| is clamped to -40, where tanh rounds to 1 (from |z| = 19.1 on)."""
    x = -2.0 * abs(z)
    s, q = _exp_parts(-40.0 if x < -40.0 else x, -0.0, 1023)
    return math.copysign(_fma(s, q, s - 1.0) / (1.0 + _fma(s, q, s)), z)


@_inline
def _gelu_tanh_parts(z: float) -> tuple[float, float]:
    """1 + tanh u and 1 - tanh u, u = sqrt(2 / pi) (z + 0.044715 z^3), each without cancellation: with
    f = exp(-2|u|), 1 - |tanh u| = 2f / (1 + f) and 1 + |tanh u| = 2 less it. -2|u| is clamped to -708; below, f is
    taken as 0 (exp(-708) would leave a GELU of about 1e-305 where it is 0)."""
    u = _SQRT_2_OVER_PI * (z + _KAPPA * z * z * z)
    x = -2.0 * abs(u)
    s, q = _exp_parts(-708.0 if x < -708.0 else x, -0.0, 1023)
    f = 0.0 if x < -708.0 else _fma(s, q, s)
    w = (f + f) / (1.0 + f)
    return (2.0 - w, w) if u >= 0.0 else (w, 2.0 - w)


# --- the exact GELU: erf, vectorised ---------------------------------------------------------------------------
# Near-minimax polynomials (Chebyshev interpolants fitted at 50 digits by tools/erf_fit.py, highest degree first):
# erf(x) / x - 1 in x^2 for |x| < 0.84375; erfc(x) exp(x^2) (x + 4) in t = w - m, w = 1 / (x + 4), for x in
# [0.84375, 2.5) (m = 3/16) and [2.5, 6) (m = 1/8), each within 1e-17 of the function it fits. GELU needs
# 1 + erf(x), x = z / sqrt 2: near 0 that is (1 + x) + x y; from 0.84375 on, 2 - erfc(x) for x > 0 and erfc(|x|) for
# x < 0 (so no cancellation: libm's 1 + erf(x) loses its digits for x < 0), with erfc(|x|) = 0 from 6 on, where
# libm's erf is -1 and 1 + erf(x) is 0 too.
_ERF_A = (
    1.0726571432176348e-08,
    -1.571446067260244e-07,
    1.640162967934702e-06,
    -1.4922121574443055e-05,
    0.00012055199941321885,
    -0.000854832379116413,
    0.005223977576377844,
    -0.02686617064077985,
    0.11283791670935311,
    -0.376126389031834,
    0.12837916709551256,
)
_ERFC_B1 = (
    6480772.884381971,
    1598316.3512712107,
    -783134.0288709018,
    -477582.08401551,
    -10554.627889374091,
    90941.86775662884,
    54033.576714550676,
    19065.085409644176,
    4888.980458507494,
    971.1366358748297,
    152.95028131459173,
    19.1423113121962,
    1.8727183681541615,
)
_ERFC_B2 = (
    60388.16956644652,
    -1497431.970595167,
    -489155.45639615506,
    37692.39418308338,
    102543.65805242486,
    55302.01692817378,
    20022.955721200335,
    5701.990390135172,
    1355.1681039663736,
    276.917161632493,
    49.485356944974214,
    7.812389832647053,
    1.095995661000491,
)


@_inline
def _gelu_parts(z: float) -> tuple[float, float]:
    """1 + erf(x) and exp(-x^2), x = z / sqrt 2 rounded as libm's formula rounds it.

    exp(-x^2) from x^2 = h + l exactly (fma), 0 below exp(-708); w = 1 / (|x| + 4) to about twice a float's precision
    (w and its low part: the sum |x| + 4 and the division's remainders are exact), so that the polynomial's variable
    and w's own factor carry no rounding of w.
    """
    x = z * _SQRT_HALF
    ax = abs(x)
    u = x * x
    y = 0.0
    for c in _ERF_A:
        y = _fma(y, u, c)
    near_0 = _fma(x, y, 1.0 + x)
    h = ax * ax
    h_lo = _fma(ax, ax, -h)
    s, q = _exp_parts(-708.0 if h > 708.0 else -h, -h_lo, 1023)
    e = 0.0 if h > 708.0 else _fma(s, q, s)
    b = 6.0 if ax > 6.0 else ax
    v = b + 4.0
    bv = v - b
    v_lo = (b - (v - bv)) + (4.0 - bv)
    w = 1.0 / v
    w_lo = w * _fma(-w, v_lo, _fma(-w, v, 1.0))
    first = b < 2.5
    t = (w - (0.1875 if first else 0.125)) + w_lo
    g = 0.0
    for i in range(13):
        g = _fma(g, t, _ERFC_B1[i] if first else _ERFC_B2[i])
    erfc = 0.0 if ax >= 6.0 else e * _fma(w, g, w_lo * g)
    return (near_0 if ax < 0.84375 else (2.0 - erfc if x >= 0.0 else erfc)), e


def _sigmoid_rows(z: Any, a: Any) -> int:
    """a = sigmoid(z) for a 2-D `z`; returns the acts performed (one a unit)."""
    acts = 0
    for s in range(z.shape[0]):
        for i in range(z.shape[1]):
            a[s, i] = _sigmoid(z[s, i])
            acts += 1
    return acts


def _tanh_rows(z: Any, a: Any) -> int:
    """a = tanh(z); returns the acts performed."""
    acts = 0
    for s in range(z.shape[0]):
        for i in range(z.shape[1]):
            a[s, i] = _tanh(z[s, i])
            acts += 1
    return acts


def _gelu_tanh_rows(z: Any, a: Any) -> int:
    """a = z (1 + tanh u) / 2; returns the acts performed."""
    acts = 0
    for s in range(z.shape[0]):
        for i in range(z.shape[1]):
            zi = z[s, i]
            plus, _ = _gelu_tanh_parts(zi)
            a[s, i] = 0.5 * zi * plus
            acts += 1
    return acts


def _gelu_tanh_grad_rows(z: Any, d: Any) -> int:
    """d *= g'(z) for the tanh GELU, g' = (1 + t) / 2 + z (1 - t^2) sqrt(2 / pi) (1 + 3 0.044715 z^2) / 2 with
    1 - t^2 = (1 + t)(1 - t); returns the act_grads (and muls) performed."""
    n = 0
    for s in range(z.shape[0]):
        for i in range(z.shape[1]):
            zi = z[s, i]
            plus, minus = _gelu_tanh_parts(zi)
            d[s, i] *= 0.5 * plus + 0.5 * zi * (plus * minus) * _SQRT_2_OVER_PI * (1.0 + 3.0 * _KAPPA * zi * zi)
            n += 1
    return n


def _gelu_rows(z: Any, a: Any) -> int:
    """a = z (1 + erf(z / sqrt 2)) / 2; returns the acts performed."""
    acts = 0
    for s in range(z.shape[0]):
        for i in range(z.shape[1]):
            zi = z[s, i]
            plus, _ = _gelu_parts(zi)
            a[s, i] = 0.5 * zi * plus
            acts += 1
    return acts


def _gelu_grad_rows(z: Any, d: Any) -> int:
    """d *= g'(z) for the exact GELU, g' = (1 + erf(z / sqrt 2)) / 2 + z exp(-z^2 / 2) / sqrt(2 pi); returns the
    act_grads (and muls) performed. exp(-z^2 / 2) = exp(-x^2) exp(x^2 - z^2 / 2), x = z / sqrt 2 rounded: the second
    factor is 1 + (x^2 - z^2 / 2) to within 1e-28, its difference exact from both squares' exact parts."""
    n = 0
    for s in range(z.shape[0]):
        for i in range(z.shape[1]):
            zi = z[s, i]
            plus, e = _gelu_parts(zi)
            x = zi * _SQRT_HALF
            h, zz = x * x, zi * zi
            gap = (h - 0.5 * zz) + (_fma(x, x, -h) - 0.5 * _fma(zi, zi, -zz))
            density = 0.0 if e == 0.0 else _fma(e, gap, e)
            d[s, i] *= 0.5 * plus + zi * _INV_SQRT_2PI * density
            n += 1
    return n


# ``error_model="numpy"``: a division is not checked for zero (each divisor here is at least 1), so LLVM can
# vectorise the loops.
sigmoid_rows = jit(_sigmoid_rows, error_model="numpy")
tanh_rows = jit(_tanh_rows, error_model="numpy")
gelu_tanh_rows = jit(_gelu_tanh_rows, error_model="numpy")
gelu_tanh_grad_rows = jit(_gelu_tanh_grad_rows, error_model="numpy")
gelu_rows = jit(_gelu_rows, error_model="numpy")
gelu_grad_rows = jit(_gelu_grad_rows, error_model="numpy")


class Kernels(NamedTuple):
    forward: Any
    backward: Any


def make(count: bool) -> Kernels:
    counting = count

    # One loop per kind, each calling g and g' with a constant code: numba inlines them and LLVM folds the choice
    # of kind out of the loop, instead of testing the code at every element.
    @jit
    def forward_of(z, code, a):
        n_act = 0
        for s in range(z.shape[0]):
            for i in range(z.shape[1]):
                a[s, i] = _activate(z[s, i], code)
                if counting:
                    n_act += 1
        return n_act

    @jit
    def forward(z, code, a, counts):
        n_act = 0
        if code == IDENTITY:
            for s in range(z.shape[0]):
                for i in range(z.shape[1]):
                    a[s, i] = z[s, i]
        elif code == SIGMOID:
            n_act = sigmoid_rows(z, a)
        elif code == TANH:
            n_act = tanh_rows(z, a)
        elif code == RELU:
            n_act = forward_of(z, RELU, a)
        elif code == GELU:
            n_act = gelu_rows(z, a)
        elif code == SILU:
            n_act = forward_of(z, SILU, a)
        else:
            n_act = gelu_tanh_rows(z, a)
        if counting:
            counts[FORWARD, ACT] += n_act

    @jit
    def backward_of(z, a, code, d):
        n = 0
        for s in range(z.shape[0]):
            for i in range(z.shape[1]):
                d[s, i] *= _derivative(z[s, i], a[s, i], code)
                if counting:
                    n += 1
        return n

    @jit
    def backward(z, a, code, d, counts):
        n = 0
        if code == SIGMOID:
            n = backward_of(z, a, SIGMOID, d)
        elif code == TANH:
            n = backward_of(z, a, TANH, d)
        elif code == RELU:
            n = backward_of(z, a, RELU, d)
        elif code == GELU:
            n = gelu_grad_rows(z, d)
        elif code == SILU:
            n = backward_of(z, a, SILU, d)
        elif code == GELU_TANH:
            n = gelu_tanh_grad_rows(z, d)
        if counting:
            counts[BACKWARD, MUL] += n
            counts[BACKWARD, ACT_GRAD] += n

    return Kernels(forward, backward)


# --- the node: this kind as the runtime trains it (`complexa.reference._runtime`) ----------------------------------
class ActivationNode(Node):
    def __init__(self, path: str, width: int, grad: bool, code: int) -> None:
        super().__init__(path, width, grad)
        self.code = code

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        self.k = backend.kernels.activation
        self.backend = backend
        self.a = backend.empty((batch, self.width))
        self.kept = {"activations": [self.a]}

    def output(self) -> Any:
        return self.a

    def elements(self, batch: int) -> tuple[int, int]:
        return batch * self.width, 0

    def forward(self, z: Any, counts: Any) -> Any:
        self.z = z
        if self.code == IDENTITY:  # nothing to evaluate or count: the backend's copy, without a kernel's call
            self.backend.copy(self.a, z)
        else:
            self.k.forward(z, self.code, self.a, counts)
        return self.a

    def backward(self, d: Any, counts: Any) -> Any:
        if not self.input_grad:
            return None
        if self.code != IDENTITY:  # identity's derivative is 1: d is the input's gradient as it is
            self.k.backward(self.z, self.a, self.code, d, counts)  # in place: d becomes the input's gradient
        return d


def node(path: str, layer: Any, width: int, input_grad: bool, tensors: list[Tensor], build: Build) -> ActivationNode:
    return ActivationNode(path, width, input_grad, int(layer.code))
