"""The measured side on the CPU: its counts against the derivation, its numerics against tests/naive.py."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import naive  # tests/naive.py: pytest puts tests/ on sys.path (rootdir-relative, no __init__.py)
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import complexa
from complexa import ComplexaError, Network
from complexa.reference import measure
from complexa.strategies import networks
from complexa.testing import assert_counts_match

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    """Compile (or load from numba's cache) the kernels once, so no example pays for it."""
    measure(Network([2, 2]))


# --- counts: exact values worked out by hand -------------------------------------------------------------------


def counts(forward: tuple[int, ...], backward: tuple[int, ...], update: tuple[int, int]) -> dict[str, dict[str, int]]:
    """Counts from (mul, add, act) forward, (mul, add, act_grad) backward and (mul, add) update."""
    return {
        "forward": {"mul": forward[0], "add": forward[1], "act": forward[2], "act_grad": 0},
        "backward": {"mul": backward[0], "add": backward[1], "act": 0, "act_grad": backward[2]},
        "update": {"mul": update[0], "add": update[1], "act": 0, "act_grad": 0},
    }


HAND_COUNTED = [
    # [2, 3, 1], B = 2. Forward: 2 * (3*2 + 1*3) mul; 2 * (3*(1 + 1) + 1*(2 + 1)) add; 2 * 4 act. Backward: output
    # 2 add, 2 mul, 2 act_grad; hidden 3 units, dot of length 1 then the g' product: 2 * 6 mul, 2 * 3 act_grad;
    # 9 weights * B mul and * (B - 1) add; 4 biases * (B - 1) add. Update: 9 + 4 parameters.
    (Network([2, 3, 1], batch=2), counts((18, 18, 8), (32, 15, 8), (13, 13))),
    # [3, 4, 2], B = 2: forward 2 * 20 mul, 2 * (4*3 + 2*4) add, 12 act; backward output 4 add, 4 mul, 4 act_grad,
    # hidden dots of length 2: 16 mul, 8 add, then 8 mul, 8 act_grad; weights 40 mul, 20 add; biases 6 add.
    (Network([3, 4, 2], batch=2), counts((40, 40, 12), (68, 38, 12), (26, 26))),
    # Identity, no bias, one layer, B = 3: forward 3 * 4 mul, 3 * 2 add; output delta 6 add only; weights 12 mul,
    # 8 add.
    (Network([2, 2], batch=3, bias=False, activation="identity"), counts((12, 6, 0), (12, 14, 0), (4, 4))),
    # bce on [1, 1], B = 1: forward 1 mul, 1 add (the bias; a dot of length 1 adds nothing), 1 act; backward the
    # output delta a - y (1 add) and the weight gradient (1 mul); a sum over one sample adds nothing.
    (Network([1, 1], loss="bce"), counts((1, 1, 1), (1, 1, 0), (2, 2))),
    # relu, width-1 layers, no bias, B = 2: forward 4 mul, 4 act; backward output 2 add, 2 mul, 2 act_grad, hidden
    # 2 mul (dot of length 1) + 2 mul, 2 act_grad; 2 weights * 2 mul and * 1 add.
    (Network([1, 1, 1], batch=2, bias=False, activation="relu"), counts((4, 0, 4), (10, 4, 4), (2, 2))),
    # tanh [2, 1, 2], B = 1: forward 1*2 + 2*1 mul, (1 + 1) + 2 * (0 + 1) add, 3 act; backward output 2 add, 2 mul,
    # 2 act_grad, hidden 1 unit: dot of length 2 (2 mul, 1 add) then 1 mul, 1 act_grad; weights 4 mul; biases 0 add.
    (Network([2, 1, 2], activation="tanh"), counts((4, 4, 3), (9, 3, 3), (7, 7))),
    # [2, 3, 1] again at B = 6 and B = 9, past the kernels' groups of four samples (see naive.KERNEL_BATCHES). Forward:
    # B * 9 mul, B * 9 add, B * 4 act. Backward: output B add, B mul, B act_grad; hidden B * (3 + 3) mul, B * 3
    # act_grad; weights 9 * B mul and 9 * (B - 1) add; biases 4 * (B - 1) add. B = 6: mul 6 + 36 + 54 = 96, add
    # 6 + 45 + 20 = 71, act_grad 6 + 18 = 24. B = 9: mul 9 + 54 + 81 = 144, add 9 + 72 + 32 = 113, act_grad 36.
    (Network([2, 3, 1], batch=6), counts((54, 54, 24), (96, 71, 24), (13, 13))),
    (Network([2, 3, 1], batch=9), counts((81, 81, 36), (144, 113, 36), (13, 13))),
]


@pytest.mark.parametrize(("network", "expected"), HAND_COUNTED, ids=repr)
def test_counts_by_hand(network: Network, expected: dict[str, dict[str, int]]) -> None:
    assert measure(network).counts == expected
    assert complexa.derive(network, iterations=1).evaluate().counts == expected


def test_counts_add_up_over_iterations() -> None:
    network, per_step = HAND_COUNTED[0]
    assert measure(network, iterations=3).counts == {
        phase: {op: 3 * n for op, n in ops.items()} for phase, ops in per_step.items()
    }


# --- counts: against the derivation ----------------------------------------------------------------------------


OPTIONS = [
    Network([3, 5, 2], batch=4),
    Network([3, 5, 2], batch=4, bias=False),
    Network([3, 5, 2], batch=4, activation="tanh"),
    Network([3, 5, 2], batch=4, activation="relu"),
    Network([3, 5, 2], batch=4, activation="identity"),
    Network([3, 5, 2], batch=4, loss="bce"),
    Network([3, 5, 4, 2], batch=1),
    Network([7, 1]),
    Network([1, 1, 1, 1], batch=3),
    Network([4, 1, 6, 1, 3], batch=2, bias=False, activation="identity"),
]


@pytest.mark.parametrize("iterations", [1, 4])
@pytest.mark.parametrize("network", OPTIONS, ids=repr)
def test_options_match_derivation(network: Network, iterations: int) -> None:
    assert_counts_match(network, iterations=iterations)


@settings(max_examples=200, deadline=None)
@given(networks(), st.integers(1, 3))
def test_every_count_matches_derivation(network: Network, iterations: int) -> None:
    assert_counts_match(network, iterations=iterations)


@pytest.mark.parametrize("batch", naive.KERNEL_BATCHES)
def test_every_kernel_path_counts_what_it_does(batch: int) -> None:
    for network in naive.kernel_paths(batch):
        assert_counts_match(network, iterations=2)


def test_mismatch_lists_every_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    network = Network([2, 3, 1], batch=2)
    right = complexa.derive(network, iterations=1).evaluate()

    wrong = copy.deepcopy(right)
    wrong.counts["forward"]["mul"] += 1
    wrong.counts["update"]["add"] += 1
    monkeypatch.setattr(complexa.Derivation, "evaluate", lambda self, *args, **kwargs: wrong)
    with pytest.raises(AssertionError) as raised:
        assert_counts_match(network)
    message = str(raised.value)
    assert "forward.mul: derived 19, measured 18, difference +1" in message
    assert "update.add: derived 14, measured 13, difference +1" in message
    assert message.count("derived") == 3  # the heading and the two differences


# --- numerics: against tests/naive.py --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(networks(), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_numerics_match_naive(network: Network, iterations: int, seed: int) -> None:
    naive.assert_matches_naive(measure(network, iterations=iterations, seed=seed))


@pytest.mark.parametrize("network", OPTIONS, ids=repr)
def test_options_match_naive(network: Network) -> None:
    naive.assert_matches_naive(measure(network, iterations=2, lr=0.5))


@pytest.mark.parametrize("batch", naive.KERNEL_BATCHES)
def test_every_kernel_path_computes_the_naive_step(batch: int) -> None:
    for network in naive.kernel_paths(batch):
        naive.assert_matches_naive(measure(network, iterations=2, lr=0.5, seed=batch))


def test_one_weight_by_hand() -> None:
    # a = w x, loss 1/2 (a - y)^2, dL/dw = (a - y) x, w' = w - lr (a - y) x.
    m = measure(Network([1, 1], bias=False, activation="identity"), lr=0.25)
    (w,), ((x,),), ((y,),) = m.params_before[0][0][0], m.inputs, m.targets
    a = w * x
    assert m.outputs[0, 0] == a
    assert m.loss == 0.5 * (a - y) ** 2
    assert m.param_gradients[0][0][0, 0] == (a - y) * x
    assert m.params_after[0][0][0, 0] == w - 0.25 * ((a - y) * x)


def test_counting_does_not_change_the_numbers() -> None:
    from complexa.reference._runtime import CpuBackend, Trainer, plan

    m = measure(Network([4, 6, 6, 3], batch=3, activation="tanh"), iterations=1)
    results = []
    for count in (True, False):
        layout = plan(m.network)
        flat = np.concatenate([m.state_before[t.name].ravel() for t in layout.tensors])
        backend = CpuBackend(count=count)
        trainer = Trainer(layout, backend, flat, m.inputs, m.targets, m.lr)
        counts = backend.counts()
        for _ in range(3):
            trainer.step(counts)
        results.append((trainer.params.copy(), trainer.grads.copy(), layout.nodes[-1].output().copy(), counts))
    for counted, plain in zip(results[0][:3], results[1][:3]):
        np.testing.assert_array_equal(counted, plain)
    assert results[0][3].sum() > 0 and results[1][3].sum() == 0  # the plain kernels count nothing


# --- what a Measurement holds ----------------------------------------------------------------------------------


def test_measurement_contents() -> None:
    m = measure(Network([3, 4, 2], batch=5), iterations=2, seed=7)
    assert (m.backend, m.iterations, m.seed, m.lr) == ("cpu", 2, 7, 0.1)
    assert m.inputs.shape == (5, 3) and m.targets.shape == (5, 2) and m.outputs.shape == (5, 2)
    assert np.all(np.abs(m.inputs) <= 1) and np.all((m.targets > 0) & (m.targets < 1))
    assert [(w.shape, None if b is None else b.shape) for w, b in m.params_before] == [((4, 3), (4,)), ((2, 4), (2,))]
    assert [w.dtype for w, _ in m.params_after] == [np.float64, np.float64]
    assert not np.array_equal(m.params_before[0][0], m.params_after[0][0])
    # [3, 4, 2], B = 5, sigmoid, mse, biases: 20 weights, 26 parameters. Forward: 5 * 20 mul, 5 * (4*3 + 2*4) add,
    # 5 * 6 act: 230. Backward: the output delta 5 * 2 add, mul and act_grad (30); the hidden dots 5 * 4 * (2 mul
    # + 1 add) (60) and g' 5 * 4 mul and act_grad (40); weight gradients 5 * 20 mul, 4 * 20 add (180); bias
    # gradients 4 * 6 add (24): 334, of which mul 10 + 40 + 20 + 100 = 170, add 10 + 20 + 80 + 24 = 134, act_grad
    # 10 + 20 = 30. Update 26 mul, 26 add: 52. Two steps: 2 * (230 + 334 + 52) = 1232.
    assert m.counts["backward"] == {"mul": 2 * 170, "add": 2 * 134, "act": 0, "act_grad": 2 * 30}
    assert m.total == 1232
    assert "counts=" in repr(m) and "inputs" not in repr(m)


def test_no_bias_is_none() -> None:
    m = measure(Network([3, 4, 2], bias=False))
    assert all(b is None for _, b in m.params_before + m.params_after + m.param_gradients)


def test_seed_makes_it_reproducible() -> None:
    first, again, other = (measure(Network([3, 4, 2], batch=2), seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(first.params_after[0][0], again.params_after[0][0])
    np.testing.assert_array_equal(first.inputs, again.inputs)
    assert not np.array_equal(first.inputs, other.inputs)


def test_zero_learning_rate_leaves_params() -> None:
    m = measure(Network([3, 4, 2]), lr=0, iterations=2)
    for before, after in zip(m.params_before, m.params_after):
        for array, array_after in zip(before, after):
            assert array is not None and array_after is not None
            np.testing.assert_array_equal(array, array_after)


# --- refusals --------------------------------------------------------------------------------------------------


def test_memory_refusal_quotes_the_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    import complexa.reference as reference

    monkeypatch.setattr(reference, "_available_memory", lambda: 1000)
    # 8 * (5 * 16 parameters + 3 * 2 * 7 units + 3 * 2 * 4 widest) bytes, and 8 KB for each of 2 layers.
    with pytest.raises(
        ComplexaError, match=r"needs about 17,552 bytes for its arrays and its 2 layers, and only 1,000 bytes of memory"
    ):
        measure(Network([3, 4], batch=2))
    monkeypatch.setattr(reference, "_available_memory", lambda: None)
    measure(Network([3, 4], batch=2))  # no figure to compare to: the guard stands aside


# --- imports and numba's cache ---------------------------------------------------------------------------------


def run_python(code: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_") and k != "XDG_CACHE_HOME"}
    environment.update(env)
    environment.setdefault("PYTHONPATH", str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_complexa_imports_neither_numba_nor_hypothesis() -> None:
    result = run_python(
        """
        import sys
        import complexa
        heavy = [name for name in ("numba", "hypothesis", "complexa.strategies", "complexa.reference.kinds")
                 if name in sys.modules]
        assert not heavy, heavy
        """
    )
    assert result.returncode == 0, result.stderr


MEASURE_UNCACHED = """
    import complexa
    from complexa.reference import kinds, measure
    m = measure(complexa.Network([2, 3, 1], batch=2))
    print(kinds.CACHED, kinds.__file__, m.counts["forward"]["mul"])
"""


def assert_measures_uncached(result: subprocess.CompletedProcess[str], package: Path) -> None:
    assert result.returncode == 0, result.stderr
    cached, location, forward_mul = result.stdout.split()
    assert (cached, forward_mul) == ("False", "18")
    assert location.startswith(str(package))  # the copy, not the checkout


def test_no_cache_locator_falls_back(tmp_path: Path) -> None:
    # No writable __pycache__ (here a file stands in its place: as root, permissions would not stop a write) and a
    # HOME under which no cache directory can be made: numba finds no locator and raises at decoration.
    shutil.copytree(ROOT / "complexa", tmp_path / "complexa", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "complexa" / "reference" / "kinds" / "__pycache__").write_text("not a directory")
    home = tmp_path / "home"
    home.write_text("not a directory")
    result = run_python(MEASURE_UNCACHED, cwd=tmp_path, PYTHONPATH=str(tmp_path), HOME=str(home))
    assert_measures_uncached(result, tmp_path / "complexa")


def test_unwritable_zip_cache_falls_back(tmp_path: Path) -> None:
    # From a zip file numba picks a cache directory under HOME without checking it, and would fail at the first call.
    archive = tmp_path / "complexa.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in (ROOT / "complexa").rglob("*.py"):
            zipped.write(path, path.relative_to(ROOT))
    home = tmp_path / "home"
    home.write_text("not a directory")
    result = run_python(MEASURE_UNCACHED, cwd=tmp_path, PYTHONPATH=str(archive), HOME=str(home))
    assert_measures_uncached(result, archive)
