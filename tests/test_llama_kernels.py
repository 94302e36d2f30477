"""Llama's CPU kernels (`complexa.reference.kinds.llama`) against Hugging Face's own functions in float64: RMSNorm,
silu and the SwiGLU product, RoPE, and attention with grouped kv heads, the causal mask and a sliding window,
forward and backward (torch's autograd), counting and plain. Skipped without torch and transformers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
hf = pytest.importorskip("transformers.models.llama.modeling_llama")

from complexa.reference.kinds import activation, llama  # noqa: E402

CLOSE = {"rtol": 1e-12, "atol": 1e-13}


def rows(x: Any) -> np.ndarray:
    """(B, heads, T, hd) -> the kernels' layout, (B T, heads hd)."""
    b, h, t, hd = x.shape
    return np.ascontiguousarray(x.detach().transpose(1, 2).reshape(b * t, h * hd).numpy())


def additive_mask(t: int, window: int) -> Any:
    i = torch.arange(t)[:, None]
    j = torch.arange(t)[None, :]
    masked = j > i
    if window:
        masked |= j <= i - window
    return torch.zeros(t, t, dtype=torch.float64).masked_fill(masked, torch.finfo(torch.float64).min)[None, None]


class _Float64Torch:
    """torch, with float32 (and float) float64."""

    float32 = torch.float64
    float = torch.float64

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)


@contextmanager
def float64_throughout(*modules: Any) -> Iterator[None]:
    """Hugging Face's modeling modules `modules` computing in float64 where they cast to float32.

    Its Llama, Mistral and Mixtral cast to float32 in RMSNorm, the attention's softmax and the rotary tables, whatever
    the model's dtype: a float64 model is float32-accurate there. Seen through this, ``torch.float32`` and
    ``torch.float`` in those modules are float64; their code is otherwise run as it is.
    """
    saved = [module.torch for module in modules]
    for module in modules:
        module.torch = _Float64Torch()
    try:
        yield
    finally:
        for module, original in zip(modules, saved):
            module.torch = original


