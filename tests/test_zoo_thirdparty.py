"""from_torch on models nobody here wrote (issue 19): torchvision's, timm's and transformers' models, traced with
symbolic sizes for training, match FlopCounterMode on real tensors at three sizes (224 x 224 and an odd size among
them), forward and training, with no operator left uncounted; their parameters are numel()'s."""

from __future__ import annotations

import functools
import sys

import pytest

torch = pytest.importorskip("torch")

from complexa import ComplexaError, params  # noqa: E402
from complexa._trace import from_torch  # noqa: E402
from complexa.testing import flop_counter_total, real_inputs, uncounted_by_flop_counter  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from zoo_thirdparty import ZOO, available  # noqa: E402

BY_NAME = {entry[0]: entry for entry in ZOO}
CASES = [
    pytest.param(entry[0], marks=pytest.mark.skipif(not available(entry[5]), reason=f"needs {entry[5]}"))
    for entry in ZOO
]


@functools.cache
def model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return BY_NAME[name][1]()


@functools.cache
def traced(name: str):
    """Traced once, for training: its forward phase is the forward pass's trace."""
    _, _, inputs, dtype, _, _ = BY_NAME[name]
    return from_torch(model(name), *inputs, dtype=dtype)


@pytest.mark.parametrize("name", CASES)
def test_matches_flop_counter_forward_and_training(name: str) -> None:
    _, _, shapes, dtype, sizes_list, _ = BY_NAME[name]
    d = traced(name)
    assert d.unsupported == {}
    for sizes in sizes_list:
        if not d.holds(**sizes):  # outside the formula's domain it is refused; traced at those sizes, it is right
            with pytest.raises(ComplexaError, match="is outside where this formula holds"):
                d.evaluate(**sizes)
            d = from_torch(model(name), *(tuple(sizes.get(e, e) for e in shape) for shape in shapes), dtype=dtype)
            sizes = {}
        inputs = real_inputs(d, sizes, [dtype])
        for training in (False, True):
            expected = d.at(d.flops("torch", "training" if training else "forward"), **sizes)
            gap = uncounted_by_flop_counter(d, sizes, training=training)
            measured = flop_counter_total(model(name), inputs, training=training)
            assert expected - gap == measured, (sizes, training, expected, gap, measured)
        d = traced(name)


@pytest.mark.parametrize("name", CASES)
def test_parameters_are_numel(name: str) -> None:
    assert params(traced(name)) == sum(p.numel() for p in model(name).parameters())
