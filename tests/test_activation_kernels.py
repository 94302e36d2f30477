"""The activations' CPU kernels against the exact values (mpmath, from the same float inputs) and against libm: the
vectorised exp behind sigmoid, tanh and both GELUs, and the GELU's erf, at every range of z their clamps, fits and
formulas treat differently, their special values (signed zeros, subnormals, infinities, NaN), and every kind's forward
and backward loop with its counts."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa.reference.kinds import activation as kinds
from complexa.reference.kinds._jit import ACT, ACT_GRAD, BACKWARD, FORWARD, MUL

TINY = 1e-300
"""Below this magnitude an exact value may come out as 0 (the kernels flush what would be near-subnormal)."""


def ulps(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """|actual - expected| in units of expected's last place (0 where both are equal, infinities and NaNs included)."""
    with np.errstate(invalid="ignore"):
        out = np.abs(actual - expected) / np.spacing(np.abs(expected))
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    return np.where(same, 0.0, out)


def exact_ulps(actual: np.ndarray, exact: list[mpmath.mpf]) -> float:
    """The largest error of `actual` against the exact values, in ulps of the exact value; where that is below TINY,
    0 if `actual` is too, else inf."""
    worst = 0.0
    for a, e in zip(actual.ravel(), exact):
        if abs(e) < TINY:
            worst = max(worst, 0.0 if abs(a) < TINY else math.inf)
        else:
            worst = max(worst, float(abs(mpmath.mpf(float(a)) - e) / mpmath.mpf(np.spacing(abs(float(e))))))
    return worst


def exactly(f: Callable[[mpmath.mpf], mpmath.mpf], z: np.ndarray) -> list[mpmath.mpf]:
    with mpmath.workprec(200):
        return [+f(mpmath.mpf(float(v))) for v in z.ravel()]


def sigmoid_exact(v: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-v))


def gelu_tanh_u(v: float) -> float:
    """u = sqrt(2 / pi) (z + 0.044715 z^3) in floats, as the kernels and libm's reference compute it."""
    return kinds._SQRT_2_OVER_PI * (v + kinds._KAPPA * v * v * v)


def gelu_tanh_exact(v: mpmath.mpf) -> mpmath.mpf:
    """z (1 + tanh u) / 2 for the float u, 1 + tanh u as 2 / (1 + exp(-2u)) (no cancellation at any precision)."""
    u = mpmath.mpf(gelu_tanh_u(float(v)))
    return v / (1 + mpmath.exp(-2 * u))


