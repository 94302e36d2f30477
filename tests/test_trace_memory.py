"""What autograd saves for the backward pass, symbolically, against the tensors torch really saves (issue 22, item 4).

`from_torch` records the tensors autograd saves while it traces, by module and in their own dtypes; `memory(...,
layout="torch")` gives the same for `Network.gpt` from rules of what nanoGPT's modules save (`complexa._saved`). Both
are checked here, module by module, against `complexa.testing.saved_by_torch`: the storages a real run's
``saved_tensors_hooks`` receive.
"""

from __future__ import annotations

import functools
import math
import sys

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from complexa import Network, memory, nn  # noqa: E402
from complexa._saved import saved_by_layer  # noqa: E402
from complexa._trace import from_torch  # noqa: E402
from complexa.nn._torch import torch_loss, torch_optimizer  # noqa: E402
from complexa.strategies import gpts, llamas  # noqa: E402
from complexa.testing import real_inputs, saved_by_torch  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from zoo_thirdparty import ZOO, available  # noqa: E402

BY_NAME = {entry[0]: entry for entry in ZOO}
MODELS = ["resnet18", "gpt2_eager", "llama_eager", "t5_eager", "bert_sdpa"]
SIZES = {
    "images": [{"B": 2, "H": 64, "W": 80}, {"B": 3, "H": 97, "W": 131}],
    "tokens": [{"B": 2, "s": 16}, {"B": 3, "s": 7}],
}


@functools.cache
def traced(name: str):
    _, build, inputs, dtype, _, _ = BY_NAME[name]
    torch.manual_seed(0)
    module = build()
    return module, from_torch(module, *inputs, dtype=dtype), dtype


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.skipif(not available(BY_NAME[n][5]), reason=f"needs {BY_NAME[n][5]}"))
        for n in MODELS
    ],
)
def test_traced_saved_bytes_are_what_torch_saves(name: str) -> None:
    module, d, dtype = traced(name)
    for sizes in SIZES["images" if "H" in {s.name for s in d.free_symbols} else "tokens"]:
        real = saved_by_torch(module, real_inputs(d, sizes, [dtype]))
        assert {path: d.at(v, **sizes) for path, v in d.saved_bytes_by_layer.items()} == real
        assert d.at(d.saved_bytes, **sizes) == sum(real.values())
        assert d.at(d.saved, **sizes) == sum(d.at(v, **sizes) for v in d.saved_by_layer.values())
    assert memory(d).bytes == sympy.expand(d.parameter_bytes + d.trainable_bytes + d.saved_bytes)


class _Attention(torch.nn.Module):
    """nanoGPT's CausalSelfAttention, its explicit path, with its two dropouts."""

    def __init__(self, d: int, heads: int, seq: int, p: float) -> None:
        super().__init__()
        self.c_attn, self.c_proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.attn_dropout, self.resid_dropout = torch.nn.Dropout(p), torch.nn.Dropout(p)
        self.heads, self.d = heads, d
        self.register_buffer("bias", torch.tril(torch.ones(seq, seq)).view(1, 1, seq, seq))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in self.c_attn(x).split(self.d, 2))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = self.attn_dropout(torch.nn.functional.softmax(att, dim=-1))
        return self.resid_dropout(self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C)))


class _Block(torch.nn.Module):
    def __init__(self, d: int, heads: int, seq: int, p: float) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.attn = _Attention(d, heads, seq, p)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(d, 4 * d), torch.nn.GELU(), torch.nn.Linear(4 * d, d), torch.nn.Dropout(p)
        )

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


def test_korthikantis_block_traced() -> None:
    # Korthikanti et al. 2022, Eq. (1): a block saves sbh(34 + 5as/h) bytes in 16 bits, with dropout. Traced here
    # on the CPU, with s and b symbolic: without dropout it saves 32sbh + 2as^2b, LayerNorm's statistics (2 a token
    # each) and the causal mask; dropout adds 2sbh + 3as^2b where masks are bytes (torch's fused CUDA dropout), and
    # 4sbh + 4as^2b on the CPU, whose dropout keeps its mask in the input's dtype.
    h, a, w, dtype = 64, 4, 2, torch.bfloat16
    s, b = sympy.symbols("T B", positive=True, integer=True)
    saved = {}
    for p in (0.0, 0.1):
        module = _Block(h, a, 256, p).to(dtype).train()
        d = from_torch(module, ("B", "T", h), dtype=dtype)
        saved[p] = sympy.expand(d.saved_bytes.xreplace({d.symbols["T"]: s, d.symbols["B"]: b}))
        x = torch.randn(3, 100, h, dtype=dtype)
        assert d.at(d.saved_bytes, B=3, T=100) == sum(saved_by_torch(module, [x]).values())
    assert saved[0.0] == 32 * s * b * h + 2 * a * s**2 * b + 2 * 2 * w * s * b + s**2
    assert saved[0.0] == memory_per_block(h, a, s, b)
    assert sympy.expand(saved[0.1] - saved[0.0]) == 2 * w * s * b * h + 2 * w * a * s**2 * b


