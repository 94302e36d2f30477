"""`Network.gpt` against PyTorch: the numerics equal autograd and torch.optim's, and flops(convention="torch") equals
FlopCounterMode on `to_torch()`, over small random GPTs. Skipped cleanly without torch."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
from test_torch_layers import assert_matches_torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from complexa import Network, flops, measure, nn, params  # noqa: E402
from complexa.strategies import gpts  # noqa: E402


# --- against PyTorch -----------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(gpts(max_vocab=12, max_seq=5), st.integers(1, 3))
def test_the_numerics_are_pytorchs(network: Network, iterations: int) -> None:
    assert_matches_torch(measure(network, iterations=iterations))


def test_adam_over_several_steps_and_a_plain_stack_match_pytorch() -> None:
    # Adam's eps of 1e-3: with 1e-8 a gradient near zero turns its rounding error (1e-16 of its terms) into a step
    # of lr dg / (4 eps), beyond 1e-10 of two right computations (tests/test_torch_layers.py says more).
    adam = nn.Adam(lr=1e-2, eps=1e-3)
    assert_matches_torch(measure(Network.gpt(11, 4, 8, 2, 2, batch=2, optimizer=adam), iterations=4))
    layers = [nn.Embedding(7, 4), nn.PositionEmbedding(3, 4), nn.Repeat(nn.Block(4, 2, 3, d_ff=6), 2)]
    stack = Network([*layers, nn.LayerNorm(4), nn.Linear(4, 7)], batch=2, loss="cross_entropy")
    assert_matches_torch(measure(stack, iterations=2))


@settings(max_examples=25, deadline=None)
@given(gpts(max_vocab=12, max_seq=5))
def test_torch_flops_are_flop_counter_modes(network: Network) -> None:
    module = network.to_torch()
    assert sum(p.numel() for p in module.parameters()) == params(network)
    config = network.gpt_config
    idx = torch.randint(0, int(config["vocab"]), (int(network.batch), int(network.seq)))
    with FlopCounterMode(display=False) as counter:
        module(idx)
    assert counter.get_total_flops() == flops(network, convention="torch")
    with FlopCounterMode(display=False) as counter:
        logits = module(idx)
        torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), idx.reshape(-1), reduction="sum"
        ).backward()
    assert counter.get_total_flops() == flops(network, convention="torch", phase="training")


def test_the_traced_gpt_is_derives_but_where_aten_counts_otherwise() -> None:
    # complexa.from_torch on to_torch()'s module (with a loss of the summed logits) against derive: every layer's row
    # agrees in every op both count, except where ATen's decomposition does the work elsewhere or otherwise
    # (docs/transformers.md lists them). R = B T rows.
    from complexa import derive, from_torch

    V, T, d, H, B = 13, 4, 8, 2, 2
    R = B * T
    network = Network.gpt(V, T, d, 2, H, batch=B)
    traced = from_torch(network.to_torch(), (B, T), dtype=torch.long, loss=lambda out: out.sum()).by_layer
    derived = derive(network).by_layer
    differ = {}
    for path in sorted(set(traced) & set(derived) - {"loss"}):
        for phase in ("forward", "backward"):
            for op, value in derived[path][phase].items():
                got = traced[path][phase].get(op, 0)
                if got != value:
                    key = (re.sub(r"^transformer\.h\.[0-9]+", "transformer.h.0", path), phase, op)
                    assert differ.setdefault(key, got - value) == got - value  # both blocks alike
                    differ[key] = got - value
    assert differ == {
        # autograd adds the tied head's and the embedding's gradients (V d); complexa scatter-adds into the head's
        ("transformer.wte", "backward", "add"): V * d,
        # the token and position embeddings' sum is GPT.forward's, the root module's, not wpe's
        ("transformer.wpe", "forward", "add"): -R * d,
        # autograd adds each residual's two gradients where the branch's LayerNorm hands its input's back
        ("transformer.h.0.ln_1", "backward", "add"): R * d,
        ("transformer.h.0.ln_2", "backward", "add"): R * d,
        ("transformer.h.0", "backward", "add"): -2 * R * d,
        # the mask is bias == 0 on the T x T buffer (T^2 cmp per layer, in the root's row), not one cmp per score;
        # the softmax's maximum is T cmp per row where complexa counts T - 1
        ("transformer.h.0.attn", "forward", "cmp"): -R * H * (T - 1),
    }
