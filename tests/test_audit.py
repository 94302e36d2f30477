"""The audit of the essay: its verdicts, its measurements, and the docs page generated from it."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import sympy

from complexa import ComplexaError, Network, derive
from complexa._audit import Audit, Verdict, audit, fit_exponent
from complexa._parse import parse
from complexa.models.essay import CLAIMED_ORDER

ROOT = Path(__file__).resolve().parent.parent
n = parse("n")


@pytest.fixture(scope="module")
def result() -> Audit:
    """One audit as the command runs it (n = 2..16), shared by this module's tests."""
    return audit()


# key: (essay's exponent, exact exponent with batch 1, verdict with batch 1, exact exponent with batch n, verdict)
VERDICTS = {
    "n_mul": (4, 3, "overcounts by n", 4, "holds"),
    "n_g": (2, 2, "holds", 3, "undercounts by n"),
    "time_forward": (4, 3, "overcounts by n", 4, "holds"),
    "time_error": (5, 3, "overcounts by n^2", 4, "overcounts by n"),
    "time_weights": (5, 3, "overcounts by n^2", 4, "overcounts by n"),
    "time_gradient_descent": (6, 4, "overcounts by n^2", 5, "overcounts by n"),
    "conclusion_forward": (3, 3, "holds", 4, "undercounts by n"),
    "conclusion_backpropagation": (6, 4, "overcounts by n^2", 5, "overcounts by n"),
    "conclusion_learning": (3, 1, "overcounts by n^2", 1, "overcounts by n^2"),
}


def test_one_row_per_result_in_the_essays_order(result: Audit) -> None:
    assert [row.key for row in result.rows] == list(VERDICTS)
    assert [row.section for row in result.rows] == ["forward propagation"] * 3 + ["backpropagation"] * 3 + [
        "conclusion"
    ] * 3


@pytest.mark.parametrize("key", VERDICTS)
def test_verdict(result: Audit, key: str) -> None:
    essay, exact_1, verdict_1, exact_n, verdict_n = VERDICTS[key]
    row = result.row(key)
    assert row.essay_exponent == essay and row.essay_order == n**essay
    assert (row.sides["1"].exponent, str(row.sides["1"].verdict)) == (exact_1, verdict_1)
    assert (row.sides["n"].exponent, str(row.sides["n"].verdict)) == (exact_n, verdict_n)
    for side in row.sides.values():
        assert side.order == n**side.exponent


def test_the_essays_claims_are_its_derivations() -> None:
    # The big-O the essay claims (CLAIMED_ORDER, which the audit's rows show) is that of the essay model's own
    # quantities, with n layers and n iterations: the essay's conclusions follow from its formulas.
    essay = derive(Network.uniform("n", "L"), model="essay", iterations="T")
    derived = essay.big_o(L="n", T="n")
    assert set(derived) == set(CLAIMED_ORDER)
    for name, claimed in CLAIMED_ORDER.items():
        assert derived[name] == sympy.Order(claimed, (n, sympy.oo)), name


def test_exact_expressions_under_the_essays_assumptions(result: Audit) -> None:
    assumed = {key: (row.sides["1"].assumed, row.sides["n"].assumed) for key, row in ((r.key, r) for r in result.rows)}
    assert assumed["n_mul"] == (n**3, n**4)
    assert assumed["n_g"] == (n**2, n**3)
    assert assumed["time_forward"] == (2 * n**3 + n**2, 2 * n**4 + n**3)
    assert assumed["time_gradient_descent"][0] == 7 * n**4 + 2 * n**3 + 2 * n**2
    assert assumed["conclusion_learning"][0] == (7 * n**2 + 2 * n + 2) / (2 * n + 1)


def test_measured_counts_are_the_exact_models(result: Audit) -> None:
    assert result.counts_agree and result.networks == 4 * 15
    assert result.ns == tuple(range(2, 17))
    for row in result.rows:
        for side in row.sides.values():
            assert len(side.measured) == len(side.model) == 15
            if row.bound:
                assert all(m >= e for m, e in zip(side.measured, side.model))
                assert side.measured == result.row("time_weights").sides[side.batch].measured
            else:
                assert side.measured == side.model, row.key


def test_measured_counts(result: Audit) -> None:
    row = result.row("n_mul")
    assert row.sides["1"].measured == tuple(k**3 for k in range(2, 17))
    assert row.sides["n"].measured == tuple(k**4 for k in range(2, 17))
    learning = result.row("conclusion_learning").sides["1"].measured
    assert learning[0] == sympy.Rational(7 * 4 + 4 + 2, 5)  # (7 n^2 + 2 n + 2) / (2 n + 1) at n = 2


def test_fitted_exponents_are_near_the_exact_ones(result: Audit) -> None:
    for row in result.rows:
        for side in row.sides.values():
            assert abs(side.fit - side.exponent) < 0.15, (row.key, side.batch, side.fit)
    assert result.row("n_mul").sides["1"].fit == pytest.approx(3.0, abs=1e-9)


