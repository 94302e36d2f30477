"""Benchmarks of the measured side; run ``python benchmarks/bench_reference.py`` from the repository root.

Everything runs on one thread (numba's kernels always do; numpy's BLAS and torch are pinned to one here). Each figure
is a median over repeats, every repeat timing a batch of calls and dividing; the functions compared in one table are
timed in turn within each repeat, alternately forwards and backwards, so that drift on a shared machine hits them
alike, and their ratios are the ratios of those medians. GFLOP/s is complexa's exact count of one step's operations
(every op `derive` counts: mul, add, div, sqrt, exp, cmp, act, act_grad) over the median seconds of that step, the
same count for every contender.

1. counting overhead: one training step with the counting kernels against the same kernels compiled without their
   counters (``CpuBackend(count=False)``), for a dense network and for a stack with every layer kind;
2. one training step of a dense 4-layer (sizes [64] * 5), batch-8 network: the CPU backend against tests/naive.py
   (numpy) and torch (float64), and the whole `measure` call;
3. one training step of a 4-block residual MLP (each block Residual(LayerNorm(256), Linear(256, 256), GELU(),
   Linear(256, 256)), width 256, batch 32, Adam, cross-entropy over 10 classes) against torch (float64, the same
   module from `Network.to_torch`) and tests/naive.py;
4. one training step of a small GPT (nanoGPT's, `Network.gpt(128, 32, 64, 2, 4, batch=4)`, Adam) against torch
   (float64, one thread, the same module from `Network.to_torch`);
5. a fresh ``python -c "import complexa; complexa.measure(...)"`` with numba's cache warm, and bare imports;
6. each activation's kernels alone at batch 32, width 256 (forward a = g(z), backward d *= g'(z)), counting, against
   numpy computing the same (tests/naive.py's expressions; the exact GELU's erf is naive.py's np.vectorize(math.erf),
   numpy having none) and torch (float64, one thread); the kernels' backward timings include a copy restoring d
   (64 KiB, about 1 us), which numpy's out-of-place product does not need, except identity's (its backward is none);
7. each activation at batch 32, width 256, depth 4: the dense network [256] * 5 with sigmoid, tanh and relu against
   tests/naive.py's dense step, and the stack (Linear(256, 256), g) x 4 with every activation, both GELUs included,
   against tests/naive.py's stack step.

No figure is asserted: the targets are printed beside them.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # before numpy is imported: one BLAS thread, like the kernels

import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import naive  # noqa: E402

from complexa import Measurement, Network, nn  # noqa: E402
from complexa.reference import measure  # noqa: E402
from complexa.reference._runtime import CpuBackend, Trainer, plan  # noqa: E402

try:
    import torch
except ImportError:  # the torch columns are left out
    torch = None  # type: ignore[assignment]

REPEATS = 15


def median_seconds(calls: dict[str, Callable[[], object]], inner: int, repeats: int = REPEATS) -> dict[str, float]:
    """Median seconds per call of each function, timing them in turn within each repeat (in reverse order every
    other repeat, so that none always runs first)."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()  # compile or warm caches outside the timing
    order = list(calls.items())
    for repeat in range(repeats):
        for name, call in order if repeat % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            for _ in range(inner):
                call()
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(times) for name, times in samples.items()}


def start_of(network: Network) -> Measurement:
    """`measure`'s starting point for `network` (its parameters, inputs and targets), and the counts of one step."""
    return measure(network, lr=0.0)


def trainer(network: Network, m: Measurement, count: bool) -> tuple[Trainer, Any]:
    """A trainer on its own copy of `m`'s initial parameters, and its counts array; plain SGD gets lr = 0, so that
    repeats redo the same work."""
    layout = plan(network)
    params = np.concatenate([m.state_before[t.name].ravel() for t in layout.tensors])
    backend = CpuBackend(count=count)
    return Trainer(layout, backend, params, m.inputs.copy(), m.targets.copy(), 0.0), backend.counts()


def torch_step(network: Network, m: Measurement) -> Callable[[], object] | None:
    """One torch training step of the module `Network.to_torch` builds, from `m`'s initial state (lr = 0 for plain
    SGD), or None without torch."""
    if torch is None:
        return None
    from complexa.nn._torch import load_state, torch_loss, torch_optimizer

    module = network.to_torch()
    load_state(module, m.state_before)
    loss_of = torch_loss(network)
    optimizer = torch_optimizer(network, module.parameters(), 0.0)
    inputs, targets = torch.tensor(m.inputs), torch.tensor(m.targets)

    def step() -> None:
        optimizer.zero_grad()
        loss_of(module(inputs), targets).backward()
        optimizer.step()

    return step