@pytest.mark.parametrize("count", [True, False])
@pytest.mark.parametrize(
    ("batch", "heads", "kv_heads", "seq", "head_dim", "causal", "window"),
    [
        (2, 4, 4, 5, 4, True, 0),  # MHA
        (2, 4, 2, 5, 6, True, 0),  # GQA, two query heads a kv head
        (1, 3, 1, 4, 2, True, 0),  # MQA
        (2, 6, 2, 7, 4, True, 3),  # GQA, a sliding window of 3
        (1, 2, 2, 3, 2, False, 0),  # neither
        (1, 1, 1, 1, 2, True, 1),  # one token, a window of one
    ],
)
def test_attention_with_rope_is_hugging_faces(
    batch: int, heads: int, kv_heads: int, seq: int, head_dim: int, causal: bool, window: int, count: bool
) -> None:
    gen = torch.Generator().manual_seed(seq * 31 + heads)
    q = torch.randn(batch, heads, seq, head_dim, dtype=torch.float64, generator=gen, requires_grad=True)
    k = torch.randn(batch, kv_heads, seq, head_dim, dtype=torch.float64, generator=gen, requires_grad=True)
    v = torch.randn(batch, kv_heads, seq, head_dim, dtype=torch.float64, generator=gen, requires_grad=True)
    dy = torch.randn(batch, seq, heads, head_dim, dtype=torch.float64, generator=gen)
    theta = 10_000.0
    cos, sin = llama.rope_tables(seq, head_dim, theta)
    # Hugging Face's tables, in float64 (its own are float32 whatever the model's dtype), are these.
    t_cos, t_sin = torch.tensor(cos)[None].expand(batch, -1, -1), torch.tensor(sin)[None].expand(batch, -1, -1)
    q_rot, k_rot = hf.apply_rotary_pos_emb(q, k, t_cos, t_sin)
    module = SimpleNamespace(num_key_value_groups=heads // kv_heads, training=False)
    mask = additive_mask(seq, window) if causal else None
    with float64_throughout(hf):
        out, weights = hf.eager_attention_forward(module, q_rot, k_rot, v, mask, scaling=head_dim**-0.5)
    out.backward(dy)

    kernels = llama.make(count)
    counts = np.zeros((3, 8), dtype=np.int64)
    qr, kr, vr = np.empty_like(rows(q)), np.empty_like(rows(k)), rows(v)
    kernels.rope_forward(rows(q), cos, sin, heads, qr, counts)
    kernels.rope_forward(rows(k), cos, sin, kv_heads, kr, counts)
    np.testing.assert_allclose(qr, rows(q_rot), **CLOSE)
    np.testing.assert_allclose(kr, rows(k_rot), **CLOSE)
    probs = np.empty((batch, heads, seq, seq))
    y = np.empty((batch * seq, heads * head_dim))
    kernels.forward(qr, kr, vr, heads, kv_heads, head_dim**-0.5, causal, window, probs, y, counts)
    np.testing.assert_allclose(probs, weights.detach().numpy(), **CLOSE)
    np.testing.assert_allclose(y, out.detach().reshape(batch * seq, -1).numpy(), **CLOSE)

    dq, dk, dv = np.empty_like(qr), np.empty_like(kr), np.empty_like(vr)
    dp = np.empty((seq, seq))
    d = np.ascontiguousarray(dy.reshape(batch * seq, -1).numpy())
    kernels.backward(qr, kr, vr, d, probs, heads, kv_heads, head_dim**-0.5, dq, dk, dv, dp, counts)
    kernels.rope_backward(dq, cos, sin, heads, counts)
    kernels.rope_backward(dk, cos, sin, kv_heads, counts)
    np.testing.assert_allclose(dq, rows(q.grad), **CLOSE)
    np.testing.assert_allclose(dk, rows(k.grad), **CLOSE)
    np.testing.assert_allclose(dv, rows(v.grad), **CLOSE)
    assert counts.any() == count


@pytest.mark.parametrize("count", [True, False])
@pytest.mark.parametrize(("n_rows", "n"), [(6, 5), (1, 1), (3, 8)])
def test_rms_norm_is_hugging_faces(n_rows: int, n: int, count: bool) -> None:
    gen = torch.Generator().manual_seed(n)
    x = torch.randn(n_rows, n, dtype=torch.float64, generator=gen, requires_grad=True)
    dy = torch.randn(n_rows, n, dtype=torch.float64, generator=gen)
    norm = hf.LlamaRMSNorm(n, eps=1e-5).double()
    with torch.no_grad():
        norm.weight.copy_(torch.randn(n, dtype=torch.float64, generator=gen))
    with float64_throughout(hf):
        expected = norm(x)
    np.testing.assert_allclose(expected.detach().numpy(), norm(x).detach().numpy(), rtol=1e-6)  # float32's own
    expected.backward(dy)

    kernels = llama.make(count)
    counts = np.zeros((3, 8), dtype=np.int64)
    xhat, rstd, y = np.empty((n_rows, n)), np.empty(n_rows), np.empty((n_rows, n))
    weight = norm.weight.detach().numpy().copy()
    kernels.rms_forward(x.detach().numpy(), weight, 1e-5, xhat, rstd, y, counts)
    np.testing.assert_allclose(y, expected.detach().numpy(), **CLOSE)
    g, dx, g_weight = np.empty(n), np.empty((n_rows, n)), np.empty(n)
    kernels.rms_input_grad(dy.numpy(), weight, xhat, rstd, g, dx, counts)
    kernels.rms_gradients(dy.numpy(), xhat, g_weight, counts)
    np.testing.assert_allclose(dx, x.grad.numpy(), **CLOSE)
    np.testing.assert_allclose(g_weight, norm.weight.grad.numpy(), **CLOSE)
    assert counts.any() == count


@pytest.mark.parametrize("count", [True, False])
def test_swiglu_product_and_silu_are_torchs(count: bool) -> None:
    gen = torch.Generator().manual_seed(5)
    g = torch.randn(4, 7, dtype=torch.float64, generator=gen, requires_grad=True) * 4
    u = torch.randn(4, 7, dtype=torch.float64, generator=gen, requires_grad=True)
    g.retain_grad()
    dh = torch.randn(4, 7, dtype=torch.float64, generator=gen)
    h = torch.nn.functional.silu(g) * u
    h.backward(dh)

    kernels, act = llama.make(count), activation.make(count)
    counts = np.zeros((3, 8), dtype=np.int64)
    z, un = g.detach().numpy().copy(), u.detach().numpy().copy()
    a, out = np.empty_like(z), np.empty_like(z)
    act.forward(z, activation.SILU, a, counts)
    np.testing.assert_allclose(a, torch.nn.functional.silu(g).detach().numpy(), **CLOSE)
    kernels.glu_forward(a, un, out, counts)
    np.testing.assert_allclose(out, h.detach().numpy(), **CLOSE)
    da, du = np.empty_like(z), np.empty_like(z)
    kernels.glu_backward(dh.numpy(), a, un, da, du, counts)
    act.backward(z, a, activation.SILU, da, counts)
    np.testing.assert_allclose(da, g.grad.numpy(), **CLOSE)
    np.testing.assert_allclose(du, u.grad.numpy(), **CLOSE)
    assert counts.any() == count


def test_rope_tables_are_hugging_faces() -> None:
    # Hugging Face computes them in float32: equal to its rounding.
    config = hf.LlamaConfig(hidden_size=16, num_attention_heads=2, max_position_embeddings=9, rope_theta=500.0)
    rotary = hf.LlamaRotaryEmbedding(config)
    x = torch.zeros(1, dtype=torch.float64)
    cos, sin = rotary(x, torch.arange(9)[None])
    ours = llama.rope_tables(9, 8, 500.0)
    np.testing.assert_allclose(ours[0], cos[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(ours[1], sin[0].numpy(), atol=1e-6)
    # and, made in float64, the same to rounding
    with float64_throughout(hf):
        cos, sin = hf.LlamaRotaryEmbedding(config)(x, torch.arange(9)[None])
    np.testing.assert_allclose(ours[0], cos[0].numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(ours[1], sin[0].numpy(), rtol=0, atol=1e-15)
