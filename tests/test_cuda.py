"""The measured side on CUDA: the same counts and numerics as the CPU backend.

The device tests run on a GPU, or under numba's simulator in a process of their own:
``NUMBA_ENABLE_CUDASIM=1 pytest tests/test_cuda.py`` (the variable must be set before numba is imported). Without
either they are skipped, and only the refusal, the kernels' signatures and the simulator run are tested here.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from complexa import ComplexaError, Network, nn
from complexa.nn._stack import walk
from complexa.reference import Measurement, measure
from complexa.strategies import gpts, layer_stacks
from complexa.testing import assert_counts_match

with warnings.catch_warnings():
    # numba-cuda (0.30 at least) makes a generic-unit timedelta as it is imported, which numpy 2.5 deprecates.
    warnings.filterwarnings("ignore", "The 'generic' unit for NumPy timedelta", DeprecationWarning)
    from numba import config, cuda

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


@pytest.mark.parametrize(
    ("message", "refused"),
    [("module 'numpy' has no attribute 'row_stack'", True), ("'Kernel' object has no attribute 'x'", False)],
)
def test_a_numpy_numba_cuda_cannot_compile_for_is_one_line(message: str, refused: bool) -> None:
    # Seen on a GPU machine: numba-cuda 0.30.4 beside numpy 2.5 fails as it first compiles. Other errors pass on.
    from complexa.reference._cuda import launch

    class Kernel:
        def __getitem__(self, grid: object) -> Any:
            def run(*args: object) -> None:
                raise AttributeError(message)

            return run

    with pytest.raises(ComplexaError if refused else AttributeError, match="numpy<2.5" if refused else "'x'"):
        launch(Kernel(), 1)


@pytest.mark.parametrize("count", [True, False])
def test_kernels_have_the_cpu_kernels_structure(count: bool) -> None:
    # _runtime drives both backends with one piece of Python: the same kinds, names and arguments. Building the
    # kernels compiles nothing, so this needs no device.
    from complexa.reference import kinds
    from complexa.reference._cuda import CudaBackend

    on_device, on_cpu = CudaBackend(count).kernels, kinds.COUNTING if count else kinds.PLAIN
    assert type(on_device) is type(on_cpu)
    for kind, cpu_kind in zip(on_device, on_cpu):
        assert type(kind) is type(cpu_kind)
        for function, cpu_function in zip(kind, cpu_kind):
            assert inspect.signature(function) == inspect.signature(getattr(cpu_function, "py_func", cpu_function))


# --- counts and numerics, on a GPU or the simulator ------------------------------------------------------------------


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


def assert_close(actual: Any, expected: Any, what: str) -> None:
    # The same formulas in the same order, but a GPU fuses a product into its sum (FMA), its exp, tanh and erf are
    # not the CPU's, and the CPU's dot products may be split across SIMD lanes: equal to rounding, with a floor
    # (relative to the array's scale) for entries that cancel to about zero.
    scale = float(np.max(np.abs(expected), initial=1.0))
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14 * scale, err_msg=what)


def assert_same_as_cpu(network: Network, iterations: int, *, gradients: bool = True) -> Measurement:
    """The device's counts equal the derivation's and the CPU's; its outputs (and, unless `gradients` is False, its
    gradients and trained parameters) the CPU's."""
    on_device = assert_counts_match(network, backend="cuda", iterations=iterations)
    on_cpu = measure(network, backend="cpu", iterations=iterations)
    assert on_device.counts == on_cpu.counts
    assert on_device.allocated == on_cpu.allocated
    assert on_device.loss == pytest.approx(on_cpu.loss, rel=1e-12, abs=1e-14)
    assert_close(on_device.outputs, on_cpu.outputs, "outputs")
    assert on_device.state_before.keys() == on_cpu.state_before.keys()
    assert on_device.gradients.keys() == on_cpu.gradients.keys()  # a tied tensor's gradient once, under its owner
    for name in on_cpu.state_before:
        np.testing.assert_array_equal(on_device.state_before[name], on_cpu.state_before[name])
        if gradients:
            assert_close(on_device.state_after[name], on_cpu.state_after[name], f"{name} after training")
    for name in on_cpu.gradients if gradients else ():
        assert_close(on_device.gradients[name], on_cpu.gradients[name], f"gradient of {name}")
    return on_device


