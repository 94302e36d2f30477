"""The CUDA backend against the CPU backend: one script for a machine with an NVIDIA GPU (and the ``cuda`` extra).

Run ``python benchmarks/bench_cuda.py`` from the repository root. For each network it checks that both backends count
the same operations, then times `measure` on each (median of 5, after a warm-up call that compiles the kernels) and
gives GFLOP/s as complexa's exact count of every operation of the run over the median seconds. The device's time
includes the copies to and from it. Under the simulator (``NUMBA_ENABLE_CUDASIM=1``) it runs one tiny network, to
check the script, and its times mean nothing. No figure is asserted.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from numba import config, cuda

from complexa import Network, measure, nn

SIMULATOR = bool(getattr(config, "ENABLE_CUDASIM", False))


def networks() -> list[tuple[str, Network, int]]:
    if SIMULATOR:
        return [
            ("tiny stack", Network([nn.Linear(3, 4), nn.GELU(), nn.LayerNorm(4), nn.Linear(4, 2)], batch=2), 1),
            ("tiny GPT", Network.gpt(5, 3, 4, 1, 2, batch=2), 1),
        ]
    block = nn.Residual(nn.LayerNorm(512), nn.Linear(512, 512), nn.GELU(), nn.Linear(512, 512))
    return [
        ("dense [784, 512, 512, 10] relu, B=256", Network([784, 512, 512, 10], batch=256, activation="relu"), 10),
        (
            "residual MLP 4 x 512, B=512, Adam, cross-entropy",
            Network(
                [nn.Linear(784, 512), *([block] * 4), nn.LayerNorm(512), nn.Linear(512, 10)],
                batch=512,
                loss="cross_entropy",
                optimizer=nn.Adam(),
            ),
            10,
        ),
        # One training step of a small GPT (V=128, T=32, d=64, 2 layers, 4 heads, B=4): the attention kernels.
        ("GPT 128 x 32 x 64, 2 layers, 4 heads, B=4, one step", Network.gpt(128, 32, 64, 2, 4, batch=4), 1),
        # The same sizes as a Llama (RMSNorm, RoPE, GQA with 2 key/value heads, SwiGLU) and as a Mixtral (top-2 of 4).
        (
            "Llama 128 x 32 x 64, 2 layers, 4 heads, 2 kv, B=4",
            Network.llama(128, 32, 64, 2, 4, n_kv_heads=2, d_ff=128, batch=4),
            1,
        ),
        (
            "Mixtral 128 x 32 x 64, 2 layers, top-2 of 4, B=4",
            Network.mixtral(128, 32, 64, 2, 4, n_kv_heads=2, d_ff=128, n_experts=4, top_k=2, batch=4),
            1,
        ),
    ]


def main() -> None:
    if not (SIMULATOR or cuda.is_available()):
        print("no CUDA GPU (and NUMBA_ENABLE_CUDASIM is not set): nothing to run")
        return
    if not SIMULATOR:
        name = cuda.get_current_device().name
        print(f"device: {name.decode() if isinstance(name, bytes) else name}")
    print(f"{'network':<52} {'backend':>7} {'median s':>10} {'GFLOP/s':>9}  counts equal")
    for name, network, iterations in networks():
        results = {}
        for backend in ("cuda", "cpu"):
            measure(network, backend=backend, iterations=1)  # compile
            runs = [measure(network, backend=backend, iterations=iterations) for _ in range(5)]
            results[backend] = runs[0]
            seconds = statistics.median(run.seconds for run in runs)
            same = results["cuda"].counts == runs[0].counts
            print(f"{name:<52} {backend:>7} {seconds:>10.4f} {runs[0].total / seconds / 1e9:>9.2f}  {same}")


if __name__ == "__main__":
    main()
