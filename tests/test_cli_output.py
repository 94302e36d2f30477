"""What ``derive`` and ``measure`` print for people (issue 21): counts in SI units, a stack's repeated blocks
collapsed into one row of totals (``--levels``, ``--expand``), lines kept within the terminal's width, and the
essay's quantities for its dense networks only."""

from __future__ import annotations

import json
import re

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import Network, derive, nn
from complexa._format_derive import layer_rows
from complexa._parse import parse
from complexa.cli import main
from complexa.nn._stack import rows_of
from complexa.strategies import gpts

XL = ["--gpt", "50257, 1024, 1600, 48, 25"]  # GPT-2 XL
SMALL = ["--gpt", "64, 8, 16, 3, 2"]
SYMBOLIC = ["--gpt", "V, T, d, L, H", "--batch", "B"]


@pytest.fixture(autouse=True)
def _no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # each test sets the width it means; capsys is no terminal


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _layer_table(out: str) -> list[list[str]]:
    """The rows of the layer table of `derive`'s text output, each split into its cells."""
    lines = out.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("layer "))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip() or not re.match(r"\S+  ", line):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def _phase_totals(by_phase: dict[str, dict[str, sympy.Expr]]) -> dict[str, sympy.Expr]:
    return {phase: sympy.Add(*ops.values()) for phase, ops in by_phase.items()}


# --- repeated blocks --------------------------------------------------------------------------------------------------


def test_gpt2_xl_collapses_its_48_blocks_into_one_row_of_totals(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "derive", *XL, "--units", "exact")
    assert (status, err) == (0, "")
    assert len(out.splitlines()) < 60  # 523 lines when every block was listed
    rows = {row[0]: row for row in _layer_table(out)}
    assert not any(re.search(r"\.h\.\d", path) for path in rows)
    # A block's own row is its two residual additions, 1024 x 1600 each, forward and backward: 3,276,800 per copy,
    # 157,286,400 for the 48.
    assert rows["transformer.h.{0..47}"] == ["transformer.h.{0..47}", "Block x48", "157,286,400", "157,286,400", "0"]
    assert rows["transformer.h.{0..47}.mlp.c_fc"][1] == "Linear(1600, 6400)"
    d = derive(Network.gpt(50257, 1024, 1600, 48, 25))
    for part in ("attn", "mlp.c_proj", "ln_2"):
        total = sum(int(_phase_totals(d.by_layer[f"transformer.h.{k}.{part}"])["backward"]) for k in range(48))
        assert rows[f"transformer.h.{{0..47}}.{part}"][3] == f"{total:,}"
    assert out.splitlines()[-1] == (
        "transformer.h.{0..47}: 48 copies in one row, each count the total over them (--expand lists every copy)"
    )


def test_expand_lists_every_copy_as_by_layer_names_them(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "derive", *SMALL, "--expand")
    d = derive(Network.gpt(64, 8, 16, 3, 2))
    assert [row[0] for row in _layer_table(out)] == list(d.by_layer)
    assert "copies in one row" not in out


def test_levels_fold_the_modules_inside_a_row_into_it(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "derive", *SMALL, "--levels", "1")
    rows = _layer_table(out)
    assert [row[0] for row in rows] == ["transformer.wte", "transformer.wpe", "transformer.h", "transformer.ln_f",
                                        "lm_head", "loss"]  # fmt: skip
    d = derive(Network.gpt(64, 8, 16, 3, 2))
    blocks = [path for path in d.by_layer if path.startswith("transformer.h")]
    forward = sum(int(_phase_totals(d.by_layer[path])["forward"]) for path in blocks)
    assert rows[2][:3] == ["transformer.h", "Repeat", f"{forward:,}"]
    assert out.splitlines()[-1] == "--levels 1: a row at level 1 holds the totals of the modules inside it"
    _, two, _ = run(capsys, "derive", *SMALL, "--levels", "2")
    assert [row[:2] for row in _layer_table(two)][2:4] == [["transformer.h", "Repeat"], ["transformer.h.{0..2}",
                                                                                         "Block x3"]]  # fmt: skip
    assert _layer_table(two)[3][2] == f"{forward:,}"  # the blocks hold all of the Repeat's work


def test_a_symbolic_number_of_copies_is_one_row_too(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "derive", *SYMBOLIC)
    rows = {row[0]: row for row in _layer_table(out)}
    assert rows["transformer.h.{0..L-1}"][:3] == ["transformer.h.{0..L-1}", "Block xL", "2*B*L*T*d"]
    d = derive(Network.gpt("V", "T", "d", "L", "H", batch="B"))
    assert (
        parse(rows["transformer.h.{0..L-1}.mlp.c_fc"][2])
        == _phase_totals(d.by_layer["transformer.h.{i}.mlp.c_fc"])["forward"]
    )
    # A Repeat at the start: its first copy computes no input gradient, so the walk has two rows, 0.0 and 0.{i};
    # collapsed, one, their sum.
    network = Network([nn.Repeat(nn.Linear("h", "h"), "L"), nn.ReLU()])
    d = derive(network)
    found, _ = layer_rows(d)
    assert [row.path for row in found] == ["0", "0.{0..L-1}", "1", "loss"]
    both = {p: _phase_totals(d.by_layer["0.0"])[p] + _phase_totals(d.by_layer["0.{i}"])[p] for p in d.counts}
    assert {p: sympy.expand(v) for p, v in found[1].phases.items()} == {p: sympy.expand(v) for p, v in both.items()}
    assert found[1].module == "Linear(h, h) xL"