EVERY_KIND = [
    # Every kind, loss and optimizer, in two steps (momentum's first step copies; Adam's bias corrections move).
    Network(
        [nn.Linear(4, 3), nn.ReLU(), nn.LayerNorm(3), nn.Residual(nn.Linear(3, 3), nn.GELU()), nn.Linear(3, 2)],
        batch=5,
        loss="cross_entropy",
        optimizer=nn.Adam(lr=1e-2),
    ),
    Network(
        [
            nn.LayerNorm(3, elementwise_affine=False),
            nn.Linear(3, 4, bias=False),
            nn.Tanh(),
            nn.Residual(nn.LayerNorm(4), nn.Residual(nn.Linear(4, 4), nn.GELU(approximate="tanh")), nn.Identity()),
            nn.Linear(4, 1),
            nn.Sigmoid(),
        ],
        batch=33,
        loss="bce",
        optimizer=nn.SGD(lr=0.1, momentum=0.9),
    ),
    Network(
        [nn.Linear(3, 3), nn.Residual(nn.Tanh()), nn.LayerNorm(3, elementwise_affine=False), nn.Linear(3, 2)],
        batch=8,
        optimizer=nn.SGD(lr=0.05),
    ),
    Network([nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 2), nn.Identity()], batch=1, loss="cross_entropy"),
    Network([5, 7, 3], batch=3, activation="tanh"),
]


@needs_cuda
@pytest.mark.parametrize("network", EVERY_KIND, ids=repr)
def test_every_kind_loss_and_optimizer(network: Network) -> None:
    assert_same_as_cpu(network, iterations=2)


@needs_cuda
@settings(max_examples=60, deadline=None)
@given(layer_stacks(), st.integers(1, 2))
def test_stacks_count_and_compute_as_on_the_cpu(network: Network, iterations: int) -> None:
    event(f"loss {network.loss}, optimizer {network.optimizer!r}")
    event(f"batch {'1' if network.batch == 1 else '2..9' if network.batch < 10 else '10..33'}")
    rows = walk(network.layers, network.input_width)
    for row in rows:
        event(f"has {row.layer!r}".split("(")[0])
    # The gradient with respect to a LayerNorm's input is orthogonal to its xhat and to (1, ..., 1): over two features
    # it is zero, computed as rounding noise (times rstd), and every gradient before it is that noise, which two
    # roundings do not reproduce. Only the counts and the forward pass are compared then.
    noise = any(isinstance(row.layer, nn.LayerNorm) and int(row.width) == 2 and row.input_grad for row in rows)
    if noise:
        event("gradients of noise: not compared")
    assert_same_as_cpu(network, iterations, gradients=not noise)


@needs_cuda
@settings(max_examples=20, deadline=None)
@given(gpts(max_vocab=8, max_seq=4, max_layers=1, max_batch=2), st.integers(1, 2))
def test_gpts_count_and_compute_as_on_the_cpu(network: Network, iterations: int) -> None:
    config = network.gpt_config
    event(f"tied {config['tied']}, causal {config['causal']}, heads {config['n_heads']}")
    # As in the stacks' property: a LayerNorm over two features (every block's and ln_f, at d_model 2) makes every
    # gradient before it rounding noise.
    noise = int(config["d_model"]) == 2
    if noise:
        event("gradients of noise: not compared")
    assert_same_as_cpu(network, iterations, gradients=not noise)


@needs_cuda
def test_a_gpt_with_every_option_off() -> None:
    # Untied, unmasked, without biases, a d_ff of its own; several heads, layers and samples, Adam over two steps.
    import gc

    from complexa.reference.kinds import attention_cuda

    network = Network.gpt(
        7, 4, 6, 2, 3, d_ff=5, batch=3, bias=False, tied=False, causal=False, optimizer=nn.Adam(lr=1e-2, eps=1e-3)
    )
    assert_same_as_cpu(network, iterations=2)
    # backward's (B, H, T, T) scratch goes with the node's dp, when measure's trainer does.
    gc.collect()
    assert not attention_cuda._SCRATCH


