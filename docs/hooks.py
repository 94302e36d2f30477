"""mkdocs hooks: show the ``>>>`` examples of complexa's docstrings as code on the API page.

complexa's docstrings carry bare doctest examples, which the test suite runs; Markdown would otherwise run their
lines together into one paragraph and read ``x[0][1]`` as a link. A small Markdown preprocessor fences every run of
lines that starts with ``>>>`` (outside an existing fence) as a ``pycon`` block, for the pages and for the docstrings
mkdocstrings renders with the same extensions.
"""

from __future__ import annotations

from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority


class _DoctestFences(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fenced = in_example = False
        for line in lines:
            if in_example and not line.strip():
                out += ["```", ""]
                in_example = False
            if not in_example and line.lstrip().startswith("```"):
                fenced = not fenced
            elif not fenced and not in_example and line.startswith(">>>"):
                out += ["", "```pycon"]
                in_example = True
            out.append(line)
        if in_example:
            out.append("```")
        return out


class DoctestFences(Extension):
    """Fence bare doctest examples as ``pycon`` code blocks."""

    def extendMarkdown(self, md: Markdown) -> None:  # Python-Markdown names it so
        # Before pymdownx.superfences (priority 28), which then treats the new fences like any other.
        md.preprocessors.register(_DoctestFences(md), "complexa_doctest_fences", 40)


@event_priority(100)  # before mkdocstrings reads the Markdown extensions
def on_config(config: Any) -> Any:
    config.markdown_extensions.append(DoctestFences())
    return config
