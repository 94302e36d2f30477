"""from_torch returns a formula only where it holds (issue 19): the guards torch records while tracing become the
formula's domain (`TracedDerivation.assumptions`), widened by tracing again, and `evaluate` refuses sizes outside
it; inputs as example tensors and dtypes; the default loss over nested outputs; messages in the user's names."""

from __future__ import annotations

import dataclasses
import re

import pytest

torch = pytest.importorskip("torch")
import sympy  # noqa: E402
from torch import nn  # noqa: E402

from complexa import ComplexaError  # noqa: E402
from complexa._poly import symbol  # noqa: E402
from complexa._trace import _domain, from_torch  # noqa: E402
from complexa.testing import flop_counter_total  # noqa: E402

B, H, W, n = (symbol(name) for name in "B H W n".split())


def fcm(module: nn.Module, *shape: int, training: bool = False) -> int:
    return flop_counter_total(module, [torch.randn(*shape)], training=training)


def test_a_stage_of_one_is_a_bound_not_a_wrong_formula() -> None:
    # Traced at small sizes, the last stage of a 32x downsampling is 1 x 1, torch fixes it to 1 in every later shape,
    # and the formula was 216 FLOPs at 64 x 64 (the truth is 432) without a word.
    module = nn.Sequential(nn.Conv2d(1, 2, 3, stride=32, padding=1), nn.BatchNorm2d(2), nn.Conv2d(2, 2, 3, padding=1))
    module.eval()
    d = from_torch(module, ("B", 1, "H", "W"), training=False)
    assert d.assumptions == (sympy.Ge(H, 33, evaluate=False), sympy.Ge(W, 33, evaluate=False))
    assert d.at(d.torch_flops["forward"], B=1, H=64, W=64) == fcm(module, 1, 1, 64, 64) == 432
    assert d.at(d.torch_flops["forward"], B=3, H=97, W=33) == fcm(module, 3, 1, 97, 33)
    with pytest.raises(ComplexaError, match=r"evaluate: H=16 is outside where this formula holds \(H >= 33, W >= 33\)"):
        d.evaluate(B=1, H=16, W=64)
    assert "for H >= 33, W >= 33" in str(d)
    assert d.to_json()["assumptions"] == ["H >= 33", "W >= 33"]
    assert r"\text{for } H \geq 33,\ W \geq 33" in d.latex()
    # Below the bound, the sizes as ints give that program's count.
    small = from_torch(module, (1, 1, 16, 16), training=False)
    assert small.assumptions == () and small.at(small.torch_flops["forward"]) == fcm(module, 1, 1, 16, 16)


class Branch(nn.Module):
    """Another program past a width: the module's own `if` on a size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(1) if x.shape[1] > 20 else x.mean(1) * x.shape[1]


def test_an_inequality_guard_bounds_the_formula() -> None:
    d = from_torch(Branch(), ("B", "n"), training=False)
    assert d.assumptions == (sympy.Ge(n, 21, evaluate=False),)
    assert d.counts["forward"] == {**dict.fromkeys(d.ops, 0), "add": B * n - B}
    with pytest.raises(ComplexaError, match=r"n=20 is outside"):
        d.evaluate(B=2, n=20)
    below = from_torch(Branch(), ("B", 20), training=False)
    assert below.counts["forward"]["div"] == B and below.counts["forward"]["mul"] == B


class SameEitherWay(nn.Module):
    """A branch on the batch that does the same arithmetic on both sides: its guard bounds nothing."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 if x.shape[0] > 8 else x * 3


def test_a_guard_that_changes_nothing_is_widened_away() -> None:
    d = from_torch(SameEitherWay(), ("B", 5), training=False)
    assert d.assumptions == ()
    assert d.evaluate(B=1).counts["forward"]["mul"] == 5
    assert d.evaluate(B=8).counts["forward"]["mul"] == 40


def test_a_size_of_one_is_checked_by_tracing_it() -> None:
    # torch takes no symbolic size to be 1; the trace at 1 gives the same formula, so B = 1 is in the domain.
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    d = from_torch(module, ("B", 3, "H", "W"))
    assert all(a.lhs != B for a in d.assumptions)
    assert d.at(d.flops("torch", "training"), B=1, H=9, W=7) == flop_counter_total(
        module, [torch.randn(1, 3, 9, 7)], training=True
    )


def test_the_formula_is_checked_at_a_second_set_of_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    from complexa import _trace

    real = _trace._derive
    calls = []

    def drifting(*args, **kwargs):  # a formula that changes after the first trace: refused, not returned
        d = real(*args, **kwargs)
        calls.append(d)
        if len(calls) > 1:
            d.counts["forward"]["mul"] += 1
        return d

    monkeypatch.setattr(_trace, "_derive", drifting)
    with pytest.raises(ComplexaError, match=r"the traced formula differs at a second set of sizes \(B=\d+"):
        from_torch(nn.Linear(3, 4), ("B", 3))


