"""`complexa.from_torch` (issue 13): traced counts of the zoo in `tests/torch_zoo.py` against FlopCounterMode on real
tensors, forward and training, at several sizes; parameters against numel(); the traced counts against `derive`'s
where complexa's own `nn` builds the same network; exact values by hand; and one table of bad inputs."""

from __future__ import annotations

import functools
import re
import sys

import pytest

torch = pytest.importorskip("torch")
import sympy  # noqa: E402
from torch import nn  # noqa: E402

from complexa import ComplexaError, Network, derive, flops, memory, params  # noqa: E402
from complexa import nn as cnn  # noqa: E402
from complexa._poly import symbol  # noqa: E402
from complexa._trace import from_torch  # noqa: E402
from complexa._trace._floors import flat  # noqa: E402
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
    # A 3x3 convolution of stride 2 and padding 1, and the 1x1 of stride 2: floor((H - 1)/2) + 1 = ceiling(H/2)
    # rows, as torch's formula has them and as complexa prints them.
    for n in range(1, 40):
        assert sympy.floor(sympy.Rational(n - 1, 2)) + 1 == sympy.ceiling(sympy.Rational(n, 2))
    # conv1: 16 x 8*9 products per output element; conv2: 16 x 16*9; the shortcut 16 x 8.
    products = B * 16 * sympy.ceiling(H / 2) * sympy.ceiling(W / 2) * (8 * 9 + 16 * 9 + 8)
    assert d.torch_flops["forward"] == 2 * products
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


