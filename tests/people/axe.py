"""axe-core in the browser tests: load it into a Playwright page, run it, describe what it finds.

axe-core comes from npm (``package.json`` and ``package-lock.json`` at the top of the checkout;
``make test`` installs it into ``node_modules/``). Without it the tests that need it skip, except
where they must run: with ``ATM_REQUIRE_SERVICES=1`` or in CI (``CI`` set), they fail instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

# Returns one entry per violation: the rule, its impact, and the elements it found (at most five).
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    count: v.nodes.length,
  }));
}"""


def axe_source_or_skip() -> str:
    """Return the source of ``axe.min.js``; skip (or fail where it is required) if it is missing."""
    if AXE_JS.exists():
        return AXE_JS.read_text(encoding="utf-8")
    message = f"axe-core is not installed ({AXE_JS} is missing): run `npm ci` or `make test`"
    if os.environ.get("ATM_REQUIRE_SERVICES") == "1" or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def violations(page, axe_source: str) -> list[dict]:
    """Run axe-core on the page loaded in ``page``; return its violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)  # evaluated, not a <script>: a Content-Security-Policy cannot stop it
    return page.evaluate(RUN_AXE)


def blocking(found: list[dict]) -> list[dict]:
    """Return the violations of ``found`` whose impact is serious or critical."""
    return [violation for violation in found if violation["impact"] in BLOCKING]


def describe(where: str, found: list[dict]) -> list[str]:
    """Return one line per violation: where, rule id, impact, how many elements, and which."""
    return [
        f"{where}: {v['id']} ({v['impact']}, {v['count']} element(s)): {v['help']}; "
        f"targets: {', '.join(v['targets'])}"
        for v in found
    ]