def gelu_tanh_slope_terms(v: mpmath.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
    """g' = (1 + t) / 2 + z (1 - t^2) sqrt(2 / pi) (1 + 3 0.044715 z^2) / 2, its two terms, t = tanh u."""
    u = mpmath.mpf(gelu_tanh_u(float(v)))
    plus, minus = 2 / (1 + mpmath.exp(-2 * u)), 2 / (1 + mpmath.exp(2 * u))
    c, kappa = mpmath.mpf(kinds._SQRT_2_OVER_PI), mpmath.mpf(kinds._KAPPA)
    return plus / 2, v * plus * minus * c * (1 + 3 * kappa * v * v) / 2


def libm_sigmoid(z: np.ndarray) -> np.ndarray:
    return np.array([[1.0 / (1.0 + math.exp(-v)) if -v < 709.78 else 0.0 for v in row] for row in z])


def run(rows: Callable[[np.ndarray, np.ndarray], int], z: np.ndarray) -> np.ndarray:
    a = np.empty_like(z)
    assert rows(z, a) == z.size
    return a


# --- sigmoid -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e-300, 1e-8, 0.5, 1.0, 20.0, 37.0, 40.0, 700.0, 720.0, 1e4])
def test_sigmoid_within_2_5_ulps_of_the_exact_value_and_4_of_libm(scale: float) -> None:
    z = np.random.default_rng(0).uniform(-scale, scale, (8, 257))
    a = run(kinds.sigmoid_rows, z)
    assert exact_ulps(a, exactly(sigmoid_exact, z)) <= 2.5
    assert ulps(a, libm_sigmoid(z)).max() <= 4


def test_sigmoid_at_its_edges() -> None:
    z = np.array([[0.0, -0.0, 708.0, -708.0, 708.5, -708.5, 709.0, -709.0, 709.5, -709.5, 745.0, -745.0, 800.0]])
    z = np.concatenate(
        [z, [[math.inf, -math.inf, 1e-320, 36.7, -36.7, 37.0, 0.3465, -0.3467, 1.0, 2.0, 3.0, 4.0, 5.0]]]
    )
    a = run(kinds.sigmoid_rows, z)
    assert exact_ulps(a, exactly(sigmoid_exact, z)) <= 2.5
    assert ulps(a, libm_sigmoid(z)).max() <= 2
    assert a[0, 0] == 0.5 and a[1, 0] == 1.0 and a[1, 1] == 0.0 and a[0, 12] == 1.0
    assert a[0, 11] == 0.0 and a[0, 10] == 1.0  # exp(745) is inf: 0, as libm's formula gives
    assert math.isnan(run(kinds.sigmoid_rows, np.array([[math.nan]]))[0, 0])


@settings(max_examples=200, deadline=None)
@given(st.floats(-750.0, 750.0, allow_nan=False))
def test_sigmoid_within_2_5_ulps_of_the_exact_value_anywhere(v: float) -> None:
    z = np.full((1, 3), v)
    assert exact_ulps(run(kinds.sigmoid_rows, z), exactly(sigmoid_exact, z)) <= 2.5


# --- tanh ----------------------------------------------------------------------------------------------------------
libm_tanh = np.vectorize(math.tanh)


@pytest.mark.parametrize("scale", [1e-300, 1e-8, 1e-3, 0.3, 0.6, 1.0, 3.0, 10.0, 19.5, 25.0, 1e4])
def test_tanh_within_2_5_ulps_of_the_exact_value_and_3_of_libm(scale: float) -> None:
    z = np.random.default_rng(1).uniform(-scale, scale, (8, 257))
    a = run(kinds.tanh_rows, z)
    assert exact_ulps(a, exactly(mpmath.tanh, z)) <= 2.5
    assert ulps(a, libm_tanh(z)).max() <= 3


def test_tanh_at_its_edges() -> None:
    z = np.array([[0.0, -0.0, 5e-324, -5e-324, 1e-310, -2.2e-308, 1e-9, -1e-9, 0.17, -0.35, 0.7, -1.04]])
    z = np.concatenate([z, [[19.06, -19.06, 20.0, -20.0, 25.0, -25.0, 1e300, -1e300, math.inf, -math.inf, 2.0, 3.5]]])
    a = run(kinds.tanh_rows, z)
    assert ulps(a, libm_tanh(z)).max() <= 3
    assert exact_ulps(a, exactly(mpmath.tanh, z)) <= 2.5
    assert np.array_equal(np.signbit(a), np.signbit(z))  # tanh(-0.0) = -0.0
    assert np.array_equal(a[0, :6], z[0, :6])  # tanh z = z for the subnormals and zeros
    assert np.array_equal(a[1, 2:10], np.sign(z[1, 2:10])) and a[1, 8] == 1.0 and a[1, 9] == -1.0
    assert math.isnan(run(kinds.tanh_rows, np.array([[math.nan]]))[0, 0])


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False))
def test_tanh_within_3_ulps_of_libm_anywhere(v: float) -> None:
    z = np.array([[v, -v, v / 64]])
    a = run(kinds.tanh_rows, z)
    assert ulps(a, libm_tanh(z)).max() <= 3
    assert np.array_equal(np.signbit(a), np.signbit(z))


