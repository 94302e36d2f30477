"""`complexa.from_torch` (issue 13): traced counts of the zoo in `tests/torch_zoo.py` against FlopCounterMode on real
tensors, forward and training, at several sizes; parameters against numel(); the traced counts against `derive`'s
where complexa's own `nn` builds the same network; exact values by hand; and one table of bad inputs."""

from __future__ import annotations

import functools
import sys

import pytest

torch = pytest.importorskip("torch")
import sympy  # noqa: E402
from torch import nn  # noqa: E402

from complexa import ComplexaError, Network, derive, flops, memory, params  # noqa: E402
from complexa import nn as cnn  # noqa: E402
from complexa._poly import symbol  # noqa: E402
from complexa._trace import from_torch  # noqa: E402
from complexa.nn._torch import to_torch  # noqa: E402
from complexa.testing import (  # noqa: E402
    assert_flops_match,
    flop_counter_total,
    real_inputs,
    uncounted_by_flop_counter,
)

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_zoo import GPT, ZOO, LSTMModel  # noqa: E402

B, s, H, W = (symbol(n) for n in "B s H W".split())
ZOO_BY_NAME = {entry[0]: entry for entry in ZOO}


@functools.cache
def zoo_module(name: str) -> nn.Module:
    torch.manual_seed(0)
    return ZOO_BY_NAME[name][1]()


@functools.cache
def traced(name: str):
    """The zoo model traced for training, once: its forward phase is the forward pass's trace."""
    _, _, inputs, dtype, _ = ZOO_BY_NAME[name]
    return from_torch(zoo_module(name), *inputs, dtype=dtype)


@pytest.mark.parametrize("name", [entry[0] for entry in ZOO])
@pytest.mark.parametrize("training", [False, True])
def test_zoo_matches_flop_counter(name: str, training: bool) -> None:
    module, (_, _, _, dtype, sizes_list) = zoo_module(name), ZOO_BY_NAME[name]
    d = traced(name)
    assert d.unsupported == {}
    for sizes in sizes_list:
        expected = d.at(d.flops("torch", "training" if training else "forward"), **sizes)
        gap = uncounted_by_flop_counter(d, sizes, training=training)
        measured = flop_counter_total(module, real_inputs(d, sizes, [dtype]), training=training)
        assert expected - gap == measured, (sizes, expected, gap, measured)
        if name != "gpt":
            assert gap == 0


@pytest.mark.parametrize("name", [entry[0] for entry in ZOO])
def test_parameters_are_numel(name: str) -> None:
    module = zoo_module(name)
    assert params(traced(name)) == sum(p.numel() for p in module.parameters())


def test_mlp_exact_by_hand() -> None:
    d = traced("mlp")
    # Linear(12, 16): 16*12 mul, 16*11 + 16 add per sample; Linear(16, 16): 256 mul, 256 add; LayerNorm(16):
    # 3*16 mul, 4*16 - 1 add; Linear(16, 4): 64 mul, 64 add; the loss: B*4 - 1 add.
    assert d.counts["forward"]["mul"] == (192 + 256 + 48 + 64) * B
    assert d.counts["forward"]["add"] == (192 + 256 + 63 + 64) * B + 4 * B - 1
    assert d.counts["forward"]["act"] == 32 * B
    assert d.by_layer["4"]["forward"] == {
        "mul": 48 * B,
        "add": 63 * B,
        "div": 3 * B,
        "sqrt": B,
        "act": 0,
        "act_grad": 0,
    }
    assert d.by_layer["loss"]["forward"]["add"] == 4 * B - 1
    assert d.torch_flops == {"forward": 2 * B * (192 + 256 + 64), "backward": 2 * B * (192 + 2 * 256 + 2 * 64)}
    assert d.counts["update"] == dict.fromkeys(d.ops, 0)
    assert flops(d, convention="torch") == 1024 * B
    assert d.big_o()["time_gradient_descent"] == sympy.O(B, (B, sympy.oo))


def test_convolution_output_sizes_are_floor_divisions() -> None:
    d = traced("basic_block")
    half = sympy.floor((H - 1) / 2) + 1  # a 3x3 convolution of stride 2 and padding 1, and the 1x1 of stride 2
    # conv1: 16 x 8*9 products per output element; conv2: 16 x 16*9; the shortcut 16 x 8.
    products = B * 16 * half * (sympy.floor((W - 1) / 2) + 1) * (8 * 9 + 16 * 9 + 8)
    assert sympy.expand(d.torch_flops["forward"] - 2 * products) == 0
    assert d.evaluate(B=2, H=7, W=10).counts["forward"]["mul"] == int(d.at(d.counts["forward"]["mul"], B=2, H=7, W=10))
    assert d.big_o()["n_mul"] == sympy.O(B * H * W, (B, sympy.oo), (H, sympy.oo), (W, sympy.oo))


