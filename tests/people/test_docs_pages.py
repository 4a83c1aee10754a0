"""Run the examples of docs/forms.md and docs/views.md.

A code block fenced as ```` ```python runnable ```` is executed; the blocks of one page run in
order, in one namespace, in a fresh database, with the ``clock`` fixture as ``clock``.
Tracebacks point at the Markdown file and line.
"""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
RUNNABLE_FENCE = re.compile(r"^```python runnable\s*$")
CLOSING_FENCE = re.compile(r"^```\s*$")


def runnable_blocks(text):
    blocks, lines, start = [], text.splitlines(), None
    for number, line in enumerate(lines, start=1):
        if start is None:
            if RUNNABLE_FENCE.match(line):
                start = number + 1
        elif CLOSING_FENCE.match(line):
            blocks.append((start, "\n".join(lines[start - 1 : number - 1]) + "\n"))
            start = None
    assert start is None, f"The runnable block starting at line {start - 1} is never closed."
    return blocks


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", ["forms.md", "views.md"])
def test_runnable_examples(page, clock):
    path = DOCS / page
    namespace = {"__name__": "docs." + path.stem, "clock": clock}
    blocks = runnable_blocks(path.read_text(encoding="utf-8"))
    assert blocks, f"docs/{page} has no runnable examples"
    for first_line, code in blocks:
        exec(compile("\n" * (first_line - 1) + code, str(path), "exec"), namespace)