def test_large_distinct_hints_then_smaller_for_a_bounded_module() -> None:
    from complexa._trace._tracing import HINT_SCALES, hints_from

    hints = hints_from(list("BHWT"), HINT_SCALES[0])
    assert len(set(hints.values())) == 4 and min(hints.values()) > 1000
    assert all(sympy.isprime(h) for h in hints.values())

    class Positions(nn.Module):  # at most 64 positions: traced at the smaller hints, with the bound in the domain
        def __init__(self) -> None:
            super().__init__()
            self.table = nn.Parameter(torch.randn(64, 4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.table[: x.shape[1]]

    d = from_torch(Positions(), ("B", "T", 4), training=False)
    assert sympy.Le(symbol("T"), 64, evaluate=False) in d.assumptions
    assert d.counts["forward"]["add"] == 4 * B * symbol("T")


# --- the domain's reading of guards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guard", "interval"),
    [
        (sympy.Ne(sympy.floor((H - 1) / 32) + 1, 1), (33, None)),
        (sympy.Eq(sympy.floor((H - 1) / 32) + 1, 1), (1, 32)),
        (sympy.Ge(H, 16), (16, None)),
        (sympy.Lt(H, 2049), (1, 2048)),
        (sympy.Ne(H - 2, 1), None),  # H != 3: two intervals
        (sympy.Eq(sympy.Mod(H, 2), 0), None),  # even sizes: no interval
        (sympy.Ne(sympy.floor(sympy.floor(H / 2 - sympy.Rational(7, 2)) / 2 - sympy.Rational(1, 2)) + 1, 1), None),
        (sympy.Ge(H * W, 3), None),  # two sizes
    ],
)
def test_guards_read_as_intervals(guard: sympy.Basic, interval: tuple[int, int | None] | None) -> None:
    found = _domain.classify(guard)
    assert (found.low, found.high) == interval if interval else found is None


def test_a_guard_is_read_from_where_the_others_allow() -> None:
    # A stage of squeezenet: below 21 its floors go negative and "the stage is not 1" holds again, so read from 1 it
    # is no interval; read from 21, where the stage is at least 1 (the other guard), it is H >= 37.
    half = sympy.Rational(1, 2)
    stage = sympy.floor(H / 2 - 7 * half)
    for _ in range(3):
        stage = sympy.floor(stage / 2 - half)
    assert _domain.classify(sympy.Ne(stage + 1, 1)) is None
    domain = _domain.Domain.of([sympy.Ne(stage + 1, 1), sympy.Ge(stage + 1, 1)], [H])
    assert domain.intervals[H] == (37, None) and domain.others == []


def test_guards_the_intervals_imply_are_not_assumptions() -> None:
    h, w = sympy.floor((H - 1) / 32) + 1, sympy.floor((W - 1) / 32) + 1
    domain = _domain.Domain({H: (33, None), W: (33, None)}, [sympy.Ne(h * w, 1), sympy.Ne(w, h * w)], set())
    assert domain.assumptions() == (sympy.Ge(H, 33, evaluate=False), sympy.Ge(W, 33, evaluate=False))
    assert _domain.Domain({H: (1, None), W: (1, None)}, [sympy.Ne(h * w, 1)], set()).assumptions() == (
        sympy.Ne(h * w, 1),
    )


# --- inputs, dtypes, the loss, the messages ---------------------------------------------------------------------------


def test_an_example_tensor_keeps_its_sizes_and_dtype() -> None:
    d = from_torch(nn.Linear(784, 10), torch.zeros(2, 784))
    assert d.inputs == ((2, 784),) and d.symbols == {}
    assert d.counts["forward"]["mul"] == 2 * 784 * 10
    d64 = from_torch(nn.Linear(3, 4).double(), torch.zeros(5, 3, dtype=torch.float64))
    assert d64.counts["forward"]["mul"] == 60


def test_the_dtype_defaults_to_the_modules() -> None:
    d = from_torch(nn.Sequential(nn.Linear(3, 4), nn.Tanh()).double(), ("B", 3))
    assert d.counts["forward"]["act"] == 4 * B
    with pytest.raises(ComplexaError, match=r"got tensors of float32 and int64: torch refuses to mix them"):
        from_torch(nn.Linear(3, 4), ("B", 3), dtype=torch.long)


@dataclasses.dataclass
class Output:
    logits: torch.Tensor
    extra: dict


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> Output:
        out, (h, c) = self.lstm(x)
        return Output(self.head(out), {"state": (h, c), "ids": torch.zeros(1, dtype=torch.long)})


def test_the_default_loss_sums_every_nested_floating_output() -> None:
    module = Nested()
    d = from_torch(module, (2, 5, 3))
    # The loss row: logits (2*5*2), h and c (1*2*4 each): three sums and two adds.
    assert d.by_layer["loss"]["forward"]["add"] == (20 - 1) + (8 - 1) + (8 - 1) + 2
    assert d.at(d.flops("torch", "training")) == flop_counter_total(module, [torch.randn(2, 5, 3)], training=True)
    assert from_torch(module, (2, 5, 3), training=False).training is False


def test_messages_name_the_users_sizes_in_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    class Reshape(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.view(x.shape[0], 7, -1)

    with pytest.raises(ComplexaError) as caught:
        from_torch(Reshape(), ("B", "n"))
    message = str(caught.value)
    assert "\n" not in message and "n" in message
    assert not re.search(r"\bs\d+\b", message)
    from complexa._trace._tracing import HINT_SCALES, hints_from

    for scale in HINT_SCALES:
        assert not any(str(h) in message for h in hints_from(["B", "n"], scale).values())
    assert capfd.readouterr().err == ""


def test_the_command_prints_the_domain(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    from complexa.cli import main

    path = tmp_path / "model.py"
    path.write_text(
        "from torch import nn\n\ndef build():\n    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU())\n"
    )
    for fmt in ("text", "markdown"):
        assert main(["torch", f"{path}:build", "--input", "B,3,H,W", "--format", fmt]) == 0
        assert capsys.readouterr().out.rstrip().endswith("holds for H >= 5, W >= 5")
    assert main(["torch", f"{path}:build", "--input", "B,3,H,W", "--format", "json"]) == 0
    assert '"assumptions": [\n    "H >= 5",\n    "W >= 5"\n  ]' in capsys.readouterr().out