@st.composite
def _repeating_stacks(draw: st.DrawFn) -> Network:
    """Small concrete stacks with Repeats, nested in Repeats and Residuals."""
    width = draw(st.integers(1, 3))

    def body(depth: int) -> list[nn.Layer]:
        layers: list[nn.Layer] = []
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["linear", "relu", "repeat", "residual"] if depth < 2 else ["linear", "relu"]))
            if kind == "linear":
                layers.append(nn.Linear(width, width))
            elif kind == "relu":
                layers.append(nn.ReLU())
            elif kind == "repeat":
                inner = body(depth + 1)
                layers.append(nn.Repeat(inner[0] if len(inner) == 1 else nn.Residual(*inner), draw(st.integers(1, 4))))
            else:
                layers.append(nn.Residual(*body(depth + 1)))
        return layers

    return Network([nn.Linear(2, width), *body(0)], batch=draw(st.integers(1, 3)))


@settings(max_examples=30, deadline=None)
@given(
    network=st.one_of(_repeating_stacks(), gpts(max_layers=3)),
    expand=st.booleans(),
    levels=st.one_of(st.none(), st.integers(1, 4)),
)
def test_the_rows_add_up_to_the_counts_however_they_are_collapsed(
    network: Network, expand: bool, levels: int | None
) -> None:
    d = derive(network)
    found, _ = layer_rows(d, expand=expand, levels=levels)
    for phase, ops in d.counts.items():
        assert sum(int(row.phases[phase]) for row in found) == int(sympy.Add(*ops.values()))
    paths = [row.path for row in found]
    assert len(paths) == len(set(paths))
    if expand and levels is None:
        assert paths == list(d.by_layer)
    if not expand:  # no copy of a Repeat's body has a row of its own
        repeats = [row.path for row in rows_of(network) if row.layer.repeats is not None]
        assert not any(re.match(re.escape(r) + r"\.\d+(\.|$)", path) for r in repeats for path in paths)


# --- units ------------------------------------------------------------------------------------------------------------


def test_counts_read_in_si_units_where_a_table_reaches_a_million(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "derive", *XL)
    lines = out.splitlines()
    # 1,755,086,848,000 forward multiplications: 1.755 T; below 1,000 a count stays exact.
    assert "forward   mul       1.755 T" in lines
    assert "          sqrt      99.33 k" in lines and "          act_grad        0" in lines
    _, exact, _ = run(capsys, "derive", *XL, "--units", "exact")
    assert "forward   mul       1,755,086,848,000" in exact.splitlines()
    # A table whose counts stay below 10^6 stays exact; --units si turns it too.
    _, small, _ = run(capsys, "derive", "784", "128", "10")
    assert "forward   mul       101,632" in small.splitlines()
    _, si, _ = run(capsys, "derive", "784", "128", "10", "--units", "si")
    assert "forward   mul       101.6 k" in si.splitlines() and "n_g                        138" in si.splitlines()
    # One style per table: the quantities of [784, 128, 10] stay exact beside counts in SI units only if asked.
    assert "time_gradient_descent  511.3 k" in si.splitlines()


def test_markdown_and_latex_stay_exact_unless_asked_and_json_always(capsys: pytest.CaptureFixture[str]) -> None:
    _, markdown, _ = run(capsys, "derive", *XL, "--format", "markdown")
    assert "| forward | mul | 1,755,086,848,000 |" in markdown
    _, markdown_si, _ = run(capsys, "derive", *XL, "--format", "markdown", "--units", "si")
    assert "| forward | mul | 1.755 T |" in markdown_si
    _, latex, _ = run(capsys, "derive", *SMALL, "--format", "latex", "--units", "si")
    assert r"\text{forward} & \text{mul} & \text{" in latex
    docs = [json.loads(run(capsys, "derive", *XL, "--format", "json", "--units", u)[1]) for u in ("si", "exact")]
    assert docs[0] == docs[1] and docs[0]["counts"]["forward"]["mul"]["value"] == 1_755_086_848_000


def test_memory_bytes_in_si_units_in_place(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "derive", *XL, "--memory", "--dtype", "float32")
    memory = out.split("memory (float32)")[1].splitlines()
    assert re.fullmatch(r"parameters +1\.\d{3} G", memory[1]), memory[1]
    assert re.fullmatch(r"bytes +\d+\.?\d* GB", memory[-1]), memory[-1]
    # Below 10^6 elements the table stays exact, its bytes with their SI figure beside them.
    _, small, _ = run(capsys, "derive", "784", "128", "10", "--memory")
    assert "bytes             1,637,904  (1.64 MB)" in small.splitlines()