def test_gpt_attention_is_counted_by_hand_where_flop_counter_counts_zero() -> None:
    d = traced("gpt")
    sdpa = {op: v for op, v in d.torch_by_op.items() if "scaled_dot_product" in op}
    assert set(sdpa) == {
        "aten._scaled_dot_product_flash_attention_for_cpu.default",
        "aten._scaled_dot_product_flash_attention_for_cpu_backward.default",
    }
    # Two layers, 4 heads of 8: q k^T and p v, 2 B h s^2 d each, forward; five such products backward.
    forward = sdpa["aten._scaled_dot_product_flash_attention_for_cpu.default"]["forward"]
    backward = sdpa["aten._scaled_dot_product_flash_attention_for_cpu_backward.default"]["backward"]
    assert forward == 2 * (2 * 2 * B * 4 * s**2 * 8)
    assert backward == 2 * (5 * 2 * B * 4 * s**2 * 8)
    assert uncounted_by_flop_counter(d, {"B": 2, "s": 8}, training=True) == int((forward + backward).subs({B: 2, s: 8}))


def test_gpt_by_layer_names_module_paths() -> None:
    d = traced("gpt")
    assert {"transformer.wte", "transformer.h.0.attn", "transformer.h.1.mlp.c_fc", "lm_head", "loss"} <= set(d.by_layer)
    # Backward operators count for the module they differentiate: the position embedding's gradient is wpe's, of
    # its s x 32 output (the sum over the batch it was broadcast to is the root module's addition's).
    assert d.by_layer["transformer.wpe"]["backward"]["add"] == s * 32
    # wte's weight is lm_head's: its row also holds the sum of the two gradients of the tied weight, 64 x 32.
    assert d.by_layer["transformer.wte"]["backward"]["add"] == B * s * 32 + 64 * 32
    rows = d.by_layer.values()
    assert all(sum(r[p][op] for r in rows) == d.counts[p][op] for p in d.counts for op in d.ops)


def test_same_network_as_derive_agrees() -> None:
    net = Network(
        [cnn.Linear(6, 8), cnn.ReLU(), cnn.LayerNorm(8), cnn.Linear(8, 8), cnn.GELU(), cnn.Linear(8, 3)],
        batch="B",
    )
    module = to_torch(net)  # float64, as complexa builds it
    d = from_torch(module, ("B", 6), dtype=torch.float64)
    derived = derive(net).by_layer
    for path in ("0", "1", "2", "3", "4", "5"):
        for phase in ("forward", "backward"):
            for op, value in d.by_layer[path][phase].items():
                # derive's first Linear computes no input gradient either; everything else is the same ops.
                assert sympy.expand(value - derived[path][phase].get(op, 0)) == 0, (path, phase, op)
    assert params(d) == params(net)


def test_multihead_attention_softmax_rows() -> None:
    d = traced("multihead_attention")
    # 4 heads, scores s x s per sample: the softmax is s^2 exp per head.
    assert d.counts["forward"]["exp"] == 4 * B * s**2
    assert d.counts["backward"]["exp"] == 0


def test_memory_and_json() -> None:
    d = traced("mlp")
    m = memory(d)
    assert m.parameters == 12 * 16 + 16 + 16 * 16 + 16 + 2 * 16 + 16 * 4 + 4
    assert m.gradients == m.parameters
    assert m.activations == d.saved and d.saved.free_symbols == {B}
    doc = d.to_json()
    assert doc["kind"] == "torch" and doc["counts"]["forward"]["act"]["value"] == "32*B"
    assert doc["quantities"]["n_mul"]["big_o"] == "B"
    assert "\\begin{aligned}" in d.latex() and "forward" in str(d)


def test_eval_mode_and_no_training() -> None:
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    d = from_torch(module, ("B", 3, "H", "W"), training=False)
    assert d.counts["backward"] == dict.fromkeys(d.ops, 0) and d.saved == 0
    assert not module.training
    with pytest.raises(ComplexaError, match="training=False"):
        d.flops("torch", "training")


def test_assert_flops_match_hypothesis() -> None:
    assert_flops_match(zoo_module("depthwise_separable"), ("B", 8, "H", "W"), max_size=5, max_examples=3)
    assert_flops_match(nn.Sequential(nn.Conv1d(2, 3, 3, stride=2), nn.ReLU()), ("B", 2, "L"), min_size=3)


