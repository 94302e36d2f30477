"""complexa's LaTeX, rendered by a real engine: pdflatex (Debian's texlive-latex-base) or KaTeX under node.

Each engine that is installed is used; the tests skip when neither is. CI installs pdflatex (see .ci/run). KaTeX is
found as node finds it: ``npm install katex`` in the repository, or a ``NODE_PATH`` that holds it. KaTeX renders math
only, so a document is checked there through each of its display-math blocks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from complexa.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _has_katex() -> bool:
    if shutil.which("node") is None:
        return False
    found = subprocess.run(["node", "-e", "require('katex')"], cwd=ROOT, capture_output=True)
    return found.returncode == 0


ENGINES = [
    pytest.param("pdflatex", marks=pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex")),
    pytest.param("katex", marks=pytest.mark.skipif(not _has_katex(), reason="no KaTeX under node")),
]

DOCUMENTS = [
    ["latex", "784", "h", "h", "10"],
    ["latex", "n", "--depth", "L", "--model", "essay", "--iterations", "T"],
    ["latex", "784", "h", "10", "--model", "essay"],  # with a note
    ["latex", "n_0", "h_1", "10", "--batch", "B", "--no-bias", "--activation", "relu", "--iterations", "T"],
    ["latex", "2", "3", "1"],
]
FRAGMENTS = [
    ["latex", "784", "h", "h", "10", "--fragment"],
    ["latex", "n", "--depth", "L", "--model", "essay", "--iterations", "T", "--fragment"],
    ["derive", "784", "h", "h", "10", "--format", "latex"],
    ["derive", "n", "--depth", "L", "--batch", "n", "--iterations", "T", "--format", "latex"],
    ["derive", "2", "3", "1", "--format", "latex"],
    ["derive", "784", "128", "10", "--dtype", "float32", "--flops", "torch", "--format", "latex"],  # bytes in SI units
    ["derive", "n", "--depth", "L", "--model", "essay", "--iterations", "T", "--format", "latex"],
    ["measure", "3", "4", "2", "--format", "latex"],
    ["audit", "--max-n", "4", "--format", "latex"],
]

KATEX = """
const katex = require('katex');
const blocks = JSON.parse(require('fs').readFileSync(0, 'utf8'));
for (const block of blocks) {
  katex.renderToString(block, {displayMode: true, throwOnError: true, strict: 'error'});
}
"""


def _output(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 0 and err == "", err
    return out


def _pdflatex(source: str, directory: Path) -> None:
    (directory / "doc.tex").write_text(source)
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
    assert run.returncode == 0 and (directory / "doc.pdf").stat().st_size > 0, "\n".join(errors) or run.stdout[-2000:]


def _katex(blocks: list[str]) -> None:
    run = subprocess.run(["node", "-e", KATEX], cwd=ROOT, input=json.dumps(blocks), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def _display_math(document: str) -> list[str]:
    return re.findall(r"^\\\[\n(.*?)\n\\\]$", document, re.S | re.M)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("argv", DOCUMENTS, ids=" ".join)
def test_document_renders(capsys: pytest.CaptureFixture[str], tmp_path: Path, engine: str, argv: list[str]) -> None:
    document = _output(capsys, argv)
    assert document.startswith("\\documentclass") and document.rstrip().endswith("\\end{document}")
    if engine == "pdflatex":
        _pdflatex(document, tmp_path)
    else:
        blocks = _display_math(document)
        assert len(blocks) == 2
        _katex(blocks)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("argv", FRAGMENTS, ids=" ".join)
def test_fragment_renders(capsys: pytest.CaptureFixture[str], tmp_path: Path, engine: str, argv: list[str]) -> None:
    fragment = _output(capsys, argv).strip()
    assert "\\documentclass" not in fragment
    if engine == "pdflatex":
        _pdflatex(
            "\\documentclass{article}\n\\usepackage[landscape,margin=1cm]{geometry}\n\\usepackage{amsmath}\n"
            f"\\begin{{document}}\n\\[\n{fragment}\n\\]\n\\end{{document}}\n",
            tmp_path,
        )
    else:
        _katex([fragment])


def test_a_broken_fragment_fails_to_render(tmp_path: Path) -> None:
    """The engines above really check: a fragment with an unbalanced brace does not render."""
    if shutil.which("pdflatex") is not None:
        with pytest.raises(AssertionError):
            _pdflatex("\\documentclass{article}\n\\begin{document}\n\\[ x^{2 \\]\n\\end{document}\n", tmp_path)
    elif _has_katex():
        with pytest.raises(AssertionError):
            _katex(["x^{2"])
    else:
        pytest.skip("neither pdflatex nor KaTeX is installed")