def test_measure_prints_si_units_and_an_exact_difference(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "measure", "1024", "1024")
    assert status == 0
    # 1024 x 1024 weights: 1,048,576 multiplications forward, 1.049 M.
    assert re.search(r"^forward   mul +1\.049 M +1\.049 M$", out, re.M), out
    _, exact, _ = run(capsys, "measure", "1024", "1024", "--units", "exact")
    assert re.search(r"^forward   mul +1,048,576 +1,048,576$", exact, re.M)
    _, small, _ = run(capsys, "measure", "3", "4", "2", "--units", "si")
    assert re.search(r"^forward   mul +20 +20$", small, re.M)  # 3 x 4 + 4 x 2, below 1,000: exact


# --- the terminal's width ---------------------------------------------------------------------------------------------


def _cells(out: str, header: str, column: str, stop: str) -> dict[tuple[str, str], str]:
    """The cells of `column` of the table under `header` in `out`, a wrapped cell's lines joined, by (phase, op)."""
    lines = out.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith(header))
    left, right = lines[start].index(column), lines[start].index(stop)
    cells: dict[tuple[str, str], str] = {}
    phase, key = "", ("", "")
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        first, op = line[:10].strip(), line[10:20].strip()
        if op:
            phase = first or phase
            key = (phase, op)
            cells[key] = line[left:right].strip()
        else:
            cells[key] += " " + line[left:right].strip()
    return cells


@pytest.mark.parametrize("columns", [100, 80])
def test_lines_keep_within_columns_and_wrapped_counts_read_back(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    _, out, _ = run(capsys, "derive", *SYMBOLIC)
    if columns == 100:
        assert max(map(len, out.splitlines())) <= 100
    else:  # every table but the symbolic layer table, whose paths and module names break only so far
        counts = out.split("\n\nlayer")[0]
        assert max(map(len, counts.splitlines())) <= 80
    d = derive(Network.gpt("V", "T", "d", "L", "H", batch="B"))
    cells = _cells(out, "phase", "count", "big-O")
    assert len(cells) == sum(len(ops) for ops in d.counts.values())
    for (phase, op), text in cells.items():
        assert parse(text) == d.counts[phase][op]
    assert any(line.startswith("                      + ") for line in out.splitlines())  # a term continued


def test_no_wrapping_without_a_terminal_and_a_bad_columns_is_ignored(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = run(capsys, "derive", *SYMBOLIC)
    assert max(map(len, out.splitlines())) > 200  # a file or a pipe gets whole lines
    for bad in ("0", "wide", "-5"):
        monkeypatch.setenv("COLUMNS", bad)
        assert run(capsys, "derive", *SYMBOLIC)[1] == out


def test_a_long_title_and_notes_wrap_too(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    argv = ["--layers", "Linear(784, 300) ReLU LayerNorm(300) Linear(300, 100) ReLU Linear(100, 10)"]
    _, out, _ = run(capsys, "derive", *argv, "--loss", "cross_entropy", "--optimizer", "Adam(lr=1e-3)")
    lines = out.splitlines()
    assert max(map(len, lines)) <= 72
    assert lines[0].startswith("exact model of Network([Linear(784, 300), ") and lines[1].startswith("  ")


def test_measure_wraps_a_long_title(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    argv = ["--layers", "Linear(3, 4) ReLU LayerNorm(4) Linear(4, 2)", "--loss", "cross_entropy", "--batch", "2"]
    status, out, _ = run(capsys, "measure", *argv)
    lines = out.splitlines()
    assert status == 0 and max(map(len, lines)) <= 60
    assert lines[0].startswith("measured Network([Linear(3, 4), ") and lines[1].startswith("  ")


# --- the essay's terms ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_the_essays_quantities_for_its_dense_networks_only(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    terms = ("n_mul", "n_g", "time_error", "time_weights", "time_forward", "time_gradient")
    for argv in (SMALL, ["--layers", "Linear(784, h) Sigmoid Linear(h, 10)"]):
        _, out, _ = run(capsys, "derive", *argv, "--format", fmt)
        if fmt == "json":
            assert json.loads(out)["quantities"] == {}
        else:
            assert not any(term in out.replace(r"\mathrm{", "").replace("}_{", "_") for term in terms), argv
            assert "quantity" not in out
    _, dense, _ = run(capsys, "derive", "784", "h", "10", "--format", fmt)
    if fmt == "json":
        assert set(json.loads(dense)["quantities"]) == {"n_mul", "n_g", "time_forward", "time_error",
                                                        "time_weights", "time_gradient_descent"}  # fmt: skip
    else:
        assert "n_" in dense and "time" in dense
