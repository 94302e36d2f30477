"""Every code example in the README and the docs runs, and prints what the page says it prints; the essay's formulas
that docs/essay.md quotes are the essay model's."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest
import sympy

from complexa import Network, derive

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text())


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path) -> None:
    if "import torch" in page.read_text():
        pytest.importorskip("torch")  # the page's examples trace PyTorch modules: PyTorch is an optional extra
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for number, block in enumerate(_blocks(page)):
        if ">>>" in block:
            test = parser.get_doctest(block, namespace, f"{page.name}[{number}]", str(page), 0)
            runner.run(test, clear_globs=False)
            namespace.update(test.globs)  # DocTest copies its globals; later blocks build on earlier ones
        else:
            # A block without prompts is a script or a test module a user would paste: run it, then its tests.
            exec(compile(block, f"{page.name}[{number}]", "exec"), namespace)
            for name, value in list(namespace.items()):
                if name.startswith("test_") and callable(value):
                    value()
    assert runner.failures == 0, f"{runner.failures} example(s) in {page.name} printed something else"
    # Every prompt on the page ran: none sits in a block this test does not read (```pycon, an indented block).
    prompts = len(re.findall(r"^>>> ", page.read_text(), re.M))
    assert runner.tries == prompts, f"{page.name}: {prompts} >>> prompts, {runner.tries} run"


# --- the essay's formulas, as docs/essay.md quotes them, against the essay model ----------------------------------

ESSAY_PAGE = ROOT / "docs" / "essay.md"
n, L, T, k = sympy.symbols("n L T k")
size = sympy.Function("size")


def _read(formula: str) -> sympy.Expr:
    """A formula in the essay's notation (n_layers, n^(k), a middle dot or a space for a product) as sympy."""
    from sympy.parsing.sympy_parser import convert_xor, implicit_multiplication, parse_expr, standard_transformations

    text = formula.replace("n_gradient iterations", "T").replace("n_layers", "L").replace("·", "*")
    text = re.sub(r"n\^\(([^)]*)\)", r"size(\1)", text)
    transformations = (*standard_transformations, implicit_multiplication, convert_xor)
    names = {"n": n, "L": L, "T": T, "k": k, "size": size}
    return sympy.expand(parse_expr(text, local_dict=names, transformations=transformations))


def _quoted(pattern: str) -> sympy.Expr:
    """The formula that `pattern`'s group captures on docs/essay.md, read."""
    found = re.search(pattern, ESSAY_PAGE.read_text())
    assert found, f"docs/essay.md no longer quotes {pattern!r}"
    return _read(found.group(1))


def _plain(expr: sympy.Expr) -> sympy.Expr:
    """`expr` with complexa's positive-integer symbols made plain symbols of the same names, as `_read` makes them."""
    return expr.xreplace({s: sympy.Symbol(s.name) for s in expr.free_symbols})


def test_the_essays_sums_as_quoted_are_the_essay_models() -> None:
    # n_mul = Σ_{k=2}^{n_layers} (...) + (...) and n_g = Σ_{k=1}^{n_layers} (...), summed for sizes a, b, c, d.
    total_to_L = r"Σ_\{k=(\d)\}\^\{n_layers\} \( (.+?) \)"
    sums = re.search(rf"n_mul = {total_to_L} \+ \( (.+?) \),\s+n_g = {total_to_L}", ESSAY_PAGE.read_text())
    assert sums, "docs/essay.md no longer quotes the essay's sums for n_mul and n_g"
    names = ["a", "b", "c", "d"]
    sizes = sympy.symbols(names)
    depth = len(sizes) - 1

    def total(lo: str, term: str) -> sympy.Expr:
        return sympy.Add(*[_read(term).xreplace({k: j}) for j in range(int(lo), depth + 1)])

    n_mul = (total(sums.group(1), sums.group(2)) + _read(sums.group(3))).replace(size, lambda j: sizes[int(j)])
    n_g = total(sums.group(4), sums.group(5)).replace(size, lambda j: sizes[int(j)])
    derived = derive(Network(names), model="essay").quantities
    assert (_plain(derived["n_mul"]), _plain(derived["n_g"])) == (sympy.expand(n_mul), sympy.expand(n_g))


def test_the_essays_uniform_formulas_as_quoted_are_the_essay_models() -> None:
    essay = derive(Network.uniform("n", "L"), model="essay", iterations="T")
    q = {name: _plain(value) for name, value in essay.quantities.items()}
    stated = [_plain(step.rhs) for step in essay.steps if step.lhs == "n_mul"][1]
    assert stated == _quoted(r"> n_mul = (n_layers · n\^3)\n")
    assert q["n_mul"] == _quoted(r"the essay's own sum is (\(L - 1\) n\^3 \+ n\^2), not")
    assert q["n_g"] == _quoted(r"n_g = (n_layers · n) = O")
    assert q["time_error"] == _quoted(r"O\(time_error\) = (.+)\n")
    assert q["time_weights"] - q["time_error"] == _quoted(r"O\(time_weights\) = O\(time_error\) \+ (n\^3)")
    assert q["time_gradient_descent"] == sympy.expand(
        _quoted(r"time_gradient descent = (n_gradient iterations) · time_weights") * q["time_weights"]
    )


def test_the_essays_big_o_as_quoted_is_the_essay_models() -> None:
    orders = derive(Network.uniform("n", "L"), model="essay", iterations="T").big_o(L="n", T="n")
    o = {name: _plain(order.expr) for name, order in orders.items()}
    assert o["n_mul"] == _quoted(r"n_mul = O\(n · n\^3\) = O\((n\^4)\)")
    assert o["n_g"] == _quoted(r"n_g = n_layers · n = O\((n\^2)\)")
    assert o["time_forward"] == _quoted(r"O\(n\^4 \+ n\^2\) ⇔ O\((n\^4)\)")
    assert o["time_weights"] == _quoted(r"O\(time_error\) \+ n\^3 = (n\^5)")


def test_site_builds_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install '.[docs]'")
    pytest.importorskip("mkdocstrings", reason="the docs extra is not installed: pip install '.[docs]'")
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "site" / "essay" / "index.html").exists()