def test_lstm_is_listed_as_unsupported_with_concrete_sizes() -> None:
    d = from_torch(LSTMModel(), (2, 5, 8))
    assert list(d.unsupported) == ["aten.mkldnn_rnn_layer.default", "aten.mkldnn_rnn_layer_backward.default"]
    assert d.unsupported["aten.mkldnn_rnn_layer.default"] == ["lstm"]
    with pytest.raises(ComplexaError, match=r"strict: no counting rule for aten\.mkldnn_rnn_layer"):
        from_torch(LSTMModel(), (2, 5, 8), strict=True)


BAD = [
    ((nn.Linear(3, 4), ("B", 0)), {}, r"inputs\[0\]\[1\] = 0: must be a positive integer"),
    ((nn.Linear(3, 4), ("B", "2*h")), {}, r"an input size must be a positive integer or one name"),
    ((nn.Linear(3, 4), ("B", 3.0)), {}, r"not a float"),
    ((nn.Linear(3, 4), "B"), {}, r"an input is a shape"),
    ((nn.Linear(3, 4),), {}, r"give 1 to 16 shapes"),
    (("not a module", ("B", 3)), {}, r"must be a torch.nn.Module"),
    ((nn.Linear(3, 4), ("B", 3)), {"training": "yes"}, r"training = 'yes': must be True or False"),
    ((nn.Linear(3, 4), ("B", 3)), {"loss": 3}, r"loss = 3"),
    ((nn.Linear(3, 4), ("B", 3)), {"dtype": "float"}, r"dtype = 'float'"),
    ((nn.Linear(3, 4), ("B", 5)), {}, r"tracing Linear with symbolic sizes failed"),
    # n's hint is 19 (B's 17): a Linear(19, 4) fixes n to 19, which has no formula; Linear(3, 4) cannot take it.
    ((nn.Linear(19, 4), ("B", "n")), {}, r"size n was fixed to 19 while tracing"),
    ((nn.Linear(3, 4), ("B", "n")), {}, r"failed in 'the root module'"),
    ((LSTMModel(), ("B", "s", 8)), {}, r"failed in 'lstm'"),
    ((LSTMModel(), (2, 5, 8)), {"strict": True}, r"strict: no counting rule for aten\.mkldnn_rnn_layer\.default"),
]


@pytest.mark.parametrize(("args", "kwargs", "message"), BAD)
def test_bad_inputs(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(ComplexaError, match=message):
        from_torch(*args, **kwargs)


def test_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(
        ComplexaError, match=r"PyTorch is not installed; complexa\.from_torch needs it: pip install torch"
    ):
        from_torch(object(), ("B", 3))


def test_flops_rejects_other_conventions() -> None:
    with pytest.raises(ComplexaError, match="fvcore"):
        flops(traced("mlp"), convention="fvcore")


def test_gpt_symbolic_trace_is_quick_enough_to_test() -> None:
    # Speed is a benchmark's business (benchmarks/bench_trace.py); this only checks the trace is whole.
    assert traced("gpt").unsupported == {} and GPT().block_size == 64


MODEL_FILE = """
from torch import nn

def build():
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU())
"""


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_command_line(tmp_path: object, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from complexa.cli import main

    path = tmp_path / "model.py"  # type: ignore[operator]
    path.write_text(MODEL_FILE)
    assert main(["torch", f"{path}:build", "--input", "B,3,H,W", "--format", fmt]) == 0
    out = capsys.readouterr().out
    size = "(floor(H/2 - 3/2) + 1)*(floor(W/2 - 3/2) + 1)"
    if fmt == "json":
        doc = json.loads(out)
        assert doc["kind"] == "torch" and doc["parameters"] == 112
        assert doc["by_layer"]["0"]["counts"]["forward"]["mul"] == f"108*B*{size}"
    elif fmt == "latex":
        assert "\\begin{tabular}" in out and "\\left\\lfloor" in out
    else:
        assert f"108*B*{size}" in out and "loss" in out


def test_command_line_errors(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from complexa.cli import main

    path = tmp_path / "model.py"  # type: ignore[operator]
    path.write_text(MODEL_FILE)
    assert main(["torch", f"{path}:nope", "--input", "B,3,H,W"]) == 2
    assert "has no function 'nope'" in capsys.readouterr().err
    assert main(["torch", f"{path}:build", "--input", "B,3,H,-1"]) == 2
    assert "inputs[0][3]" in capsys.readouterr().err
    assert main(["torch", "model.py", "--input", "B"]) == 2
    assert "FILE.py:FACTORY" in capsys.readouterr().err
