"""Derivations print well: plain text, LaTeX through sympy's protocol, and Jupyter."""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from complexa import Network, derive
from complexa._poly import symbol
from complexa._printers import latex, latex_terms, sstr
from complexa.derivation import Step
from complexa.printing import LATEX_WIDTH, latex_cell, latex_lines, latex_note, latex_step, latex_width


def test_latex_is_an_aligned_block_with_one_line_per_step() -> None:
    d = derive(Network.uniform("n", "L"), model="essay", iterations="T")
    text = d.latex()
    assert text.startswith("\\begin{aligned}\n") and text.endswith("\n\\end{aligned}")
    assert text.count("\\\\\n") == len(d.steps) - 1
    assert r"n_{\mathrm{mul}} &= n^{(0)} n^{(1)} + \sum_{k=2}^{L} n^{(k)} n^{(k - 2)} n^{(k - 1)}" in text
    assert r"\text{time}_{\text{gradient descent}} &= O\left(n^{6}\right)" in text


def test_names_are_upright_and_the_exact_models_forward_time_says_so() -> None:
    # Multi-letter subscripts are words, set upright. The essay calls the forward pass's time plain "time", and the
    # essay model's derivation keeps it; the exact model names the part, as time_error and time_weights do.
    essay = derive(Network.uniform("n", "L"), model="essay", iterations="T").latex()
    exact = derive(Network.uniform("n", "L"), iterations="T").latex()
    for text in (essay, exact):
        assert "n_{mul}" not in text and "n_{g}" not in text
        assert r"n_{\mathrm{g}} &= " in text
    assert "\n\\text{time} &= " in essay and r"\text{time}_{\text{forward}}" not in essay
    assert "\n\\text{time}_{\\text{forward}} &= " in exact and "\n\\text{time} &= " not in exact


def test_the_essays_formula_in_a_note_is_math() -> None:
    # The essay model's step "n_mul = L n^3" says where it comes from in the essay's notation: as math, not as the
    # literal text "n_layers n^3".
    text = derive(Network.uniform("n", "L"), model="essay").latex()
    assert (
        r"n_{\mathrm{mul}} &= L n^{3} && \text{as the essay writes it for square matrices, } n_{\mathrm{layers}} n^{3}"
        in text
    )
    assert "n\\_layers" not in text
    assert latex_note("as the essay writes it, n_layers n") == r"\text{as the essay writes it, } n_{\mathrm{layers}} n"
    assert latex_note("n_layers of 100%") == r"n_{\mathrm{layers}} \text{ of 100\%}"


def test_sympy_printing_protocol_and_jupyter() -> None:
    d = derive(Network([784, "h", 10]))
    assert sympy.latex(d) == d.latex()
    assert d._repr_latex_() == f"$\\displaystyle {d.latex()}$"
    assert sympy.sstr(d) == str(d)
    assert "n_mul" in str(d) and "O(h)" in str(d)


def test_steps_go_general_then_this_network_then_big_o() -> None:
    d = derive(Network([784, "h", "h", 10]))
    n_mul = [s for s in d.steps if s.lhs in ("n_mul", None)][:3]
    assert n_mul[0].rhs.has(sympy.Sum) and n_mul[0].note == "for any sizes"
    assert n_mul[1].lhs is None and n_mul[1].note == "this network"
    assert isinstance(n_mul[2].rhs, sympy.Order)


def test_concrete_networks_have_no_big_o_step() -> None:
    d = derive(Network([3, 4, 2]))
    assert not any(isinstance(s.rhs, sympy.Order) for s in d.steps)
    assert d.steps[1].rhs == d.quantities["n_mul"]


def test_notes_are_escaped_for_text_mode() -> None:
    line = latex_step(Step("n_mul", sympy.Integer(3), "n_k ^ 100% & #1 {x} $ ~ \\"))
    assert line == r"n_{\mathrm{mul}} &= 3 && \text{n\_k \^{} 100\% \& \#1 \{x\} \$ \~{} \textbackslash{}}"


