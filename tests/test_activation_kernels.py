"""The activations' CPU kernels against libm: sigmoid's vectorised exp within 2 ulps of 1 / (1 + math.exp(-z)), at
every range of z its clamps and libm fall-back treat differently, and every kind's forward and backward loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa.reference.kinds import activation as kinds
from complexa.reference.kinds._jit import ACT, ACT_GRAD, BACKWARD, FORWARD, MUL


def libm_sigmoid(z: np.ndarray) -> np.ndarray:
    return np.array([[1.0 / (1.0 + math.exp(-v)) if -v < 709.78 else 0.0 for v in row] for row in z])


def ulps(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return np.abs(actual - expected) / np.spacing(np.abs(expected))


@pytest.mark.parametrize("scale", [1e-300, 1e-8, 0.5, 1.0, 20.0, 40.0, 700.0, 720.0, 1e4])
def test_sigmoid_within_two_ulps_of_libm(scale: float) -> None:
    z = np.random.default_rng(0).uniform(-scale, scale, (16, 257))
    a = np.empty_like(z)
    assert kinds.sigmoid_rows(z, a) == z.size
    assert ulps(a, libm_sigmoid(z)).max() <= 2


def test_sigmoid_at_its_edges() -> None:
    z = np.array([[0.0, -0.0, 708.0, -708.0, 708.5, -708.5, 709.0, -709.0, 709.5, -709.5, 745.0, -745.0, 800.0]])
    z = np.concatenate(
        [z, [[math.inf, -math.inf, 1e-320, 36.7, -36.7, 37.0, 0.3465, -0.3467, 1.0, 2.0, 3.0, 4.0, 5.0]]]
    )
    a = np.empty_like(z)
    kinds.sigmoid_rows(z, a)
    assert ulps(a, libm_sigmoid(z)).max() <= 2
    assert a[0, 0] == 0.5 and a[1, 0] == 1.0 and a[1, 1] == 0.0 and a[0, 12] == 1.0
    assert a[0, 11] == libm_sigmoid(z)[0, 11] and a[0, 10] == 1.0
    nan = np.array([[math.nan]])
    kinds.sigmoid_rows(nan, nan_out := np.empty((1, 1)))
    assert math.isnan(nan_out[0, 0])


@settings(max_examples=200, deadline=None)
@given(st.floats(-750.0, 750.0, allow_nan=False))
def test_sigmoid_within_two_ulps_of_libm_anywhere(v: float) -> None:
    z = np.full((1, 3), v)
    a = np.empty_like(z)
    kinds.sigmoid_rows(z, a)
    assert ulps(a, libm_sigmoid(z)).max() <= 2


CODES = {
    "sigmoid": kinds.SIGMOID,
    "tanh": kinds.TANH,
    "relu": kinds.RELU,
    "gelu": kinds.GELU,
    "gelu_tanh": kinds.GELU_TANH,
    "identity": kinds.IDENTITY,
    "silu": kinds.SILU,
}


@pytest.mark.parametrize("count", [True, False])
@pytest.mark.parametrize("name", CODES)
def test_every_kinds_loops_compute_g_and_its_derivative(name: str, count: bool) -> None:
    code = CODES[name]
    z = np.random.default_rng(1).normal(0.0, 3.0, (5, 7))
    a, d = np.empty_like(z), np.full_like(z, 0.5)
    counts = np.zeros((3, 8), dtype=np.int64)
    k = kinds.make(count)
    k.forward(z, code, a, counts)
    k.backward(z, a, code, d, counts)
    g = np.array([[kinds.activate(v, code) for v in row] for row in z])
    gp = np.array([[kinds.derivative(v, kinds.activate(v, code), code) for v in row] for row in z])
    assert ulps(a, g).max() <= 2
    np.testing.assert_allclose(d, 0.5 * gp, rtol=1e-14, atol=0)
    acts = 0 if code == kinds.IDENTITY or not count else z.size
    assert (counts[FORWARD, ACT], counts[BACKWARD, ACT_GRAD], counts[BACKWARD, MUL]) == (acts, acts, acts)