def memory_per_block(h: int, a: int, s: sympy.Symbol, b: sympy.Symbol) -> sympy.Expr:
    """One block's part of `memory(..., layout="torch")` in bfloat16, for the same sizes."""
    net = Network.gpt(97, s, h, 1, a, batch=b)
    layers = saved_by_layer(net, "bfloat16")
    return sympy.expand(sympy.Add(*(v for path, (_, v) in layers.items() if path.startswith("transformer.h.0."))))


def _logits(out):
    return getattr(out, "logits", out)  # transformers' models return a ModelOutput


@settings(max_examples=12, deadline=None)
@given(gpts(max_seq=5, max_layers=2, max_batch=3), st.sampled_from(["float64", "float32", "bfloat16"]))
def test_gpt_rules_are_what_torch_saves(network: Network, dtype: str) -> None:
    _check_rules(network, dtype, network.gpt_config)


@pytest.mark.skipif(not available("transformers"), reason="needs transformers")
@settings(max_examples=10, deadline=None)
@given(
    llamas(max_seq=5, max_batch=2).filter(lambda n: n.llama_config["n_experts"] is None),
    st.sampled_from(["float64", "float32", "bfloat16"]),
)
def test_llama_rules_are_what_transformers_saves(network: Network, dtype: str) -> None:
    # transformers' own model (to_torch), eager attention: its RMSNorm and softmax compute in float32 whatever the
    # dtype, and keep float32 tensors; RoPE's cos and sin are computed once for every layer.
    _check_rules(network, dtype, network.llama_config)


@pytest.mark.skipif(not available("transformers"), reason="needs transformers")
@settings(max_examples=8, deadline=None)
@given(
    llamas(max_seq=5, max_batch=2, max_experts=4).filter(lambda n: n.llama_config["n_experts"] is not None),
    st.sampled_from(["float64", "float32", "bfloat16"]),
    st.integers(0, 2**16),
)
def test_mixtral_rules_are_what_transformers_saves(network: Network, dtype: str, seed: int) -> None:
    # transformers' eager experts, real random routing: a loop over the experts the batch hits, each on its own
    # tokens; the seeds give different routings, some leaving experts idle (test_mixtral_saves_the_same_...).
    for offset in range(2):
        torch.manual_seed(seed + offset)
        _check_rules(network, dtype, network.llama_config)


def _experts_hit(model, run) -> list[int]:
    """How many experts each MoE layer's router sends some token to, while `run()` runs."""
    hit: list[int] = []
    hooks = [
        layer.mlp.gate.register_forward_hook(lambda _m, _i, out: hit.append(out[2].unique().numel()))
        for layer in model.model.layers
    ]
    try:
        run()
    finally:
        for hook in hooks:
            hook.remove()
    return hit


@pytest.mark.skipif(not available("transformers"), reason="needs transformers")
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_mixtral_saves_the_same_for_every_routing(dtype: str) -> None:
    # The eager loop keeps, for each expert hit, tensors as long as its tokens: the total is the same whether the
    # router spreads the tokens over every expert or (a zero router: equal logits) sends them all to the same k.
    network = Network.mixtral(11, 6, 8, 2, 2, n_experts=4, top_k=2, d_ff=6, batch=2)
    model = network.to_torch().to(getattr(torch, dtype))
    idx, targets = torch.randint(0, 11, (2, 6)), torch.randint(0, 11, (2, 6))
    loss = torch_loss(network)
    expected = memory(network, layout="torch", dtype=dtype).by_layer
    real: dict[str, dict[str, int]] = {}

    def run(name: str) -> None:
        real[name] = saved_by_torch(model, [idx], loss=lambda out: loss(_logits(out), targets))

    spread = _experts_hit(model, lambda: run("spread"))
    with torch.no_grad():
        for layer in model.model.layers:
            layer.mlp.gate.weight.zero_()
    narrow = _experts_hit(model, lambda: run("narrow"))
    assert spread == [4, 4] and narrow == [2, 2]
    assert real["spread"] == real["narrow"] == expected


