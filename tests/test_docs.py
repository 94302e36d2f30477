"""Every code example in the README and the docs runs, and prints what the page says it prints."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text())


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path) -> None:
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


def test_every_page_has_examples_or_is_prose() -> None:
    assert _blocks(ROOT / "docs" / "essay.md")


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
