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

GPT = ["--gpt", "V, T, d, L, H"]
DOCUMENTS = [
    ["latex", "784", "h", "h", "10"],
    ["latex", *GPT],
    ["latex", "n", "--depth", "L", "--model", "essay", "--iterations", "T"],
    ["latex", "784", "h", "10", "--model", "essay"],  # with a note
    ["latex", "n_0", "h_1", "10", "--batch", "B", "--no-bias", "--activation", "relu", "--iterations", "T"],
    ["latex", "2", "3", "1"],
]
FRAGMENTS = [
    ["latex", "784", "h", "h", "10", "--fragment"],
    ["latex", *GPT, "--fragment"],
    ["derive", *GPT, "--format", "latex"],
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


def _pdflatex(source: str, directory: Path) -> str:
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
    return (directory / "doc.log").read_text(errors="replace")


def _katex(blocks: list[str]) -> None:
    run = subprocess.run(["node", "-e", KATEX], cwd=ROOT, input=json.dumps(blocks), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def _display_math(document: str) -> list[str]:
    """Each display of a document: a ``\\[ ... \\]`` block, and an ``align*``'s rows as an ``aligned`` block."""
    blocks = re.findall(r"^\\\[\n(.*?)\n\\\]$", document, re.S | re.M)
    aligns = re.findall(r"^\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}$", document, re.S | re.M)
    return blocks + [f"\\begin{{aligned}}\n{rows}\n\\end{{aligned}}" for rows in aligns]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("argv", DOCUMENTS, ids=" ".join)
def test_document_renders(capsys: pytest.CaptureFixture[str], tmp_path: Path, engine: str, argv: list[str]) -> None:
    document = _output(capsys, argv)
    assert document.startswith("\\documentclass") and document.rstrip().endswith("\\end{document}")
    if engine == "pdflatex":
        _pdflatex(document, tmp_path)
    else:
        blocks = _display_math(document)
        # Nearly all of the body is display math KaTeX renders; the prose is headings and the essay model's notes.
        body = document.split("\\begin{document}")[1]
        prose = sum(len(line) for line in re.findall(r"^\\paragraph\{.*$", body, re.M))
        assert len(blocks) >= 3 and sum(len(b) for b in blocks) > 0.8 * (len(body) - prose)
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


# --- the page: a symbolic GPT's document fits it ------------------------------------------------------------------


def _rows(block: str) -> list[str]:
    """The rows of a math block (an aligned, an array or a cell's stacked lines), cut at every ``\\\\``."""
    return [row for row in re.split(r"\\\\(?:\[[^\]]*\])?", block) if row.strip()]


@pytest.mark.parametrize("argv", [["latex", *GPT], ["derive", *GPT, "--format", "latex"]], ids=" ".join)
def test_a_symbolic_gpt_is_cut_into_lines_that_fit(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    from complexa.printing import LATEX_CELL_WIDTH, LATEX_WIDTH, latex_width

    out = _output(capsys, argv)
    widest = 0
    for row in _rows(out):
        # A derivation's row: its right side, between &= (or the &\quad of a line that goes on) and the note.
        if "&=" in row or "&\\quad" in row:
            right = re.split(r"&=|&\\quad", row, maxsplit=1)[1].split("&&")[0]
            assert latex_width(right) <= LATEX_WIDTH, right
            widest = max(widest, latex_width(right))
        else:  # a table's row: each cell, each of a stacked cell's lines
            for cell in re.split(r"(?<!\\)&", row):
                for line in cell.replace("\\begin{array}{l}", "").replace("\\end{array}", "").split("\\quad"):
                    if "\\text" not in line and "\\begin" not in line and "\\hline" not in line:
                        assert latex_width(line) <= LATEX_CELL_WIDTH, line
    if argv[0] == "latex":
        assert widest > LATEX_WIDTH * 3 // 4  # the lines are filled, not cut at every term
        assert "&\\quad +" in out  # and some sum did need more than one line


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex")
def test_a_symbolic_gpt_document_fits_the_page(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    log = _pdflatex(_output(capsys, ["latex", *GPT]), tmp_path)
    assert "Overfull \\hbox" not in log and "Overfull \\vbox" not in log, re.findall(r"Overfull.*", log)


TORCH_MODEL = """
import torchvision

def build():
    return torchvision.models.resnet18()
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_torch_fragment_renders(capsys: pytest.CaptureFixture[str], tmp_path: Path, engine: str) -> None:
    """complexa torch's tables of resnet18 with symbolic sizes: ceilings in every cell, long sums cut into lines."""
    pytest.importorskip("torchvision")
    import conftest  # noqa: F401  # torchvision's operator schemas beside torch's CPU wheel

    (tmp_path / "model.py").write_text(TORCH_MODEL)
    argv = ["torch", f"{tmp_path / 'model.py'}:build", "--input", "B,3,H,W", "--format", "latex"]
    fragment = _output(capsys, argv).strip()
    assert "\\lceil" in fragment and "\\begin{array}{l}" in fragment
    if engine == "pdflatex":
        _pdflatex(
            "\\documentclass{article}\n\\usepackage[landscape,a3paper,margin=1cm]{geometry}\n\\usepackage{amsmath}\n"
            f"\\begin{{document}}\n\\[\n{fragment}\n\\]\n\\end{{document}}\n",
            tmp_path,
        )
    else:
        _katex([fragment])