def _check_rules(network: Network, dtype: str, config) -> None:
    model = network.to_torch().to(getattr(torch, dtype))
    optimizer = torch_optimizer(network, model.parameters(), 0.1)
    shape = (int(network.batch), int(config["seq"]))
    idx, targets = torch.randint(0, int(config["vocab"]), shape), torch.randint(0, int(config["vocab"]), shape)
    loss = torch_loss(network)
    real = saved_by_torch(model, [idx], loss=lambda out: loss(_logits(out), targets))
    got = memory(network, layout="torch", dtype=dtype)
    assert got.by_layer == real
    assert got.activations == sum(e for e, _ in saved_by_layer(network, dtype).values())
    # A real step: the gradients and the optimizer's state, in bytes.
    loss(_logits(model(idx)), targets).backward()
    optimizer.step()
    state = sum(
        t.numel() * t.element_size() for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t)
    )
    grads = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters())
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    assert got.bytes - sum(real.values()) == weights + grads + state


def test_torch_layout_of_a_symbolic_gpt() -> None:
    got = memory(Network.gpt("V", "T", "d", "L", "H", batch="B", optimizer=nn.Adam()), layout="torch", dtype="float32")
    names = {s.name: s for s in got.bytes.free_symbols}
    T, d, L, H, B = (names[n] for n in "TdLHB")
    assert got.by_layer["transformer.h.{i}.attn"] == 12 * B * L * T * d + 4 * B * H * L * T**2 + L * T**2
    assert got.deltas == 0 and got.layout == "torch"
    assert memory(Network.gpt(9, 4, 4, 1, 2), layout="torch", phase="inference").activations == 0


def test_torch_layout_of_a_symbolic_mixtral() -> None:
    network = Network.mixtral("V", "T", "d", "L", "H", n_experts="E", top_k="k", d_ff="f", batch="B")
    got = memory(network, layout="torch", dtype="bfloat16").by_layer
    names = {s.name: s for path in got for s in got[path].free_symbols}
    T, d, L, E, k, f, B = (names[n] for n in "TdLEkfB")
    R = B * T
    # the router: its input (bfloat16), the float32 softmax, topk's int64 indices, the top-k values and their sum
    # (float32); the experts: per (token, expert) pair, its token and top-k position (int64), act_fn's input (the
    # gate and up halves, 2f), the gathered row, SiLU's output, down_proj's input and output, the routing weight
    # (float32), index_add_'s source.
    assert got["model.layers.{i}.mlp.gate"] == sympy.expand(L * R * (2 * d + 4 * E + 8 * k + 4 * k + 4))
    assert got["model.layers.{i}.mlp.experts.act_fn"] == sympy.expand(L * R * k * 2 * f * 2)
    assert got["model.layers.{i}.mlp.experts"] == sympy.expand(L * R * k * (16 + 4 + 2 * (3 * d + 2 * f)))
    assert not any(path.startswith("model.layers.{i}.mlp.") and "proj" in path for path in got)


def test_torch_layout_of_a_symbolic_llama() -> None:
    got = memory(Network.llama("V", "T", "H*h", "L", "H", n_kv_heads="K", d_ff="f", batch="B"), layout="torch")
    names = {s.name: s for s in got.bytes.free_symbols}
    T, L, H, h, B = (names[n] for n in "TLHhB")
    # q after RoPE and k and v repeated to the H heads (float64), the float32 softmax and its float64 copy; RoPE's
    # cos and sin once for all layers.
    assert got.by_layer["model.layers.{i}.self_attn"] == sympy.expand(
        3 * 8 * B * T * H * h * L + (4 + 8) * B * H * T**2 * L + 8 * 2 * T * h
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_korthikantis_block_on_a_gpu() -> None:
    # On a GPU, torch's fused dropout keeps a bool mask and 16-bit LayerNorm float32 statistics: nanoGPT's block
    # with dropout saves Korthikanti et al.'s sbh(34 + 5as/h) bytes exactly, beside LayerNorm's statistics (2 float32
    # a token, for each of the two) and the causal mask (s^2 bools).
    h, a, s, b = 64, 4, 100, 3
    module = _Block(h, a, 256, 0.1).to(device="cuda", dtype=torch.bfloat16).train()
    x = torch.randn(b, s, h, dtype=torch.bfloat16, device="cuda")
    real = saved_by_torch(module, [x])
    assert sum(real.values()) == s * b * h * 34 + 5 * a * s * s * b + 2 * 2 * 4 * s * b + s * s, real
