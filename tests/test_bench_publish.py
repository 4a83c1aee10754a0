"""The publish-burst benchmark runs end to end on a tiny burst (PostgreSQL, its own redis-server).

No timings are asserted: the run must confirm every start, drop no receipt and apply each start once.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REQUIRE_SERVICES

pytestmark = [pytest.mark.bench, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent


def test_publish_burst_bench_runs_quick():
    url = os.environ.get("DATABASE_URL", "")
    missing = []
    if not url.startswith(("postgres://", "postgresql://")):
        missing.append("DATABASE_URL=postgres://...")
    if not shutil.which("redis-server"):
        missing.append("redis-server on PATH")
    if missing:
        if REQUIRE_SERVICES:
            pytest.fail(f"ATM_REQUIRE_SERVICES=1, but the benchmark needs {' and '.join(missing)}.")
        pytest.skip(f"needs {' and '.join(missing)}")
    name = f"{urlsplit(url).path.lstrip('/') or 'postgres'}_bench_publish"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "publish_burst.py"), "--quick", "--database-name", name],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "200 confirmed automation.start events, 20 in flight" in output
    assert "not confirmed (raised)                   0" in output
    assert "receipts dropped by the workers          0" in output
    assert "200 instances (200 distinct starts)" in output
