"""Speed of the symbolic engine: the figures the derivation issue asks for, as medians over repeats.

Run: ``python benchmarks/bench_derive.py``. sympy's cache is cleared before every repeat, so no repeat profits from
the one before. The 1,000-layer stacks (Linear, ReLU, LayerNorm, ... Linear) are built before it is cleared, so that
their lines time derive + evaluate alone; building them is timed on lines of its own.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

from sympy.core.cache import clear_cache

import complexa
from complexa import Network, derive, nn


def median_seconds(work: Callable[[], object] | Prepared, repeats: int = 7) -> tuple[float, float, float]:
    """Median, min and max seconds of `work()`; a `Prepared` work's setup runs before the cache is cleared and the
    clock starts."""
    times = []
    for _ in range(repeats):
        if isinstance(work, Prepared):
            argument = work.setup()
            clear_cache()
            start = time.perf_counter()
            work(argument)
        else:
            clear_cache()
            start = time.perf_counter()
            work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


class Prepared:
    """Work on what `setup` builds, timed without building it."""

    def __init__(self, setup: Callable[[], Any], work: Callable[[Any], object]) -> None:
        self.setup, self.work = setup, work

    def __call__(self, argument: object) -> object:
        return self.work(argument)


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


STACK_BLOCKS = 333
"""Linear, ReLU, LayerNorm 333 times and a last Linear: 1,000 layers, 334 Linear widths."""
STACK_SYMBOLS = [f"n_{k}" for k in range(STACK_BLOCKS + 2)]
STACK_VALUES = {name: 1 + k % 512 for k, name in enumerate(STACK_SYMBOLS)}


def stack(width: Callable[[int], object], batch: object) -> Network:
    """The 1,000-layer stack, `width(k)` the k-th Linear width."""
    layers: list[nn.Layer] = []
    for k in range(STACK_BLOCKS):
        layers += [nn.Linear(width(k), width(k + 1)), nn.ReLU(), nn.LayerNorm(width(k + 1))]
    layers.append(nn.Linear(width(STACK_BLOCKS), width(STACK_BLOCKS + 1)))
    return Network(layers, batch=batch)


def symbolic_stack() -> Network:
    return stack(lambda k: STACK_SYMBOLS[k], "B")


def concrete_stack() -> Network:
    return stack(lambda k: 1 + k % 512, 32)


def evaluate_symbolic(network: Network) -> object:
    return derive(network).evaluate(**STACK_VALUES, B=32)


def evaluate_concrete(network: Network) -> object:
    return derive(network).evaluate()


def gpt_big_o() -> object:
    """nanoGPT's GPT with every size a symbol (vocab, seq, d_model, layers, heads, batch): derive + big_o."""
    return derive(Network.gpt("V", "T", "d", "L", "H", batch="B")).big_o()


def llama_big_o() -> object:
    """A Llama with every size a symbol (GQA: d_model = H h, K key/value heads, d_ff, batch): building it, derive,
    big_o of every count, and the torch-convention FLOPs' big-O."""
    network = Network.llama("V", "T", "H*h", "L", "H", n_kv_heads="K", d_ff="f", batch="B")
    return derive(network).big_o(), complexa.big_o(complexa.flops(network, convention="torch", phase="training"))


def mixtral_from_config() -> object:
    """Mixtral-8x7B from its shipped config, every size concrete (32 blocks listed): from_config, derive and the
    evaluated counts, params and the torch-convention FLOPs."""
    network = Network.from_config("mixtral-8x7b", seq=4096)
    return derive(network).evaluate(), complexa.params(network), complexa.flops(network, convention="torch")


CASES: list[tuple[str, Callable[[], object] | Prepared, float | None]] = [
    ("10,000 concrete layers (widths 1..1024): derive + evaluate", concrete_10k, 0.5),
    ("the same counts in bare Python integers (the floor)", bare_10k, None),
    ("1,000 layers, one symbol each: derive + evaluate", symbolic_1000, 1.0),
    ("uniform n x L, both models: derive + big_o of every quantity", uniform_big_o, 0.3),
    ("uniform n x L, essay model: derive + latex", uniform_latex, None),
    ("1,000-layer stack, a symbol per width: derive + evaluate", Prepared(symbolic_stack, evaluate_symbolic), 0.5),
    ("1,000-layer stack, concrete widths: derive + evaluate", Prepared(concrete_stack, evaluate_concrete), 0.5),
    ("building that stack: Network([...]) of its layers, symbolic", symbolic_stack, None),
    ("building that stack: Network([...]) of its layers, concrete", concrete_stack, None),
    ("GPT, every size a symbol (Network.gpt): derive + big_o", gpt_big_o, 0.3),
    ("Llama, every size a symbol (Network.llama, GQA): derive + big_o", llama_big_o, 0.3),
    ("Mixtral-8x7B from its config: from_config + derive + params + flops", mixtral_from_config, 1.0),
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