def test_an_operator_without_a_rule_is_listed_never_counted_as_zero() -> None:
    class Sorts(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(5, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x).sort(dim=1).values

    d = from_torch(Sorts(), (2, 5))
    assert list(d.unsupported) == ["aten.sort.default"]
    assert d.unsupported["aten.sort.default"] == [""]
    with pytest.raises(ComplexaError, match=r"strict: no counting rule for aten\.sort\.default"):
        from_torch(Sorts(), (2, 5), strict=True)
    # An LSTM runs oneDNN's fused layer, counted by its own rule (tests/test_trace_counts.py has it by hand).
    assert from_torch(LSTMModel(), (2, 5, 8)).unsupported == {}


def test_cross_entropy_dropout_and_erf_by_hand() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(4, 6)
            self.dropout = nn.Dropout(0.1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dropout(torch.erf(self.linear(x)))

    def loss(out: torch.Tensor) -> torch.Tensor:  # the targets made inside the loss, as zeros of the right shape
        targets = torch.zeros(out.shape[0], dtype=torch.long)
        return torch.nn.functional.cross_entropy(out, targets, reduction="sum")

    d = from_torch(Net(), ("B", 4), loss=loss)
    assert d.unsupported == {}
    # log_softmax per row of 6: 5 cmp, 6 + 5 + 6 add, 6 exp and the log (an exp); nll_loss summed: B add.
    assert {op: v for op, v in d.by_layer["loss"]["forward"].items() if v != 0} == {
        "add": 18 * B,
        "exp": 7 * B,
        "cmp": 5 * B,
    }
    # nll_loss_backward: B signs; log_softmax's backward per row: 5 + 6 add, 6 exp, 6 mul.
    assert {op: v for op, v in d.by_layer["loss"]["backward"].items() if v != 0} == {
        "add": 12 * B,
        "exp": 6 * B,
        "mul": 6 * B,
    }
    assert d.by_layer[""]["forward"]["exp"] == 6 * B  # erf: one exp-class op per element
    # On the CPU dropout runs as bernoulli_ (free), the mask's div_ by 1 - p, and a mul; backward a mul.
    assert d.by_layer["dropout"]["forward"]["div"] == d.by_layer["dropout"]["forward"]["mul"] == 6 * B
    assert d.by_layer["dropout"]["backward"]["mul"] == 6 * B

    class Fused(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ops.aten.native_dropout(x, 0.1, True)[0]  # the fused kernel CUDA runs

    f = from_torch(nn.Sequential(nn.Linear(3, 3), Fused()), ("B", 3))
    assert f.by_layer["1"]["forward"]["mul"] == f.by_layer["1"]["backward"]["mul"] == 6 * B


class PlainBatch(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(int(x.shape[0]), -1).sum(1)


class Nonzero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.nonzero().float().sum()


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
    # A Linear(19, 4) takes n = 19 only: the message names the user's sizes, not torch's symbols or the hints.
    ((nn.Linear(19, 4), ("B", "n")), {}, r"got \[B, n\] X \[19, 4\]\.; give that size as an int"),
    ((nn.Linear(3, 4), ("B", "n")), {}, r"failed in 'the root module'"),
    ((Nonzero(), ("B", 3)), {}, r"makes a size that depends on its data \(such as nonzero's"),
    ((PlainBatch(), ("B", 3)), {}, r"turns size B into a plain number while it runs .* give B as an int$"),
    ((nn.Linear(3, 4), ("B", 3)), {"loss": lambda out: out}, r"loss returned a tensor of 2 dimensions; it must return"),
    ((nn.Linear(3, 4), ("B", 3)), {"dtype": torch.long}, r"got tensors of float32 and int64"),
    ((LSTMModel(), ("B", "s", 8)), {}, r"failed in 'lstm'"),
]


@pytest.mark.parametrize(("args", "kwargs", "message"), BAD)
def test_bad_inputs(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(ComplexaError, match=message):
        from_torch(*args, **kwargs)


def test_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(
        ComplexaError, match=r"PyTorch is not installed; complexa\.from_torch needs it: pip install 'complexa\[torch\]'"
    ):
        from_torch(object(), ("B", 3))


def test_forward_only_conventions_refuse_training() -> None:
    for convention in ("fvcore", "ptflops"):
        with pytest.raises(ComplexaError, match=rf"{convention} counts the forward pass only"):
            flops(traced("mlp"), convention=convention, phase="training")


def ptflops_macs(module: nn.Module, shape: tuple[int, ...], dtype: object) -> int:
    """What ptflops itself reports for one sample of `shape` (the batch dimension left out, as ptflops takes it)."""
    ptflops = pytest.importorskip("ptflops")
    extra = {}
    if dtype == torch.long:
        extra["input_constructor"] = lambda res: torch.zeros((1, *res), dtype=torch.long)
    macs, _ = ptflops.get_model_complexity_info(
        module, shape, as_strings=False, backend="pytorch", print_per_layer_stat=False, **extra
    )
    return macs


@pytest.mark.parametrize("name", [entry[0] for entry in ZOO])
def test_ptflops_convention_matches_ptflops(name: str) -> None:
    module, (_, _, inputs, dtype, sizes_list) = zoo_module(name), ZOO_BY_NAME[name]
    d = traced(name)
    for sizes in sizes_list:
        one = {**sizes, "B": 1}  # ptflops runs one sample
        shape = tuple(one[e] if isinstance(e, str) else e for e in inputs[0])
        assert d.at(flops(d, convention="ptflops"), **one) == ptflops_macs(module, shape[1:], dtype), one


def test_ptflops_lstm_and_its_quirks() -> None:
    lstm = LSTMModel()
    assert from_torch(lstm, (1, 5, 8)).flops("ptflops") == ptflops_macs(lstm, (5, 8), torch.float32) == 9290

    class Adds(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.add(x, x) + x  # ptflops counts torch.add, not the + operator

    # nn.ReLU is hooked and calls F.relu, which ptflops also patches: its output counts twice. A LayerNorm has no
    # `affine` attribute (it is `elementwise_affine`): one per element, where a BatchNorm counts two.
    module = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LayerNorm(4), Adds())
    d = from_torch(module, ("B", 3), training=False)
    assert d.tool_by_layer["ptflops"] == {"0": 16 * B, "1": 8 * B, "2": 4 * B, "3": 4 * B}
    assert d.at(d.flops("ptflops"), B=1) == ptflops_macs(module, (3,), torch.float32) == 32


def test_fvcore_convention_by_hand() -> None:
    # fvcore's FlopCountAnalysis (not installable here), by its rules: one per multiply-add of addmm, bmm, linear,
    # matmul and convolutions (biases ignored); 5 per element of a norm with affine parameters (4 without), batch
    # norm in eval mode 2 (1); upsampling 1 or 4 per output element; adaptive_avg_pool2d 1 per input element;
    # attention through F.scaled_dot_product_attention and every other operator 0.
    assert flops(traced("mlp"), convention="fvcore") == (192 + 256 + 16 * 5 + 64) * B
    half = sympy.floor((H - 1) / 2) + 1
    # conv1, conv2 and the shortcut's products, and three BatchNorms in training (5 per element of 16 channels).
    expected = B * half * (sympy.floor((W - 1) / 2) + 1) * (16 * 8 * 9 + 16 * 16 * 9 + 16 * 8 + 3 * 16 * 5)
    assert flat(flops(traced("basic_block"), convention="fvcore") - expected) == 0  # the same at every integer size
    assert flops(traced("multihead_attention"), convention="fvcore") == 1024 * B * s + 2 * 4 * B * s**2 * 4
    # GPT per token: two blocks of two LayerNorms and four Linears, ln_f and the head; attention and embeddings 0.
    block = 2 * 32 * 5 + 32 * 96 + 32 * 32 + 2 * 32 * 128
    assert flops(traced("gpt"), convention="fvcore") == B * s * (2 * block + 32 * 5 + 32 * 64)
    stage = sympy.floor(sympy.floor(H / 2) / 2 - sympy.Rational(3, 2)) + 1  # two pools of 2, a 3x3 convolution
    small = 16 * B * stage * stage.xreplace({H: W})
    assert flat(traced("small_cnn").tool_by_layer["fvcore"]["6"] - small) == 0

    class Pool(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.adaptive_avg_pool2d(x, 1)  # a `mean` at dispatch, counted by its call

    module = nn.Sequential(
        nn.BatchNorm2d(2).eval(),
        nn.GroupNorm(1, 2, affine=False),
        nn.InstanceNorm2d(2),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Upsample(scale_factor=2),
        Pool(),
    )
    d = from_torch(module, (3, 2, 5, 7), training=False)  # torch's upsampling fixes symbolic sizes
    n = 3 * 2 * 5 * 7
    assert d.tool_by_layer["fvcore"] == {"0": 2 * n, "1": 4 * n, "2": 4 * n, "3": 4 * 4 * n, "4": 16 * n, "5": 16 * n}


def test_gpt_symbolic_trace_is_quick_enough_to_test() -> None:
    # Speed is a benchmark's business (benchmarks/bench_trace.py); this only checks the trace is whole.
    assert traced("gpt").unsupported == {} and GPT().block_size == 64


MODEL_FILE = """
from torch import nn

def build():
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU())

def frozen():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 5 * 5, 2))
    net[0].weight.requires_grad_(False)
    return net
"""


def _torch_command(tmp_path: object, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    from complexa.cli import main

    path = tmp_path / "model.py"  # type: ignore[operator]
    path.write_text(MODEL_FILE)
    factory, *rest = argv
    assert main(["torch", f"{path}:{factory}", *rest]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_command_line(tmp_path: object, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    out = _torch_command(tmp_path, capsys, "build", "--input", "B,3,H,W", "--format", fmt)
    # A 3x3 convolution of stride 2 without padding: floor((H - 3)/2) + 1 = ceiling(H/2) - 1 rows, 108 products each.
    mul = "108*B*(ceiling(H/2) - 1)*(ceiling(W/2) - 1)"
    if fmt == "json":
        doc = json.loads(out)
        assert doc["kind"] == "torch" and doc["parameters"] == 112
        assert doc["by_layer"]["0"]["counts"]["forward"]["mul"] == mul
        assert doc["modules"]["0"] == {
            "type": "Conv2d",
            "outputs": [["B", 4, "ceiling(H/2) - 1", "ceiling(W/2) - 1"]],
            "parameters": {"trainable": 112, "frozen": 0, "buffers": 0},
        }
    elif fmt == "latex":
        assert "\\begin{array}" in out and "\\left\\lceil" in out and "\\text{Conv2d}" in out
    else:
        assert mul in out and "loss" in out and "O(B*H*W)" in out and "(B, oo)" not in out
        assert "time_gradient_descent" in out and "training" in out


def test_command_line_table_at_integer_sizes(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    out = _torch_command(tmp_path, capsys, "build", "--input", "2,3,224,224")
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("module"))
    conv = next(line for line in lines if line.startswith("0 "))
    # Its type beside its path, its output shape and parameters (4 x 3 x 3 x 3 weights and 4 biases).
    assert conv.split()[:2] == ["0", "Conv2d"] and "[2, 4, 111, 111]" in conv
    # 108 products per output element, 2 x 4 x 111 x 111 / 4 positions: right-aligned under "mul", with separators
    # and SI units past a million.
    products = f"{108 * 2 * 111 * 111:,} (2.66 M)"
    assert products == "2,661,336 (2.66 M)"
    assert conv.index(products) + len(products) == header.index(" mul") + len(" mul")
    params = header.index("params") + len("params")
    assert conv[params - 3 : params] == "112"
    total = next(line for line in lines if line.startswith("total"))
    assert "Sequential" in total and "[2, 4, 111, 111]" in total
    # Each row's share of every op of the step: the ReLU's forward is 2 x 4 x 111 x 111 activations.
    relu = next(line for line in lines if line.startswith("1 "))
    step = next(line for line in lines if line.startswith("time_gradient_descent"))
    whole = int(step.split()[1].replace(",", ""))
    assert relu.endswith(f"{100 * 2 * 4 * 111 * 111 / whole:.1f}%")
    # Every row's share, backward rows too: together the whole step, to rounding.
    body = lines[lines.index(header) + 1 : lines.index(total)]
    shares = [float(line.rsplit(None, 1)[1].removesuffix("%")) for line in body]
    assert len(shares) == 5 and abs(sum(shares) - 100) <= 0.05 * len(shares)


def test_command_line_frozen_parameters_and_buffers(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    doc = json.loads(_torch_command(tmp_path, capsys, "frozen", "--input", "B,3,7,7", "--format", "json"))
    params = {path: m["parameters"] for path, m in doc["modules"].items()}
    # The convolution's 108 weights frozen, its 4 biases trained; BatchNorm: 8 parameters, running mean and variance
    # (4 each) and num_batches_tracked (1) as buffers; the Linear's 100 x 2 + 2.
    assert params["0"] == {"trainable": 4, "frozen": 108, "buffers": 0}
    assert params["1"] == {"trainable": 8, "frozen": 0, "buffers": 9}
    assert params["3"] == {"trainable": 202, "frozen": 0, "buffers": 0}
    assert doc["parameters"] == 4 + 108 + 8 + 202
    text = _torch_command(tmp_path, capsys, "frozen", "--input", "B,3,7,7")
    header = next(line for line in text.splitlines() if line.startswith("module"))
    assert header.split()[4:7] == ["params", "frozen", "buffers"]
    cells = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]  # columns are 2 or more spaces apart
    rows = {row[0]: row for row in cells if row[0] in ("0", "1")}
    assert rows["0"][4:7] == ["4", "108", "0"] and rows["1"][4:7] == ["8", "0", "9"]  # each module's own
    assert [line.split()[-1] for line in text.splitlines() if line.split()[:1] in (["frozen"], ["buffers"])] == [
        "108",
        "9",
    ]


def test_command_line_shares_are_exact_and_sum_to_one(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from complexa._parse import parse

    doc = json.loads(_torch_command(tmp_path, capsys, "frozen", "--input", "2,3,7,7", "--format", "json"))
    whole = doc["quantities"]["time_gradient_descent"]["value"]
    for path, row in doc["by_layer"].items():
        for phase, value in row["share"].items():
            ops = sum(row["counts"][phase].values())
            assert parse(str(value)) == sympy.Rational(ops, whole), (path, phase)
    assert sum(parse(str(v)) for row in doc["by_layer"].values() for v in row["share"].values()) == 1
    # With symbols, the limit as every size grows together: at large equal sizes the ratio is near it.
    d = from_torch(zoo_module("small_cnn"), ("B", 3, "H", "W"), training=False)
    whole = d.quantities["time_forward"]
    for path, row in d.by_layer.items():
        limit = d.shares[path]["forward"]
        at = {"B": 10**6, "H": 10**6, "W": 10**6}
        ratio = sympy.Rational(d.at(sum(row["forward"].values()), **at), d.at(whole, **at))
        assert abs(ratio - limit) < sympy.Rational(1, 1000), path


def test_command_line_no_training(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from test_cli import SCHEMAS, validate

    text = _torch_command(tmp_path, capsys, "build", "--input", "B,3,H,W", "--no-training")
    for word in ("backward", "training", "time_gradient_descent", "loss", "act_grad"):
        assert word not in text.replace("forward only", ""), word
    for fmt in ("markdown", "latex"):
        out = _torch_command(tmp_path, capsys, "build", "--input", "B,3,H,W", "--no-training", "--format", fmt)
        assert "backward" not in out and "gradient" not in out and "loss" not in out
    doc = json.loads(
        _torch_command(tmp_path, capsys, "build", "--input", "B,3,H,W", "--no-training", "--format", "json")
    )
    validate(doc, SCHEMAS["torch.json"], "torch.json")
    assert list(doc["counts"]) == ["forward"] and "time_gradient_descent" not in doc["quantities"]
    assert "loss" not in doc["by_layer"] and doc["flops"]["torch"] == {
        "forward": "216*B*(ceiling(H/2) - 1)*(ceiling(W/2) - 1)"
    }


def test_command_line_markdown_has_every_table(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    out = _torch_command(tmp_path, capsys, "build", "--input", "2,3,224,224", "--format", "markdown")
    lines = out.splitlines()
    assert lines[0].startswith("**Sequential traced at (2, 3, 224, 224)")
    header = next(line for line in lines if line.startswith("| module"))
    rule = lines[lines.index(header) + 1]
    assert rule.split(" | ")[4] == "---:"  # params: a number column, right-aligned
    assert any(line.startswith("| `total` | `Sequential` | `forward` |") for line in lines)
    assert "| time_forward |" in out.replace("`", "") and "| ptflops (MACs) |" in out and "| trainable | 112 |" in out
    assert "| 2,661,336 (2.66 M) |" in out


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
