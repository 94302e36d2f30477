"""Speed of the symbolic engine: the figures the derivation issue asks for, as medians over repeats.

Run: ``python benchmarks/bench_derive.py``. sympy's cache is cleared before every repeat, so no repeat profits from
the one before.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from sympy.core.cache import clear_cache

import complexa
from complexa import Network, derive


def median_seconds(work: Callable[[], object], repeats: int = 7) -> tuple[float, float, float]:
    times = []
    for _ in range(repeats):
        clear_cache()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def concrete_10k() -> object:
    sizes = [1 + k % 1024 for k in range(10_001)]
    return derive(Network(sizes)).evaluate()


SYMBOLS = [f"n_{k}" for k in range(1_001)]
VALUES = {name: 1 + k % 512 for k, name in enumerate(SYMBOLS)}


def symbolic_1000() -> object:
    return derive(Network(SYMBOLS)).evaluate(**VALUES)


def uniform_big_o() -> object:
    exact = derive(Network.uniform("n", "L"), iterations="T").big_o(L="n", T="n")
    essay = derive(Network.uniform("n", "L"), model="essay", iterations="T").big_o(L="n", T="n")
    return exact, essay


def uniform_latex() -> object:
    return derive(Network.uniform("n", "L"), model="essay", iterations="T").latex()


CASES = [
    ("10,000 concrete layers (widths 1..1024): derive + evaluate", concrete_10k, 0.5),
    ("1,000 layers, one symbol each: derive + evaluate", symbolic_1000, 1.0),
    ("uniform n x L, both models: derive + big_o of every quantity", uniform_big_o, 0.3),
    ("uniform n x L, essay model: derive + latex", uniform_latex, None),
]


def main() -> None:
    print(f"complexa {complexa.__version__}: median of 7 (min .. max), sympy cache cleared before each")
    for label, work, target in CASES:
        median, low, high = median_seconds(work)
        goal = f"  target < {target:.1f} s" if target else ""
        print(f"{label:<64} {median:8.3f} s  ({low:.3f} .. {high:.3f}){goal}")


if __name__ == "__main__":
    main()
