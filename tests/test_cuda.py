"""The measured side on CUDA: the same counts and numerics as the CPU backend.

The device tests run on a GPU, or under numba's simulator in a process of their own:
``NUMBA_ENABLE_CUDASIM=1 pytest tests/test_cuda.py`` (the variable must be set before numba is imported). Without
either they are skipped, and only the refusal test runs.
"""

from __future__ import annotations

import naive  # tests/naive.py, on sys.path as pytest puts tests/ there
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import config, cuda

from complexa import ComplexaError, Network
from complexa.reference import measure
from complexa.strategies import networks
from complexa.testing import assert_counts_match

SIMULATOR = bool(getattr(config, "ENABLE_CUDASIM", False))
HAVE_CUDA = SIMULATOR or cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAVE_CUDA, reason="no CUDA GPU, and NUMBA_ENABLE_CUDASIM is not set")


@pytest.mark.skipif(HAVE_CUDA, reason="a CUDA GPU or the simulator is available")
def test_no_device_is_refused() -> None:
    with pytest.raises(
        ComplexaError,
        match=r"pip install '\.\[cuda\]' in a clone, or pip install 'complexa\[cuda\]'.*NUMBA_ENABLE_CUDASIM=1",
    ):
        measure(Network([2, 2]), backend="cuda")


@needs_cuda
def test_hand_counted() -> None:
    # The [2, 3, 1] networks of test_reference.HAND_COUNTED, B = 2 and B = 9.
    assert measure(Network([2, 3, 1], batch=2), backend="cuda").counts == {
        "forward": {"mul": 18, "add": 18, "act": 8, "act_grad": 0},
        "backward": {"mul": 32, "add": 15, "act": 0, "act_grad": 8},
        "update": {"mul": 13, "add": 13, "act": 0, "act_grad": 0},
    }
    assert measure(Network([2, 3, 1], batch=9), backend="cuda").counts == {
        "forward": {"mul": 81, "add": 81, "act": 36, "act_grad": 0},
        "backward": {"mul": 144, "add": 113, "act": 0, "act_grad": 36},
        "update": {"mul": 13, "add": 13, "act": 0, "act_grad": 0},
    }


@needs_cuda
@settings(max_examples=50, deadline=None)
@given(networks(), st.integers(1, 2))
def test_counts_and_numerics(network: Network, iterations: int) -> None:
    naive.assert_matches_naive(assert_counts_match(network, backend="cuda", iterations=iterations))


@needs_cuda
@pytest.mark.parametrize("batch", naive.KERNEL_BATCHES)
def test_every_kernel_path(batch: int) -> None:
    for network in naive.kernel_paths(batch):
        naive.assert_matches_naive(assert_counts_match(network, backend="cuda", iterations=2))


@needs_cuda
def test_same_as_cpu() -> None:
    network = Network([5, 7, 3], batch=3, activation="tanh")
    on_device, on_cpu = (measure(network, backend=b, iterations=2) for b in ("cuda", "cpu"))
    assert on_device.counts == on_cpu.counts
    np.testing.assert_allclose(on_device.params_after[0][0], on_cpu.params_after[0][0], rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(HAVE_CUDA, reason="the device tests above run in this process")
def test_device_tests_pass_under_the_simulator() -> None:
    # numba reads NUMBA_ENABLE_CUDASIM once, at import: the simulator needs a pytest process of its own.
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # The eleven device tests: the hand-counted networks, the 50-network property, the eight batches of
    # naive.KERNEL_BATCHES, the CPU comparison.
    assert result.stdout.splitlines()[-1].startswith("11 passed, 2 skipped"), result.stdout[-2000:]