def gflops(ops: int, seconds: float) -> str:
    return f"{ops / seconds / 1e9:6.2f} GFLOP/s"


def counting_overhead(network: Network, label: str, inner: int) -> None:
    m = start_of(network)
    counting, counts = trainer(network, m, count=True)
    plain, plain_counts = trainer(network, m, count=False)
    times = median_seconds(
        {"counting": lambda: counting.step(counts), "plain": lambda: plain.step(plain_counts)}, inner=inner
    )
    assert not plain_counts.any(), "the plain kernels counted something"
    print(f"counting overhead, one training step of {label}")
    print(f"  counting kernels  {times['counting'] * 1e6:9.1f} us  {gflops(m.total, times['counting'])}")
    print(f"  plain kernels     {times['plain'] * 1e6:9.1f} us  {gflops(m.total, times['plain'])}")
    print(f"  ratio             {times['counting'] / times['plain']:9.3f}   (target <= 1.30)")


def step_against_numpy(network: Network) -> None:
    m = start_of(network)
    counting, counts = trainer(network, m, count=True)
    activation, loss = network.activation, network.loss
    calls: dict[str, Callable[[], object]] = {
        "cpu": lambda: counting.step(counts),
        "numpy": lambda: naive.train_step(
            m.params_before, m.inputs, m.targets, activation=activation, loss=loss, lr=0.0
        ),
    }
    step = torch_step(network, m)
    if step is not None:
        calls["torch"] = step
    times = median_seconds(calls, inner=20)
    times.update(median_seconds({"measure": lambda: measure(network)}, inner=5, repeats=7))
    print(f"one training step of {network!r}, {m.total:,} operations")
    print(f"  cpu backend (counting)   {times['cpu'] * 1e6:9.1f} us  {gflops(m.total, times['cpu'])}")
    print(f"  tests/naive.py (numpy)   {times['numpy'] * 1e6:9.1f} us  {gflops(m.total, times['numpy'])}")
    if "torch" in times:
        print(f"  torch, float64           {times['torch'] * 1e6:9.1f} us  {gflops(m.total, times['torch'])}")
    print(f"  ratio cpu / numpy        {times['cpu'] / times['numpy']:9.3f}   (target < 1)")
    if "torch" in times:
        print(f"  ratio cpu / torch        {times['cpu'] / times['torch']:9.3f}")
    print(f"  whole measure() call     {times['measure'] * 1e6:9.1f} us   (data, copies and checks included)")


def residual_mlp(width: int = 256, blocks: int = 4, batch: int = 32, classes: int = 10) -> Network:
    """An input Linear, `blocks` pre-norm residual blocks, and a Linear head over `classes`."""
    block = [nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Linear(width, width)]
    layers: list[nn.Layer] = [nn.Linear(width, width)]
    layers += [nn.Residual(*block) for _ in range(blocks)]
    layers.append(nn.Linear(width, classes))
    return Network(layers, batch=batch, loss="cross_entropy", optimizer=nn.Adam())


def every_kind(width: int = 64, batch: int = 8, classes: int = 10) -> Network:
    """A stack with every layer kind (both GELUs, LayerNorm with and without its affine), cross-entropy and Adam."""
    layers: list[nn.Layer] = [
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Residual(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Linear(width, width)),
        nn.Tanh(),
        nn.Linear(width, width, bias=False),
        nn.Sigmoid(),
        nn.LayerNorm(width, elementwise_affine=False),
        nn.Linear(width, width),
        nn.GELU(approximate="tanh"),
        nn.Identity(),
        nn.Linear(width, classes),
    ]
    return Network(layers, batch=batch, loss="cross_entropy", optimizer=nn.Adam())


def step_against_torch(network: Network, title: str, *, numpy: bool = True, target: str = "") -> None:
    """One training step of `network`: the counting and plain kernels against torch (float64, one thread) and, with
    `numpy`, tests/naive.py."""
    m = start_of(network)
    counting, counts = trainer(network, m, count=True)
    plain, plain_counts = trainer(network, m, count=False)
    state = m.state_before
    calls: dict[str, Callable[[], object]] = {
        "counting": lambda: counting.step(counts),
        "plain": lambda: plain.step(plain_counts),
    }
    step = torch_step(network, m)
    if step is not None:
        calls["torch"] = step
    if numpy:
        calls["numpy"] = lambda: naive.train_stack(network, state, m.inputs, m.targets, 0.0, 1)
    times = median_seconds(calls, inner=1, repeats=15)
    print(f"one training step of {title}; {m.total:,} operations")
    rows = [
        ("counting", "cpu backend (counting)"),
        ("plain", "cpu backend (plain)"),
        ("torch", "torch, float64, 1 thread"),
        ("numpy", "tests/naive.py (numpy)"),
    ]
    for key, label in rows:
        if key in times:
            print(f"  {label:<26} {times[key] * 1e3:8.2f} ms  {gflops(m.total, times[key])}")
    print(f"  ratio counting / plain     {times['counting'] / times['plain']:8.3f}   (target <= 1.30)")
    if "torch" in times:
        print(f"  ratio counting / torch     {times['counting'] / times['torch']:8.3f}{target}")
        print(f"  ratio plain / torch        {times['plain'] / times['torch']:8.3f}")
    else:
        print("  (torch is not installed: no torch figures)")


