"""Benchmark of inference on the measured side; run ``python benchmarks/bench_inference.py`` from the repository root.

One thread everywhere (numba's kernels always; torch pinned here). A GPT, and a Llama with grouped-query attention,
generate with a KV cache: the counting network (`complexa.reference.generate`, its decode kernels counting every op)
against transformers' GPT2LMHeadModel or LlamaForCausalLM (`Network.to_torch`), float64, eager attention, with the
same weights, called step by step with a ``DynamicCache`` and
``logits_to_keep=1`` as ``generate`` calls it. Each figure is the median over the decode steps (and over repeats of
the whole generation); the counting network's seconds are its kernels' calls (`Generation.seconds`), transformers'
the model's call. The target (issue 22): a decode step within 3x of torch float64. No figure is asserted.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import conftest  # noqa: E402,F401  (torchvision's operator schemas, before transformers imports it)
import torch  # noqa: E402
import transformers  # noqa: E402

from complexa import Network, derive  # noqa: E402
from complexa.reference import generate  # noqa: E402

torch.set_num_threads(1)
REPEATS = 3
CASES = [
    ("GPT(256, 256, 64, 2, 4), batch 4, prompt 64, 64 new", Network.gpt(256, 256, 64, 2, 4, batch=4), 64, 64),
    ("GPT(512, 512, 128, 4, 4), batch 1, prompt 128, 32 new", Network.gpt(512, 512, 128, 4, 4, batch=1), 128, 32),
    (
        "Llama(256, 256, 64, 2, 4, K=2), batch 4, prompt 64, 64 new",
        Network.llama(256, 256, 64, 2, 4, n_kv_heads=2, d_ff=172, batch=4),
        64,
        64,
    ),
    (
        "Llama(512, 512, 128, 4, 8, K=2), batch 1, prompt 128, 32 new",
        Network.llama(512, 512, 128, 4, 8, n_kv_heads=2, d_ff=344, batch=1),
        128,
        32,
    ),
    (
        "Llama(1024, 1024, 512, 4, 8, K=2), batch 1, prompt 256, 16 new",
        Network.llama(1024, 1024, 512, 4, 8, n_kv_heads=2, d_ff=1376, batch=1),
        256,
        16,
    ),
]


def _hf(network: Network, state: dict) -> object:
    if network.llama_config is not None:
        model = network.to_torch().eval()
        model.load_state_dict({name: torch.from_numpy(value) for name, value in state.items()})
        return model
    c = network.gpt_config
    config = transformers.GPT2Config(
        vocab_size=int(c["vocab"]),
        n_positions=int(c["seq"]),
        n_embd=int(c["d_model"]),
        n_layer=int(c["n_layers"]),
        n_head=int(c["n_heads"]),
        n_inner=int(c["d_ff"]),
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=None,
        pad_token_id=0,
    )
    config._attn_implementation = "eager"
    model = transformers.GPT2LMHeadModel(config).double().eval()
    weights = {}
    for name, value in state.items():
        tensor = torch.from_numpy(value)
        weights[name] = (tensor.T if name.startswith("transformer.h.") and tensor.ndim == 2 else tensor).contiguous()
    model.load_state_dict(weights, strict=False)
    return model


def _torch_steps(model: object, g: object, prompt: int, new: int) -> list[float]:
    cache = transformers.DynamicCache(config=model.config)  # type: ignore[attr-defined]
    times = []
    with torch.no_grad():
        model(input_ids=torch.from_numpy(g.prompt), cache=cache, use_cache=True, logits_to_keep=1)  # type: ignore[operator,attr-defined]
        for k in range(new - 1):
            ids = torch.from_numpy(g.tokens[:, k : k + 1])  # type: ignore[attr-defined]
            start = time.perf_counter()
            model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)  # type: ignore[operator]
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    print("decode step: the counting network (numba, counting) against transformers (torch float64), 1 thread")
    print(f"{'case':<64} {'complexa':>11} {'torch':>11} {'ratio':>6} {'GFLOP/s':>8}")
    for title, network, prompt, new in CASES:
        generate(network, prompt=2, new=2)  # compile
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(REPEATS):
            g = generate(network, prompt=prompt, new=new)
            ours += g.seconds[1:]
            theirs += _torch_steps(_hf(network, g.state), g, prompt, new)
        a, b = statistics.median(ours), statistics.median(theirs)
        middle = derive(network, phase="decode", cache=prompt + new // 2).flops("exact")
        print(f"{title:<64} {a * 1e3:>9.3f}ms {b * 1e3:>9.3f}ms {a / b:>6.2f} {int(middle) / a / 1e9:>8.2f}")
    print("target: a decode step within 3x of torch float64")


if __name__ == "__main__":
    main()