LLAMAS = [
    # GQA with a sliding window and biases on q, k and v; MHA, tied, Adam; Llama's kinds first in a stack (no input
    # gradient for the attention, nor its join), the attention unmasked.
    Network.llama(7, 4, 8, 1, 4, n_kv_heads=2, d_ff=5, batch=2, window=2, bias=True),
    Network.llama(5, 3, 4, 1, 2, d_ff=3, tied=True, optimizer=nn.Adam(lr=1e-2, eps=1e-3)),
    # a window on the second layer only (Qwen2's layer_types) and biases on the MLP (Llama's mlp_bias)
    Network.llama(7, 4, 8, 2, 4, n_kv_heads=2, d_ff=5, batch=2, window=[None, 2], bias=True, mlp_bias=True),
    Network(
        [nn.Attention(4, 2, 3, n_kv_heads=1, causal=False), nn.SwiGLU(4, 5), nn.RMSNorm(4), nn.Linear(4, 2)], batch=2
    ),
    # Mixtral, two of three experts; a mixture of experts first (no input gradient).
    Network.mixtral(7, 3, 4, 1, 2, n_kv_heads=1, n_experts=3, top_k=2, d_ff=3, batch=2),
    Network([nn.MoE(4, 3, 4, 2), nn.Linear(4, 2)], batch=3),
]


@needs_cuda
@pytest.mark.parametrize("network", LLAMAS, ids=repr)
def test_llamas_count_and_compute_as_on_the_cpu(network: Network) -> None:
    assert_same_as_cpu(network, iterations=2)


@needs_cuda
def test_counting_does_not_change_the_numbers() -> None:
    # The plain kernels (count=False, as the benchmark runs them) compute exactly what the counting ones do, and
    # count nothing.
    from complexa.reference._cuda import CudaBackend

    network = EVERY_KIND[0]
    counting, plain = (_train(network, CudaBackend(count)) for count in (True, False))
    assert counting[1].sum() > 0 and not plain[1].any()
    for name, array in counting[0].items():
        np.testing.assert_array_equal(plain[0][name], array)


@needs_cuda
@pytest.mark.parametrize(("batch", "heads", "hd", "start"), [(2, 2, 3, 4), (1, 3, 2, 1), (3, 1, 4, 6)])
def test_the_kv_cache_kernels_count_and_compute_as_on_the_cpu(batch: int, heads: int, hd: int, start: int) -> None:
    # Inference (issue 22): a decode step's store of the new token's key and value, then its query over the cache.
    from complexa.reference import kinds
    from complexa.reference._cuda import CudaBackend

    rng = np.random.default_rng(start)
    d, capacity = heads * hd, start + 2
    qkv = rng.uniform(-1.0, 1.0, (batch, 3 * d))
    cache = [rng.uniform(-1.0, 1.0, (batch, heads, capacity, hd)) for _ in range(2)]
    out = []
    for backend in (None, CudaBackend(True)):
        k = kinds.COUNTING.attention if backend is None else backend.kernels.attention
        put = (lambda a: np.array(a)) if backend is None else backend.device
        keys, values, y, counts = (
            put(cache[0]),
            put(cache[1]),
            put(np.zeros((batch, d))),
            put(np.zeros((3, 8), np.int64)),
        )
        k.store(put(qkv), heads, start, keys, values)
        k.decode(put(qkv), keys, values, start + 1, heads, 0.5, put(np.zeros(capacity)), y, counts)
        get = (lambda a: a) if backend is None else backend.host
        out.append([get(a) for a in (keys, values, y, counts)])
    # The stored keys and values and the counts are exact; the output as close as the other kernels' (a GPU fuses a
    # multiply and an add into one rounding where the CPU rounds twice: seen on an H200, 1e-16 apart).
    for name, cpu, device in zip(("keys", "values", "y", "counts"), *out):
        if name == "y":
            np.testing.assert_allclose(device, cpu, rtol=1e-12, atol=1e-15, err_msg=name)
        else:
            np.testing.assert_array_equal(device, cpu, err_msg=name)
    assert out[0][3][0].sum() > 0


