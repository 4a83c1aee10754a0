"""Run the examples of the documentation, so that the docs cannot drift from the code.

A code block whose fence reads ```` ```python runnable ```` is executed; other blocks are only shown.
The runnable blocks of one page run in order, in one namespace, in a fresh database, with the
test kit's frozen clock available as ``clock`` (``clock.jump(days=3)`` stands for time passing while
nothing runs, ``clock.advance(days=3)`` for time passing with the scheduler at work).
Tracebacks point at the Markdown file and line.
"""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = [
    "getting-started.md",
    "tutorial.md",
    "reference.md",
    "retries.md",
    "forms.md",
    "people.md",
    "views.md",
    "diagram.md",
    "admin.md",
    "events.md",
    "deployment.md",
    "testing.md",
    "versions.md",
    "upgrading.md",
    "api.md",
    "fan-out.md",
    "long-steps.md",
]
RUNNABLE_FENCE = re.compile(r"^```python runnable\s*$")
CLOSING_FENCE = re.compile(r"^```\s*$")


def runnable_blocks(text: str) -> list[tuple[int, str]]:
    """Return ``(first code line number, code)`` for each runnable block of a Markdown ``text``."""
    blocks, lines, start = [], text.splitlines(), None
    for number, line in enumerate(lines, start=1):
        if start is None:
            if RUNNABLE_FENCE.match(line):
                start = number + 1
        elif CLOSING_FENCE.match(line):
            blocks.append((start, "\n".join(lines[start - 1 : number - 1]) + "\n"))
            start = None
    if start is not None:
        raise ValueError(f"The runnable block starting at line {start - 1} is never closed.")
    return blocks


def run_page(path: Path, namespace: dict) -> int:
    """Execute the runnable blocks of ``path`` in ``namespace``; return how many ran."""
    blocks = runnable_blocks(path.read_text(encoding="utf-8"))
    for first_line, code in blocks:
        # Padding with blank lines makes tracebacks show the Markdown file's own line numbers.
        exec(compile("\n" * (first_line - 1) + code, str(path), "exec"), namespace)
    return len(blocks)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", PAGES)
def test_runnable_examples(page, clock):
    namespace = {"__name__": "docs." + Path(page).stem.replace("-", "_"), "clock": clock}
    assert run_page(DOCS / page, namespace) > 0, f"docs/{page} has no runnable examples"


# -- the extraction itself ------------------------------------------------------------------------

SAMPLE = """# Title

```python runnable
x = 1
```

```python
not run
```

Text.

```python runnable
assert x == 1
y = 2
```
"""


def test_only_runnable_blocks_are_extracted_with_their_line_numbers():
    assert runnable_blocks(SAMPLE) == [(4, "x = 1\n"), (14, "assert x == 1\ny = 2\n")]


def test_an_unclosed_block_is_an_error():
    with pytest.raises(ValueError, match="line 3 is never closed"):
        runnable_blocks("text\n\n```python runnable\nx = 1\n")


def test_a_failing_example_fails_and_names_its_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(SAMPLE.replace("assert x == 1", "assert x == 2"), encoding="utf-8")
    with pytest.raises(AssertionError) as failure:
        run_page(page, {})
    assert failure.traceback[-1].lineno + 1 == 14
    assert str(failure.traceback[-1].path) == str(page)


# -- links between the pages ----------------------------------------------------------------------

LINK = re.compile(r"\]\(([\w-]+\.md)?(?:#([\w-]+))?\)")
PAGES_WRITTEN_ELSEWHERE = {"forms.md", "views.md", "events.md", "deployment.md", "cms.md"}


def heading_anchors(text: str) -> set[str]:
    """Return the anchors GitHub makes of a Markdown text's headings."""
    anchors = set()
    for line in text.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("page", ["index.md", *PAGES])
def test_links_between_pages_resolve(page):
    for target, anchor in LINK.findall((DOCS / page).read_text(encoding="utf-8")):
        path = DOCS / (target or page)
        if not path.exists():
            assert target in PAGES_WRITTEN_ELSEWHERE, f"docs/{page} links to a missing page {target}"
            continue
        if anchor:
            assert anchor in heading_anchors(path.read_text(encoding="utf-8")), f"docs/{page}: no #{anchor}"


def test_heading_anchors_follow_github():
    assert heading_anchors('## References: `This` and `"self.name"`\n### `flow.End()`') == {
        "references-this-and-selfname",
        "flowend",
    }