def widths_at_batch_32(widths: tuple[int, ...] = (64, 256, 1024)) -> None:
    """A dense tanh network [w] * 4 at batch 32 for each width: the counting kernels' step against numpy's
    (tests/naive.py) and torch's, with GFLOP/s beside a one-thread dgemm of one layer's product (32 x w x w)."""
    print("dense [w] * 4, tanh, batch 32, one training step (issue 14's target: counting <= numpy at every width)")
    print(
        f"  {'w':>5} {'counting':>10} {'numpy':>10} {'torch':>10} {'counting/numpy':>15} {'counting':>16} {'dgemm':>16}"
    )
    for width in widths:
        _one_width(width)


def _one_width(width: int) -> None:
    network = Network([width] * 4, batch=32, activation="tanh")
    m = start_of(network)
    counting, counts = trainer(network, m, count=True)
    params = m.params_before
    generator = np.random.default_rng(0)
    a, b = generator.uniform(-1, 1, (32, width)), generator.uniform(-1, 1, (width, width))
    calls: dict[str, Callable[[], object]] = {
        "counting": lambda: counting.step(counts),
        "numpy": lambda: naive.train_step(params, m.inputs, m.targets, activation="tanh", loss="mse", lr=0.0),
    }
    step = torch_step(network, m)
    if step is not None:
        calls["torch"] = step
    inner = max(1, 2000 // width)
    times = median_seconds(calls, inner=inner, repeats=9)
    gemm = median_seconds({"dgemm": lambda: a @ b}, inner=inner * 4, repeats=9)["dgemm"]
    torch_ms = f"{times['torch'] * 1e3:8.2f}ms" if "torch" in times else f"{'-':>10}"
    print(
        f"  {width:>5} {times['counting'] * 1e3:8.2f}ms {times['numpy'] * 1e3:8.2f}ms {torch_ms} "
        f"{times['counting'] / times['numpy']:15.2f} {gflops(m.total, times['counting'])} "
        f"{gflops(2 * 32 * width * width, gemm)}"
    )


def activations_at_batch_32(width: int = 256, depth: int = 4, batch: int = 32) -> None:
    """One training step per activation: the counting kernels against tests/naive.py (numpy), side by side."""
    print(
        f"each activation, batch {batch}, width {width}, depth {depth}, one training step (target: counting <= numpy)"
    )
    print(f"  {'network':<42} {'counting':>10} {'numpy':>10} {'counting/numpy':>15}")
    for activation in ("sigmoid", "tanh", "relu"):
        _activation_row(Network([width] * (depth + 1), batch=batch, activation=activation), activation)
    kinds: dict[str, Callable[[], nn.Layer]] = {
        "Sigmoid": nn.Sigmoid,
        "Tanh": nn.Tanh,
        "ReLU": nn.ReLU,
        "GELU": nn.GELU,
        "GELU(tanh)": lambda: nn.GELU(approximate="tanh"),
    }
    for name, kind in kinds.items():
        layers: list[nn.Layer] = []
        for _ in range(depth):
            layers += [nn.Linear(width, width), kind()]
        _activation_row(Network(layers, batch=batch), name)


def _numpy_activations() -> dict[str, tuple[int, Callable[[Any], Any], Callable[[Any, Any, Any], Any]]]:
    """Each activation's code, and numpy's forward g(z) and backward d * g'(z) (from z and a = g(z)), written as
    tests/naive.py writes them."""
    from math import erf, pi, sqrt

    from complexa.reference.kinds import activation as kinds

    verf = np.vectorize(erf)
    c = sqrt(2.0 / pi)

    def sigmoid(z: Any) -> Any:
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-z))

    def gelu_tanh(z: Any) -> Any:
        return 0.5 * z * (1.0 + np.tanh(c * (z + 0.044715 * z**3)))

    def gelu_tanh_slope(z: Any) -> Any:
        t = np.tanh(c * (z + 0.044715 * z**3))
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t**2) * c * (1.0 + 3 * 0.044715 * z**2)

    def gelu_slope(z: Any) -> Any:
        return 0.5 * (1.0 + verf(z / sqrt(2.0))) + z * np.exp(-0.5 * z**2) / sqrt(2.0 * pi)

    return {
        "sigmoid": (kinds.SIGMOID, sigmoid, lambda z, a, d: d * (a * (1.0 - a))),
        "tanh": (kinds.TANH, np.tanh, lambda z, a, d: d * (1.0 - a * a)),
        "relu": (kinds.RELU, lambda z: np.maximum(z, 0.0), lambda z, a, d: d * (z > 0.0)),
        "gelu (erf)": (kinds.GELU, lambda z: 0.5 * z * (1.0 + verf(z / sqrt(2.0))), lambda z, a, d: d * gelu_slope(z)),
        "gelu (tanh)": (kinds.GELU_TANH, gelu_tanh, lambda z, a, d: d * gelu_tanh_slope(z)),
        "identity": (kinds.IDENTITY, lambda z: z.copy(), lambda z, a, d: d * 1.0),
    }


