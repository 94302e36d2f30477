"""Tracing a PyTorch module with `complexa.from_torch`: nanoGPT's GPT (the model of `tests/torch_zoo.py`) with a
symbolic batch and sequence length, and torchvision's resnet18 with a symbolic batch, height and width, each against
``FlopCounterMode``'s run at one concrete shape (resnet18 at 224 x 224). A symbolic trace is a first trace, and the
traces that check and widen its domain (docs/torch.md): two for resnet18, four for the GPT.

Run ``python benchmarks/bench_trace.py`` from the repository root (needs torch). It prints medians of 5 runs after one
warm-up (torch's first trace imports and compiles much of itself). The symbolic trace is one count for every size;
FlopCounterMode counts one shape per run, forward and backward on real tensors, so the ratio grows in
complexa's favour with every further shape asked for. No figure is asserted; the issue's target is under 10 s for
the symbolic GPT.

``python benchmarks/bench_trace.py cache`` times symbolic traces of resnet18, densenet121 and transformers' GPT-2
with FakeTensorMode's dispatch cache on and off, interleaved (`complexa._trace._tracing.FAKE_TENSOR_CACHE`; off is
complexa's choice), and prints the medians and their ratio.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

try:
    import torch
except ImportError:  # an optional extra: say so, as bench_cuda.py does without a GPU
    print("bench_trace: PyTorch is not installed (pip install '.[torch]'); nothing to trace")
    raise SystemExit(0) from None
from torch_zoo import GPT  # noqa: E402

from complexa._trace import from_torch  # noqa: E402
from complexa.testing import flop_counter_total  # noqa: E402

REPEATS = 5


def median_seconds(run: object, repeats: int = REPEATS) -> float:
    run()  # type: ignore[operator]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    gpt = GPT(vocab=256, block_size=256, d=128, heads=4, layers=4)
    traced = from_torch(gpt, ("B", "s"), dtype=torch.long)
    print(f"GPT: 4 layers, d=128, 4 heads, vocab 256; {sum(p.numel() for p in gpt.parameters()):,} parameters")
    print(f"  torch FLOPs, training step: {traced.flops('torch', 'training')}")
    symbolic = median_seconds(lambda: from_torch(gpt, ("B", "s"), dtype=torch.long))
    forward_only = median_seconds(lambda: from_torch(gpt, ("B", "s"), dtype=torch.long, training=False))
    print(f"  from_torch, symbolic B and s, forward and backward: {symbolic:.2f} s (target < 10 s)")
    print(f"  from_torch, symbolic B and s, forward only:          {forward_only:.2f} s")
    concrete = median_seconds(lambda: from_torch(gpt, (8, 128), dtype=torch.long))
    idx = torch.zeros(8, 128, dtype=torch.long)
    counter = median_seconds(lambda: flop_counter_total(gpt, [idx], training=True))
    print(
        f"  at B=8, s=128: from_torch {concrete:.2f} s, FlopCounterMode (real run, forward + backward) {counter:.2f} s,"
    )
    print(f"  ratio complexa / FlopCounterMode {concrete / counter:.1f} (symbolic: {symbolic / counter:.1f})")
    resnet18()


def resnet18() -> None:
    try:
        import conftest  # noqa: F401  torchvision beside torch's CPU wheel (tests/conftest.py)
        import torchvision
    except ImportError:
        print("resnet18: torchvision is not installed; skipped")
        return
    model = torchvision.models.resnet18()
    traced = from_torch(model, ("B", 3, "H", "W"))
    print(f"resnet18: {sum(p.numel() for p in model.parameters()):,} parameters; formula for {traced.assumptions}")
    symbolic = median_seconds(lambda: from_torch(model, ("B", 3, "H", "W")), repeats=3)
    image = torch.randn(1, 3, 224, 224)
    counter = median_seconds(lambda: flop_counter_total(model, [image], training=True), repeats=3)
    print(f"  from_torch, symbolic B, H and W, forward and backward: {symbolic:.2f} s")
    print(f"  FlopCounterMode, one real run at B=1, 224 x 224, forward and backward: {counter:.2f} s")
    print(f"  ratio complexa / FlopCounterMode {symbolic / counter:.1f}")


def cache(repeats: int = 3) -> None:
    """Symbolic traces with the fake tensors' dispatch cache on and off, run interleaved: medians and on / off."""
    from complexa._trace import _tracing

    try:
        import conftest  # noqa: F401  torchvision beside torch's CPU wheel (tests/conftest.py)
        import torchvision
        import transformers
    except ImportError:
        print("cache: torchvision and transformers are needed; skipped")
        return
    small = {"vocab_size": 97, "bos_token_id": 0, "eos_token_id": 0}
    gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_embd=32, n_layer=2, n_head=4, **small))
    models = [
        ("resnet18", torchvision.models.resnet18(), ("B", 3, "H", "W"), torch.float32),
        ("densenet121", torchvision.models.densenet121(), ("B", 3, "H", "W"), torch.float32),
        ("GPT-2 (transformers, 2 layers)", gpt2.eval(), ("B", "s"), torch.long),
    ]
    print(f"from_torch, symbolic sizes, forward and backward; median of {repeats}, cache on and off interleaved")
    for name, model, shape, dtype in models:
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeats):
            for enabled in (True, False):
                _tracing.FAKE_TENSOR_CACHE = enabled
                start = time.perf_counter()
                from_torch(model, shape, dtype=dtype)
                times[enabled].append(time.perf_counter() - start)
        _tracing.FAKE_TENSOR_CACHE = False
        on, off = statistics.median(times[True]), statistics.median(times[False])
        print(f"  {name}: cache on {on:.2f} s, off {off:.2f} s, on / off {on / off:.2f}")


if __name__ == "__main__":
    cache() if sys.argv[1:] == ["cache"] else main()