def test_contradictions(result: Audit) -> None:
    first, batch, per_layer, conclusion = result.contradictions
    assert first.startswith("Forward propagation: the derivation finds O(n^4)") and "conclusion O(n^3)" in first
    assert batch.startswith("Batch: n_mul = O(n^4) holds only for a batch of n")
    assert "time_error grows by O(n^4) a layer and its n_mul by O(n^3)" in per_layer
    assert "both grow by O(n^2) a layer for one vector and O(n^3) for a batch of n" in per_layer
    assert "O(n^6), against one forward pass, O(n^3)" in conclusion


def test_text_table(result: Audit) -> None:
    text = str(result)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("the essay's claim"))
    assert lines[header + 1].split() == "n_mul = O(n^4) O(n^3) 3.00 overcounts by n O(n^4) 4.00 holds".split()
    assert lines[header + 4].split()[:5] == ["time_error", "=", "O(n^5)", "O(n^3)", "3.00*"]
    assert "counts equal the exact model's in all 60 measurements" in text
    assert max(len(line) for line in lines) <= 110


def test_json_is_plain_data(result: Audit) -> None:
    doc = json.loads(json.dumps(result.as_json()))
    assert doc["rows"][8]["exact"]["1"]["measured"][0] == "34/5"
    assert doc["rows"][0]["essay"] == {"expr": "L*n**3 - n**3 + n**2", "big_o": "n**4", "exponent": 4}


def test_latex_and_markdown(result: Audit) -> None:
    latex = result.latex().splitlines()
    assert latex[0] == "\\begin{array}{llrllrl}"
    assert latex[2].startswith(
        r"n_{\mathrm{mul}} = O\left(n^{4}\right) & O\left(n^{3}\right) & \text{3.00} & \text{overcounts by } n &"
    )
    assert latex[4].startswith(r"\text{time}_{\text{forward}} = O\left(n^{4}\right) &")
    assert latex[-2].startswith(r"\text{learning / inference = } O\left(n^{3}\right)")
    markdown = result.markdown()
    assert "| n_mul = O(n^4) | `O(n^3)` | 3.00 | overcounts by n | `O(n^4)` | 4.00 | holds |" in markdown
    assert "### Where the essay contradicts itself" in markdown


def test_the_measured_tables_say_what_each_row_measured(result: Audit) -> None:
    # time_error's measured count is the whole backward pass, time_weights' own: the two rows are equal, and the
    # tables themselves say so, not only a note under them.
    error, weights = result.row("time_error"), result.row("time_weights")
    assert error.sides["1"].measured == weights.sides["1"].measured
    assert error.measured_what == "whole backward pass (= time_weights)"
    assert weights.measured_what == "whole backward pass, includes time_error"
    lines = str(result).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("row") and "measured" in line)
    assert lines[header].split()[:3] == ["row", "measured", "batch"]
    rows = {line.split()[0]: line for line in lines[header + 1 :] if line[:1].strip()}
    assert re.search(r"^time_error +whole backward pass \(= time_weights\)\* +B=1 ", rows["time_error"])
    assert re.search(r"^time_weights +whole backward pass, includes time_error +B=1 ", rows["time_weights"])
    assert "* time_error: an upper bound; measured: whole backward pass (= time_weights)" in lines
    markdown = result.markdown()
    assert "| `time_error` | whole backward pass (= time_weights)\\* | 1 | 24 | 78 |" in markdown
    assert "| `time_weights` | whole backward pass, includes time_error | 1 | 24 | 78 |" in markdown
    assert "| `n_mul` | forward mul | 1 | 8 | 27 | 64 |" in markdown


def test_the_docs_page_is_generated_from_the_audit(result: Audit) -> None:
    spec = importlib.util.spec_from_file_location("gen_audit", ROOT / "docs" / "gen_audit.py")
    assert spec is not None and spec.loader is not None
    gen_audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_audit)
    page = gen_audit.PAGE.read_text()
    assert gen_audit.render(page, result.markdown()) == page, "docs/audit.md is out of date: python docs/gen_audit.py"
    with pytest.raises(ValueError, match="must hold the markers"):
        gen_audit.render("no markers", "")


def test_unknown_row(result: Audit) -> None:
    with pytest.raises(ComplexaError, match="key = 'n_add': the audit has rows n_mul, n_g"):
        result.row("n_add")


def test_verdict_and_fit() -> None:
    assert [str(Verdict(a, b)) for a, b in [(4, 4), (5, 4), (6, 4), (3, 4), (2, 4)]] == [
        "holds",
        "overcounts by n",
        "overcounts by n^2",
        "undercounts by n",
        "undercounts by n^2",
    ]
    assert (Verdict(6, 4).kind, Verdict(6, 4).factor, Verdict(2, 4).factor) == ("overcounts", 2, 2)
    assert fit_exponent((2, 3, 5, 7), tuple(3 * k**5 for k in (2, 3, 5, 7))) == pytest.approx(5.0)
