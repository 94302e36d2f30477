"""Speed of the symbolic engine: the figures the derivation issue asks for, as medians over repeats.

Run: ``python benchmarks/bench_derive.py``. sympy's cache is cleared before every repeat, so no repeat profits from
the one before.
"""

from __future__ import annotations

import itertools
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


def bare_10k() -> object:
    """The same network's counts in bare Python integers: the floor for concrete_10k (its sums, written out)."""
    n = [1 + k % 1024 for k in range(10_001)]
    pairs = list(itertools.pairwise(n))
    weights = sum(a * b for a, b in pairs)
    units = sum(n[1:])
    hidden = sum(n[1:-1])
    back = sum(b * c for b, c in itertools.pairwise(n[1:]))
    adds = sum(b * (a - 1 + 1) for a, b in pairs)
    return [weights, adds, units, back + hidden + n[-1], back - hidden + n[-1], hidden + n[-1], 0, weights + units]


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
    ("the same counts in bare Python integers (the floor)", bare_10k, None),
    ("1,000 layers, one symbol each: derive + evaluate", symbolic_1000, 1.0),
    ("uniform n x L, both models: derive + big_o of every quantity", uniform_big_o, 0.3),
    ("uniform n x L, essay model: derive + latex", uniform_latex, None),
]


def main() -> None:
    print(f"complexa {complexa.__version__}: median of 7 (min .. max), sympy cache cleared before each")
    medians = {}
    for label, work, target in CASES:
        median, low, high = median_seconds(work)
        medians[work] = median
        goal = f"  target < {target:.1f} s" if target else ""
        print(f"{label:<64} {median:8.3f} s  ({low:.3f} .. {high:.3f}){goal}")
    print(f"10,000 concrete layers against bare integers: {medians[concrete_10k] / medians[bare_10k]:.0f}x")


if __name__ == "__main__":
    main()