@needs_cuda
@pytest.mark.parametrize(
    ("batch", "heads", "kv_heads", "hd", "cached", "slide"),
    [(2, 4, 2, 2, 3, False), (1, 3, 1, 4, 2, True), (2, 2, 2, 2, 4, True)],  # GQA, MQA with a window, MHA
)
def test_the_llama_kv_cache_kernels_count_and_compute_as_on_the_cpu(
    batch: int, heads: int, kv_heads: int, hd: int, cached: int, slide: bool
) -> None:
    # Inference (issue 22) with the Llama kinds: a prompt's last `cached` keys and values stored, then a decode
    # step: its query turned by RoPE at position `cached` + 2, its key and value stored, its query heads over their
    # kv heads' caches (the mask added), and, with a window, the oldest token slid out.
    from complexa.reference import kinds
    from complexa.reference._cuda import CudaBackend
    from complexa.reference.kinds.llama import rope_tables

    rng = np.random.default_rng(cached + heads)
    prompt, position = cached + 2, cached + 2
    k_rows, v_rows = (rng.uniform(-1.0, 1.0, (batch * prompt, kv_heads * hd)) for _ in range(2))
    k_new, v_new = (rng.uniform(-1.0, 1.0, (batch, kv_heads * hd)) for _ in range(2))
    q = rng.uniform(-1.0, 1.0, (batch, heads * hd))
    cos, sin = rope_tables(position + 1, hd, 10_000.0)
    out = []
    for backend in (None, CudaBackend(True)):
        k = kinds.COUNTING.llama if backend is None else backend.kernels.llama
        put = (lambda a: np.array(a)) if backend is None else backend.device
        keys, values = (put(np.zeros((batch, kv_heads, cached + 1, hd))) for _ in range(2))
        turned, y, counts = put(np.zeros_like(q)), put(np.zeros_like(q)), put(np.zeros((3, 8), np.int64))
        cos_at, sin_at = (put(table)[position : position + 1] for table in (cos, sin))
        k.store(put(k_rows), put(v_rows), prompt - cached, 0, keys, values)
        k.rope_forward(put(q), cos_at, sin_at, heads, turned, counts)
        k.store(put(k_new), put(v_new), 0, cached, keys, values)
        k.decode(turned, keys, values, cached + 1, heads, 0.5, True, put(np.zeros(cached + 1)), y, counts)
        if slide:
            k.slide(keys, values, 1, cached)
        get = (lambda a: a) if backend is None else backend.host
        out.append([get(a) for a in (keys, values, turned, y, counts)])
    for name, cpu, device in zip(("keys", "values", "q turned", "y", "counts"), *out):
        if name in ("q turned", "y"):
            np.testing.assert_allclose(device, cpu, rtol=1e-12, atol=1e-15, err_msg=name)
        else:
            np.testing.assert_array_equal(device, cpu, err_msg=name)
    assert out[0][4][0].sum() > 0


def _train(network: Network, backend: Any) -> tuple[dict[str, Any], Any]:
    from complexa.reference import _initial_params
    from complexa.reference._runtime import Trainer, plan

    layout = plan(network)
    rng = np.random.default_rng(1)
    params = _initial_params(rng, layout)
    inputs = rng.uniform(-1.0, 1.0, (layout.batch, layout.inputs))
    targets = rng.integers(0, layout.outputs, layout.batch).astype(np.int64)
    trainer = Trainer(layout, backend, params, inputs, targets, 0.1)
    counts = backend.counts()
    for _ in range(2):
        trainer.step(counts)
    return trainer.state_dict(trainer.params), backend.host(counts)


@pytest.mark.skipif(HAVE_CUDA, reason="the device tests above run in this process")
def test_device_tests_pass_under_the_simulator() -> None:
    # numba reads NUMBA_ENABLE_CUDASIM once, at import: the simulator needs a pytest process of its own.
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", __file__],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # Every test that needs a device or the simulator ran (at least seventeen: the hand-counted networks, the five of
    # EVERY_KIND, the stacks' and the GPTs' properties, the GPT with every option off, the five LLAMAS, the plain
    # kernels, the two signature checks); only the refusal and this test skipped.
    import re

    last = result.stdout.splitlines()[-1]
    ran = re.match(r"(\d+) passed, 2 skipped", last)
    assert ran is not None and int(ran.group(1)) >= 17, result.stdout[-2000:]