def test_evaluation_prints_a_table_with_thousands_separators() -> None:
    text = str(derive(Network([784, "h", 10])).evaluate(h=100))
    assert text.splitlines()[0] == "evaluated at h=100"
    assert "79,400" in text


# --- complexa's printers are sympy's, character for character, only quicker for long sums ------------------------

NAMES = ["a", "b", "B", "T", "h1", "h10", "h2", "x_1", "n_0", "alpha", "Lambda", "x2y", "Ab"]
COEFFICIENTS = [1, -1, 2, -3, 7, sympy.Rational(1, 2), sympy.Rational(-5, 3), sympy.Rational(3, 2), 10**30]


@st.composite
def polynomials(draw: st.DrawFn) -> sympy.Expr:
    terms = []
    for _ in range(draw(st.integers(1, 24))):
        factors = draw(st.lists(st.tuples(st.sampled_from(NAMES), st.integers(1, 4)), max_size=4))
        monomial = sympy.Mul(*[symbol(name) ** e for name, e in factors])
        terms.append(draw(st.sampled_from(COEFFICIENTS)) * monomial)
    return sympy.Add(*terms)


@settings(max_examples=100, deadline=None)
@given(polynomials())
def test_printers_are_sympys(expr: sympy.Expr) -> None:
    assert sstr(expr) == sympy.sstr(expr)
    assert latex(expr) == sympy.latex(expr)
    for term in sympy.Add.make_args(expr):
        assert (sstr(term), latex(term)) == (sympy.sstr(term), sympy.latex(term))


def test_printers_fall_back_to_sympy_for_the_rest() -> None:
    h = symbol("h")
    for expr in [sympy.Sum(h**2, (h, 1, symbol("L"))), sympy.sin(h) + h + 1, h ** sympy.Rational(1, 2) * 3]:
        assert (sstr(expr), latex(expr)) == (sympy.sstr(expr), sympy.latex(expr))


# --- long sums cut into lines (issue 21: LaTeX that fits the page) -------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(polynomials(), st.integers(8, 80))
def test_latex_lines_cut_a_sum_between_its_terms(expr: sympy.Expr, width: int) -> None:
    lines = latex_lines(expr, width)
    assert " ".join(lines) == latex(expr)  # the same LaTeX, only cut
    pieces = latex_terms(expr)
    assert len(pieces) == len(sympy.Add.make_args(expr))  # a cut at every term is possible
    for i, line in enumerate(lines):
        # Each line fits, unless it is one term wider than the page; and each is full: the next term would not fit.
        assert latex_width(line) <= width or line in pieces
        if i + 1 < len(lines):
            assert latex_width(f"{line} {latex_terms_first(lines[i + 1], pieces)}") > width
        assert not line.startswith(" ") and not line.endswith(" ")


def latex_terms_first(line: str, pieces: list[str]) -> str:
    """The first of `pieces` that `line` starts with (the term a line begins with)."""
    return max((p for p in pieces if line.startswith(p)), key=len)


def test_a_long_step_goes_on_over_lines_under_its_right_side() -> None:
    L, d, T, V = (symbol(n) for n in "L d T V".split())
    value = sympy.expand((L * d + T + V + 1) ** 3)
    text = latex_step(Step("time_forward", value, "this network"))
    first, *rest = text.split(" \\\\\n")
    assert first.startswith(r"\text{time}_{\text{forward}} &= ") and first.endswith(r" && \text{this network}")
    assert rest and all(line.startswith("&\\quad + ") for line in rest)
    right = [first.split("&=")[1].split("&&")[0], *(line.removeprefix("&\\quad") for line in rest)]
    assert " ".join(r.strip() for r in right) == latex(value)
    assert all(latex_width(r) <= LATEX_WIDTH for r in right)
    # In a table's cell, the lines stack in an array, each after the first indented.
    cell = latex_cell(value)
    assert cell.startswith(r"\begin{array}{l}") and cell.count(r" \\ \quad ") >= 2
    assert latex_cell(L * d) == latex(L * d)  # a short one is as it was