def _torch_activations() -> dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any, Any], Any]]]:
    """torch's forward and backward (float64, one thread) of each activation, the backward as autograd's kernels
    compute it (torch.ops.aten's *_backward functions, from z or a as torch keeps them)."""
    aten = torch.ops.aten
    return {
        "sigmoid": (torch.sigmoid, lambda z, a, d: aten.sigmoid_backward(d, a)),
        "tanh": (torch.tanh, lambda z, a, d: aten.tanh_backward(d, a)),
        "relu": (torch.relu, lambda z, a, d: aten.threshold_backward(d, z, 0.0)),
        "gelu (erf)": (aten.gelu, lambda z, a, d: aten.gelu_backward(d, z)),
        "gelu (tanh)": (
            lambda z: aten.gelu(z, approximate="tanh"),
            lambda z, a, d: aten.gelu_backward(d, z, approximate="tanh"),
        ),
        "identity": (torch.clone, lambda z, a, d: d.clone()),
    }


def activation_kernels(batch: int = 32, width: int = 256, inner: int = 200, repeats: int = 31) -> None:
    """Each activation's counting kernels, forward and backward, against numpy's (and torch's) same arithmetic:
    medians in microseconds from one run, the contenders of one activation timed in turn within each repeat."""
    z = np.random.default_rng(0).normal(0.0, 2.0, (batch, width))
    d0 = np.random.default_rng(1).normal(0.0, 1.0, (batch, width))
    print(
        f"each activation's kernels, batch {batch}, width {width}, one thread, median us per call "
        f"(target: counting <= numpy)"
    )
    print(
        f"  {'activation':<12} {'':<8} {'counting':>9} {'numpy':>9} {'torch':>9} {'counting/numpy':>15}"
        f" {'counting/torch':>15}"
    )
    torch_of = _torch_activations() if torch is not None else {}
    for name, (code, g, grad) in _numpy_activations().items():
        times = _activation_kernel_times(code, g, grad, torch_of.get(name), z, d0, inner, repeats)
        for phase in ("forward", "backward"):
            c, n = times[f"{phase} counting"], times[f"{phase} numpy"]
            t = times.get(f"{phase} torch")
            torch_us = f"{t * 1e6:9.1f}" if t else f"{'-':>9}"
            torch_ratio = f"{c / t:15.2f}" if t else f"{'-':>15}"
            print(
                f"  {name if phase == 'forward' else '':<12} {phase:<8} {c * 1e6:9.1f} {n * 1e6:9.1f} {torch_us} "
                f"{c / n:15.2f} {torch_ratio}"
            )


