"""Benchmark of `complexa.scale`; run ``python benchmarks/bench_scaling.py`` from the repository root.

Prints, for the default sweep (4 to 256, doubling, 5 repeats) of each of width, depth, batch and iterations on the
base network Network.uniform(64, 4, batch=8), how long the sweep took (target: under 60 s on 2 cores) and its fits;
then the width sweep in a fresh process, imports and numba's cache load included. ``--large`` adds the width sweep
16..1024, where the times leave the fixed overhead behind and the caches start to show. ``--plot DIR`` writes each
sweep's figure there.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from complexa import Network  # noqa: E402
from complexa.scaling import VARIES, ScaleResult, scale  # noqa: E402

BASE = Network.uniform(64, 4, batch=8)
TARGET_SECONDS = 60.0


def report(result: ScaleResult, seconds: float) -> None:
    print(f"{result.vary:>10}: {seconds:6.2f} s   (target < {TARGET_SECONDS:.0f} s)")
    for name, f in result.fits.items():
        print(
            f"{'':12}{name:9} O({f.order.expr}): fitted {f.exponent:6.3f} [{f.interval[0]:6.3f}, {f.interval[1]:6.3f}]"
            f"  upper half {f.upper:6.3f}  residual {f.residual:6.3f}  {f.verdict}"
        )
    print(f"{'':12}seconds = {result.overhead * 1e6:.1f} us + {result.per_operation * 1e9:.3f} ns x operations")


def fresh_process() -> float:
    """Wall seconds of the default width sweep in a new Python process: imports, cache load and sweep."""
    code = "from complexa import Network; from complexa.scaling import scale; scale(Network.uniform(64, 4, batch=8))"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also the width sweep 16..1024")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="write each sweep's figure (PNG and SVG) in DIR")
    args = parser.parse_args()

    print(f"default sweeps of {BASE!r}: sizes 4..256 doubling, 5 repeats, cpu")
    sweeps: list[tuple[str, ScaleResult]] = []
    for vary in VARIES:
        start = time.perf_counter()
        result = scale(BASE, vary=vary, progress=False)
        report(result, time.perf_counter() - start)
        sweeps.append((vary, result))
    if args.large:
        start = time.perf_counter()
        result = scale(BASE, vary="width", sizes="16..1024", progress=False)
        print("\nlarger width sweep, 16..1024")
        report(result, time.perf_counter() - start)
        sweeps.append(("width-large", result))
    print(f"\ndefault width sweep in a fresh process (imports and cache load included): {fresh_process():.2f} s")
    if args.plot is not None:
        args.plot.mkdir(parents=True, exist_ok=True)
        for name, result in sweeps:
            result.plot(args.plot / f"scale-{name}")
        print(f"figures written in {args.plot}")


if __name__ == "__main__":
    main()