# --- GELU, tanh form -----------------------------------------------------------------------------------------------
def gelu_tanh(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernels' forward a and backward d (d *= g' from d = 1)."""
    a, d = run(kinds.gelu_tanh_rows, z), np.ones_like(z)
    assert kinds.gelu_tanh_grad_rows(z, d) == z.size
    return a, d


def assert_gelu_tanh_exact(z: np.ndarray) -> None:
    """Forward within 3 ulps of the exact value of the float u's GELU; backward within 4 ulps of its two terms'
    magnitudes (they cancel near z = -0.75, where g' = 0)."""
    a, d = gelu_tanh(z)
    assert exact_ulps(a, exactly(gelu_tanh_exact, z)) <= 3
    with mpmath.workprec(200):  # the sums and differences below exact too
        for v, got in zip(z.ravel(), d.ravel()):
            t1, t2 = gelu_tanh_slope_terms(mpmath.mpf(float(v)))
            size = abs(t1) + abs(t2)
            if size < TINY:
                assert abs(got) < TINY, v
            else:
                assert abs(mpmath.mpf(float(got)) - t1 - t2) <= 4 * np.spacing(float(size)), v


@pytest.mark.parametrize("scale", [1e-3, 0.5, 1.0, 3.0, 6.0, 12.0, 30.0])
def test_gelu_tanh_within_a_few_ulps_of_the_exact_value(scale: float) -> None:
    assert_gelu_tanh_exact(np.random.default_rng(2).uniform(-scale, scale, (4, 129)))


def test_gelu_tanh_at_its_edges() -> None:
    # tanh u = +-1 from |u| = 19.06 (z = 5.7); -2|u| passes the clamp -708 at z = -21.14 (f taken as 0 there: the
    # exact GELU is below 7e-307)
    z = np.array([[0.0, -0.0, 5e-324, -1e-310, 1e-8, -1e-8, -0.75, -5.0, -5.8, -12.0, -21.1, -21.2, -25.0, 5.8, 40.0]])
    assert_gelu_tanh_exact(z)
    a, d = gelu_tanh(z)
    assert a[0, 0] == 0.0 and a[0, 1] == 0.0 and np.signbit(a[0, 1]) and a[0, 14] == 40.0 and d[0, 14] == 1.0
    assert a[0, 10] < -1e-305 and d[0, 10] < -1e-303  # exp(-2|u|) in the normal floats: not flushed
    assert a[0, 11] == 0.0 and d[0, 11] == 0.0  # exp(-2|u|) taken as 0, not exp(-708): 7e-307 where it is 0
    special = np.array([[math.inf, -math.inf, math.nan, -400.0, 400.0, 1e300]])
    a, d = gelu_tanh(special)
    expected = [[kinds.activate(float(v), kinds.GELU_TANH) for v in special[0]]]
    assert ulps(a, np.array(expected)).max() == 0  # inf, nan (-inf times 0), nan, -0.0, 400, 1e300, as libm gives
    assert a[0, 0] == math.inf and math.isnan(a[0, 1]) and math.isnan(a[0, 2]) and a[0, 3] == 0.0


@settings(max_examples=100, deadline=None)
@given(st.floats(-40.0, 40.0, allow_nan=False))
def test_gelu_tanh_within_a_few_ulps_of_the_exact_value_anywhere(v: float) -> None:
    assert_gelu_tanh_exact(np.array([[v, -v, v / 8]]))


# --- GELU, erf form -----------------------------------------------------------------------------------------------
def gelu(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernels' forward a and backward d (d *= g' from d = 1)."""
    a, d = run(kinds.gelu_rows, z), np.ones_like(z)
    assert kinds.gelu_grad_rows(z, d) == z.size
    return a, d


def gelu_exact_terms(v: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(1 + erf(x)) / 2 = erfc(-x) / 2 for the float x = z / sqrt 2 (rounded as the kernels and libm's formula round
    it), and z exp(-z^2 / 2) / sqrt(2 pi) for the float z: g(z) = z times the first, g'(z) the sum of both."""
    with mpmath.workprec(200):
        x, zv = mpmath.mpf(v * kinds._SQRT_HALF), mpmath.mpf(v)
        return mpmath.erfc(-x) / 2, zv * mpmath.exp(-zv * zv / 2) / mpmath.sqrt(2 * mpmath.pi)


def assert_gelu_exact(z: np.ndarray) -> None:
    """Forward within 4 ulps of the exact value, backward within 4 ulps of its two terms' magnitudes (they cancel near
    z = -0.75); where x <= -6 the kernel takes 1 + erf(x) as 0, as libm's erf does (erf(x) = -1 from -5.92 on):
    there the forward is 0 and the backward misses only that term."""
    a, d = gelu(z)
    for v, got, slope in zip(z.ravel(), a.ravel(), d.ravel()):
        v = float(v)
        phi, density = gelu_exact_terms(v)
        flushed = v * kinds._SQRT_HALF <= -6.0
        with mpmath.workprec(200):  # the products, sums and differences below exact too
            exact, terms = v * phi, abs(phi) + abs(density)
            if flushed:
                assert got == 0.0 and abs(exact) < 1.1e-17 * abs(v), v
            elif abs(exact) < TINY:
                assert abs(got) < TINY, v
            else:
                assert abs(mpmath.mpf(float(got)) - exact) <= 4 * np.spacing(abs(float(exact))), v
            if terms < TINY:
                assert abs(slope) < TINY, v
            else:
                error = abs(mpmath.mpf(float(slope)) - phi - density)
                assert error <= 4 * np.spacing(float(terms)) + (phi if flushed else 0), v


@pytest.mark.parametrize("scale", [1e-3, 0.7, 1.3, 3.0, 5.0, 8.0, 12.0, 30.0, 40.0])
def test_gelu_within_4_ulps_of_the_exact_value(scale: float) -> None:
    assert_gelu_exact(np.random.default_rng(3).uniform(-scale, scale, (2, 129)))


def test_gelu_at_its_edges() -> None:
    # x = z / sqrt 2 crosses 0.84375 (the erf series meets erfc's fits) at |z| = 1.19324, 2.5 (erfc's two fits) at
    # 3.53553, 6 (1 + erf(x) taken as 0 for x < 0) at 8.48528; exp(-x^2) is flushed below exp(-708) from 37.63 on
    edges = [1.1932, 1.1933, 3.5355, 3.5356, 8.4852, 8.4853, 37.6, 37.7, -0.75, 0.5, 5e-324, 1e-300]
    z = np.array([edges + [-v for v in edges]])
    assert_gelu_exact(z)
    a, d = gelu(z)
    assert a[0, 5] == 8.4853 and a[0, 17] == 0.0 and np.signbit(a[0, 17])  # 1 + erf: 2 and 0
    assert a[0, 19] == 0.0 and d[0, 19] == 0.0 and -1e-300 < d[0, 18] < -1e-307  # flushed, and not yet
    special = np.array([[0.0, -0.0, 40.0, -40.0, 1e200, -1e200, math.inf, -math.inf, math.nan]])
    a, d = gelu(special)
    assert np.array_equal(a[0, :6], [0.0, -0.0, 40.0, -0.0, 1e200, -0.0]) and np.signbit(a[0, 1])
    assert np.array_equal(d[0, :6], [0.5, 0.5, 1.0, 0.0, 1.0, 0.0])
    assert a[0, 6] == math.inf and np.isnan(a[0, 7:]).all() and np.isnan(d[0, 6:]).all()  # inf * 0, as libm gives
    g = [kinds.activate(float(v), kinds.GELU) for v in special[0]]
    assert ulps(a, np.array([g])).max() == 0


@settings(max_examples=100, deadline=None)
@given(st.floats(-50.0, 50.0, allow_nan=False))
def test_gelu_within_4_ulps_of_the_exact_value_anywhere(v: float) -> None:
    assert_gelu_exact(np.array([[v, -v, v / 8]]))


def test_the_erf_fits_are_tools_erf_fit_s() -> None:
    # the coefficients in activation.py are what the fitting script makes (mpmath's Chebyshev fits, rounded)
    spec = importlib.util.spec_from_file_location("erf_fit", Path(__file__).parent.parent / "tools" / "erf_fit.py")
    assert spec is not None and spec.loader is not None
    erf_fit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(erf_fit)
    assert erf_fit.coefficients() == {"A": kinds._ERF_A, "B1": kinds._ERFC_B1, "B2": kinds._ERFC_B2}


# --- every kind's loops, against libm's g and g' --------------------------------------------------------------------
CODES = {
    "sigmoid": kinds.SIGMOID,
    "tanh": kinds.TANH,
    "relu": kinds.RELU,
    "gelu": kinds.GELU,
    "gelu_tanh": kinds.GELU_TANH,
    "identity": kinds.IDENTITY,
    "silu": kinds.SILU,
}


@pytest.mark.parametrize("shape", [(5, 7), (3, 33)])
@pytest.mark.parametrize("count", [True, False])
@pytest.mark.parametrize("name", CODES)
def test_every_kinds_loops_compute_g_and_its_derivative(name: str, count: bool, shape: tuple[int, int]) -> None:
    code = CODES[name]
    z = np.random.default_rng(1).normal(0.0, 3.0, shape)
    a, d = np.empty_like(z), np.full_like(z, 0.5)
    counts = np.zeros((3, 8), dtype=np.int64)
    k = kinds.make(count)
    k.forward(z, code, a, counts)
    k.backward(z, a, code, d, counts)
    g = np.array([[kinds.activate(v, code) for v in row] for row in z])
    # g' from the kernel's own a, as the backward reads it (sigmoid's a (1 - a), tanh's 1 - a^2)
    gp = np.array([[kinds.derivative(v, out, code) for v, out in zip(*rows)] for rows in zip(z, a)])
    if code in (kinds.GELU, kinds.GELU_TANH):
        # libm's formula computes 1 + tanh u, which cancels for z < 0 (an error of about an ulp of 1 there), the
        # kernel computes 1 - |tanh u| directly, and the exact GELU's 1 + erf(x) as erfc(-x): they agree to a few
        # ulps of z and of g'(z)'s terms
        assert (np.abs(a - g) <= 4 * np.spacing(np.abs(z) + np.abs(g))).all()
        np.testing.assert_allclose(d, 0.5 * gp, rtol=1e-14, atol=4e-16 * (1 + np.abs(z)).max())
    else:
        assert ulps(a, g).max() <= 3
        np.testing.assert_allclose(d, 0.5 * gp, rtol=1e-14, atol=0)
    acts = 0 if code == kinds.IDENTITY or not count else z.size
    assert (counts[FORWARD, ACT], counts[BACKWARD, ACT_GRAD], counts[BACKWARD, MUL]) == (acts, acts, acts)
