"""The Llama-style kinds' own rows measured: tests/naive_llama.py does every scalar operation of RMSNorm, the attention
(RoPE, GQA, the window), the router and the experts one at a time and counts it; its counts equal `derive`'s rows,
phase by phase and op by op, and its numbers equal transformers' pieces (rotate-half RoPE, repeat_kv, the sliding
window mask, Mixtral's sparse MoE block with eager experts) under torch's autograd. Skipped without torch and
transformers."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
import naive_llama as naive  # noqa: E402
from transformers.masking_utils import sliding_window_causal_mask_function  # noqa: E402
from transformers.models.llama.modeling_llama import (  # noqa: E402
    LlamaRMSNorm,
    LlamaRotaryEmbedding,
    apply_rotary_pos_emb,
    repeat_kv,
)

from complexa import Network, derive, nn  # noqa: E402

RNG = np.random.default_rng(22)


def counted(row: dict[str, dict[str, object]], phase: str) -> dict[str, int]:
    return {op: int(v) for op, v in row[phase].items() if v != 0}  # type: ignore[call-overload]


def close(a: object, b: object, tol: float = 1e-6) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


def test_rmsnorm_is_measured_and_is_llamas() -> None:
    R, n, eps = 4, 5, 1e-6
    x, w, dy = RNG.normal(size=(R, n)), RNG.normal(size=n), RNG.normal(size=(R, n))
    fo, bo = naive.Ops(), naive.Ops()
    y, dx, dw = naive.rmsnorm(fo, bo, x, w, eps, dy, input_grad=True)
    row = derive(Network([nn.Linear(n, n), nn.RMSNorm(n, eps)], batch=R)).by_layer["1"]
    assert dict(fo.counts) == counted(row, "forward") and dict(bo.counts) == counted(row, "backward")
    norm = LlamaRMSNorm(n, eps=eps).double()
    with torch.no_grad():
        norm.weight.copy_(torch.tensor(w))
    xt = torch.tensor(x, requires_grad=True)
    out = norm(xt)  # transformers normalises in float32
    out.backward(torch.tensor(dy))
    close(y, out.detach(), 1e-5)
    close(dx, xt.grad, 1e-5)
    close(dw, norm.weight.grad, 1e-5)


@pytest.mark.parametrize(
    ("heads", "kv_heads", "window", "causal"),
    [(4, 2, None, True), (4, 2, 2, True), (2, 1, None, False), (3, 3, 3, True)],
    ids=["gqa", "gqa-window", "mqa-unmasked", "mha-window"],
)
def test_attention_is_measured_and_is_transformers(heads: int, kv_heads: int, window: int | None, causal: bool) -> None:
    B, T, hd, theta = 2, 4, 4, 500.0
    d = heads * hd
    q, dy = RNG.normal(size=(B, T, heads, hd)), RNG.normal(size=(B, T, heads, hd))
    k, v = RNG.normal(size=(B, T, kv_heads, hd)), RNG.normal(size=(B, T, kv_heads, hd))
    fo, bo = naive.Ops(), naive.Ops()
    results = [naive.attention(fo, bo, q[b], k[b], v[b], dy[b], theta, causal, window) for b in range(B)]
    # The row also joins the three projections' input gradients, dx = dx_q + dx_k + dx_v, when the layer computes
    # its input's gradient (here: a Linear comes before it). Done here on stand-in gradients, one add at a time.
    parts = RNG.normal(size=(3, B * T, d))
    joined = [[bo.add(bo.add(parts[0, r, c], parts[1, r, c]), parts[2, r, c]) for c in range(d)] for r in range(B * T)]
    close(joined, parts.sum(axis=0), 1e-12)
    layer = nn.Attention(d, heads, T, n_kv_heads=kv_heads, window=window, rope_theta=theta, causal=causal)
    row = derive(Network([nn.Linear(d, d), layer], batch=B)).by_layer["1"]
    assert dict(fo.counts) == counted(row, "forward")
    assert dict(bo.counts) == counted(row, "backward")
    # transformers' pieces, in float64: its cos and sin (computed in float32), rotate-half, repeat_kv, the window.
    config = transformers.LlamaConfig(hidden_size=d, num_attention_heads=heads, rope_theta=theta)
    positions = torch.arange(T)[None]
    cos, sin = LlamaRotaryEmbedding(config)(torch.zeros(1, dtype=torch.float64), positions)
    table = naive.rope_table(T, hd, theta)
    close(table[0], cos[0], 1e-6)
    close(table[1], sin[0], 1e-6)
    cos, sin = torch.tensor(table[0])[None], torch.tensor(table[1])[None]
    qt, kt, vt = (torch.tensor(a).transpose(1, 2).requires_grad_() for a in (q, k, v))
    qr, kr = apply_rotary_pos_emb(qt, kt, cos, sin)
    scores = qr @ repeat_kv(kr, heads // kv_heads).transpose(2, 3) * hd**-0.5
    if causal:
        see = sliding_window_causal_mask_function(window) if window else (lambda b, h, i, j: j <= i)
        mask = torch.tensor([[0.0 if see(0, 0, torch.tensor(i), torch.tensor(j)) else -math.inf for j in range(T)]
                             for i in range(T)])  # fmt: skip
        scores = scores + mask
    out = torch.softmax(scores, dim=-1) @ repeat_kv(vt, heads // kv_heads)
    out.backward(torch.tensor(dy).transpose(1, 2))
    for b, (y, dq, dk, dv) in enumerate(results):
        close(y, out[b].detach().transpose(0, 1))
        close(dq, qt.grad[b].transpose(0, 1))
        close(dk, kt.grad[b].transpose(0, 1))
        close(dv, vt.grad[b].transpose(0, 1))


@pytest.mark.parametrize(("n_experts", "top_k"), [(4, 2), (3, 1), (3, 3)])
def test_moe_is_measured_and_is_mixtrals(n_experts: int, top_k: int) -> None:
    R, d, f = 5, 3, 2
    x, dy = RNG.normal(size=(R, d)), RNG.normal(size=(R, d))
    W = RNG.normal(size=(n_experts, d))
    gate_up, down = RNG.normal(size=(n_experts, 2 * f, d)), RNG.normal(size=(n_experts, d, f))
    router_f, router_b, experts_f, experts_b, join = naive.Ops(), naive.Ops(), naive.Ops(), naive.Ops(), naive.Ops()
    chosen, weights, saved = naive.router(router_f, x, W, top_k)
    y, dx_experts, dw, dgu, ddown = naive.experts(experts_f, experts_b, x, gate_up, down, chosen, weights, dy, True)
    dx_router, dW = naive.router_backward(router_b, x, W, chosen, weights, saved, dw, True)
    dx = np.array([[join.add(a, b) for a, b in zip(ra, rb)] for ra, rb in zip(dx_router, dx_experts)])
    rows = derive(Network([nn.Linear(d, d), nn.MoE(d, f, n_experts, top_k)], batch=R)).by_layer
    assert dict(router_f.counts) == counted(rows["1.gate"], "forward")
    assert dict(router_b.counts) == counted(rows["1.gate"], "backward")
    assert dict(experts_f.counts) == counted(rows["1.experts"], "forward")
    assert dict(experts_b.counts) == counted(rows["1.experts"], "backward")
    assert dict(join.counts) == counted(rows["1"], "backward") and counted(rows["1"], "forward") == {}
    # transformers' own block: router in float32 as it computes it, experts eager.
    from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock

    config = transformers.MixtralConfig(
        hidden_size=d, intermediate_size=f, num_local_experts=n_experts, num_experts_per_tok=top_k
    )
    config._experts_implementation = "eager"
    block = MixtralSparseMoeBlock(config).double()
    with torch.no_grad():
        block.gate.weight.copy_(torch.tensor(W))
        block.experts.gate_up_proj.copy_(torch.tensor(gate_up))
        block.experts.down_proj.copy_(torch.tensor(down))
    xt = torch.tensor(x[None], requires_grad=True)
    out = block(xt)
    out.backward(torch.tensor(dy[None]))
    close(y, out[0].detach(), 1e-5)
    close(dx, xt.grad[0], 1e-5)
    close(dW, block.gate.weight.grad, 1e-5)
    close(dgu, block.experts.gate_up_proj.grad, 1e-5)
    close(ddown, block.experts.down_proj.grad, 1e-5)
