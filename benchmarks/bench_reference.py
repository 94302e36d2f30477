"""Benchmarks of the measured side; run ``python benchmarks/bench_reference.py`` from the repository root.

Prints medians over repeats (each repeat times a batch of calls and divides):

1. counting overhead: the CPU training step with counters against the same kernels compiled without them;
2. one training step of a 4-layer (sizes [64] * 5), batch-8 network: the CPU backend against tests/naive.py (numpy);
3. a fresh ``python -c "import complexa; complexa.measure(...)"`` with numba's cache warm, and bare imports for
   comparison.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import naive  # noqa: E402

from complexa import Network  # noqa: E402
from complexa.reference import _cpu, measure  # noqa: E402
from complexa.reference._layout import Buffers, Layout  # noqa: E402

REPEATS = 41


def median_seconds(calls: dict[str, Callable[[], object]], inner: int, repeats: int = REPEATS) -> dict[str, float]:
    """Median seconds per call of each function, timing them in turn so that drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()  # compile or warm caches outside the timing
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(inner):
                call()
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(times) for name, times in samples.items()}


def buffers_for(network: Network) -> Buffers:
    """Buffers holding `measure`'s starting point for `network`, with lr = 0 so that repeats redo the same work."""
    m = measure(network)
    layout = Layout.of([int(n) for n in network.sizes], network.bias)
    params = layout.flatten(m.params_before)
    return Buffers.start(layout, params, m.inputs, m.targets, activation=network.activation, loss=network.loss, lr=0.0)


def counting_overhead(network: Network) -> None:
    buffers = buffers_for(network)
    counts = np.zeros((3, 4), dtype=np.int64)
    times = median_seconds(
        {
            "counting": lambda: _cpu.train(buffers, 1, counts, count=True),
            "plain": lambda: _cpu.train(buffers, 1, counts, count=False),
        },
        inner=200,
    )
    print(f"counting overhead, one training step of {network!r}")
    print(f"  counting kernels  {times['counting'] * 1e6:9.1f} us")
    print(f"  plain kernels     {times['plain'] * 1e6:9.1f} us")
    print(f"  ratio             {times['counting'] / times['plain']:9.3f}   (target <= 1.30)")


def step_against_numpy(network: Network) -> None:
    buffers = buffers_for(network)
    counts = np.zeros((3, 4), dtype=np.int64)
    m = measure(network)
    activation, loss = network.activation, network.loss
    times = median_seconds(
        {
            "cpu": lambda: _cpu.train(buffers, 1, counts),
            "numpy": lambda: naive.train_step(
                m.params_before, m.inputs, m.targets, activation=activation, loss=loss, lr=0.0
            ),
            "measure": lambda: measure(network),
        },
        inner=100,
    )
    print(f"one training step of {network!r}")
    print(f"  cpu backend (counting)   {times['cpu'] * 1e6:9.1f} us")
    print(f"  tests/naive.py (numpy)   {times['numpy'] * 1e6:9.1f} us")
    print(f"  ratio cpu / numpy        {times['cpu'] / times['numpy']:9.3f}   (target < 1)")
    print(f"  whole measure() call     {times['measure'] * 1e6:9.1f} us   (data, copies and checks included)")


def fresh_process(code: str, repeats: int = 7) -> float:
    """Median wall seconds of ``python -c code`` in a fresh process, after one unmeasured run to warm the cache."""
    times = []
    for attempt in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        if attempt:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup() -> None:
    import complexa

    entry = "complexa.measure" if hasattr(complexa, "measure") else "complexa.reference.measure"
    measured = fresh_process(f"import complexa, complexa.reference; {entry}(complexa.Network([4, 8, 3]))")
    print("fresh process, numba's cache warm (median of 7)")
    print(f"  import complexa; {entry}(Network([4, 8, 3]))  {measured:6.2f} s   (target < 2 s)")
    print(f"  import complexa                                    {fresh_process('import complexa'):6.2f} s")
    print(f"  import numba                                       {fresh_process('import numba'):6.2f} s")
    print(f"  (kernels cached on disk: {_cpu.CACHED})")


if __name__ == "__main__":
    width64 = Network([64] * 5, batch=8)
    counting_overhead(width64)
    print()
    step_against_numpy(width64)
    print()
    startup()