def _activation_kernel_times(
    code: int,
    g: Callable[[Any], Any],
    grad: Callable[[Any, Any, Any], Any],
    torch_pair: tuple[Callable[[Any], Any], Callable[[Any, Any, Any], Any]] | None,
    z: Any,
    d0: Any,
    inner: int,
    repeats: int,
) -> dict[str, float]:
    """Median seconds of one activation's forward and backward: the counting kernels (the backward restoring d
    first), numpy's and torch's."""
    from complexa.reference.kinds import activation as kinds
    from complexa.reference.kinds._jit import ACT, FORWARD

    k = kinds.make(True)
    counts = np.zeros((3, 8), dtype=np.int64)
    a, d = np.empty_like(z), np.empty_like(z)
    k.forward(z, code, a, counts)
    an = g(z)

    def backward() -> None:
        if code != kinds.IDENTITY:  # identity's backward leaves d as it is, and its node calls no kernel
            np.copyto(d, d0)
            k.backward(z, a, code, d, counts)

    # Identity's node calls no kernel: its forward is the backend's copy (np.copyto on the CPU), its backward nothing.
    forward = (lambda: np.copyto(a, z)) if code == kinds.IDENTITY else (lambda: k.forward(z, code, a, counts))
    calls: dict[str, Callable[[], object]] = {
        "forward counting": forward,
        "forward numpy": lambda: g(z),
        "backward counting": backward,
        "backward numpy": lambda: grad(z, an, d0),
    }
    if torch_pair is not None:
        tg, tgrad = torch_pair
        zt, at, dt = torch.tensor(z), torch.tensor(an), torch.tensor(d0)
        calls["forward torch"] = lambda: tg(zt)
        calls["backward torch"] = lambda: tgrad(zt, at, dt)
    times = median_seconds(calls, inner=inner, repeats=repeats)
    assert code == kinds.IDENTITY or counts[FORWARD, ACT] > 0, "the counting kernel counted nothing"
    return times


def _activation_row(network: Network, name: str) -> None:
    """A dense network (`name` its activation) against naive.train_step, or a stack against naive.train_stack."""
    m = start_of(network)
    counting, counts = trainer(network, m, count=True)
    if network.activation:
        label = f"dense {[int(n) for n in network.sizes]}, {name}"
        params = m.params_before
        numpy: Callable[[], object] = lambda: naive.train_step(  # noqa: E731
            params, m.inputs, m.targets, activation=name, loss="mse", lr=0.0
        )
    else:
        label = f"(Linear, {name}) x {len(network.layers) // 2}"
        state = m.state_before
        numpy = lambda: naive.train_stack(network, state, m.inputs, m.targets, 0.0, 1)  # noqa: E731
    times = median_seconds({"counting": lambda: counting.step(counts), "numpy": numpy}, inner=10, repeats=9)
    print(
        f"  {label:<42} {times['counting'] * 1e3:8.3f}ms {times['numpy'] * 1e3:8.3f}ms "
        f"{times['counting'] / times['numpy']:15.2f}"
    )


def fresh_process(code: str, repeats: int = 3, warm: bool = True) -> float:
    """Median wall seconds of ``python -c code`` in a fresh process, after one unmeasured run to warm numba's cache
    when `warm`."""
    times = []
    for attempt in range(repeats + warm):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        if attempt or not warm:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup() -> None:
    import complexa
    from complexa.reference import kinds

    entry = "complexa.measure" if hasattr(complexa, "measure") else "complexa.reference.measure"
    measured = fresh_process(f"import complexa, complexa.reference; {entry}(complexa.Network([4, 8, 3]))")
    print("fresh process, numba's cache warm (median of 3)")
    print(f"  import complexa; {entry}(Network([4, 8, 3]))  {measured:6.2f} s   (target < 2 s)")
    print(f"  import complexa                                    {fresh_process('import complexa', warm=False):6.2f} s")
    print(f"  import numba                                       {fresh_process('import numba', warm=False):6.2f} s")
    print(f"  (kernels cached on disk: {kinds.CACHED})")


def main() -> None:
    if torch is not None:
        torch.set_num_threads(1)
    dense = Network([64] * 5, batch=8)
    mixed = every_kind()
    counting_overhead(dense, repr(dense), inner=50)
    print()
    counting_overhead(mixed, "a stack with every kind: " + ", ".join(type(x).__name__ for x in mixed.layers), 20)
    print()
    step_against_numpy(dense)
    print()
    widths_at_batch_32()
    print()
    mlp = residual_mlp()
    title = f"a {len(mlp.layers) - 2}-block residual MLP, width {int(mlp.input_width)}, batch {int(mlp.batch)}, Adam"
    step_against_torch(mlp, f"{title}, cross-entropy over {int(mlp.output_width)} classes")
    print()
    gpt = Network.gpt(128, 32, 64, 2, 4, batch=4, optimizer=nn.Adam())
    step_against_torch(gpt, repr(gpt), numpy=False, target="   (target <= 3)")
    print()
    activation_kernels()
    print()
    activations_at_batch_32()
    print()
    startup()


if __name__ == "__main__":
    if sys.argv[1:] == ["activations"]:  # the activations' tables alone
        if torch is not None:
            torch.set_num_threads(1)
        activation_kernels()
        print()
        activations_at_batch_32()
    else:
        main()
