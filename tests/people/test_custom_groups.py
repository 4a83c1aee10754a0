"""Non-standard groups: ``tests/teams`` runs with ``tests.settings_groups`` in a process of its own.

The group model is fixed when Django loads its models, so a swapped ``ATM_GROUP_MODEL`` cannot be
switched on within this test process.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_forms_work_with_a_group_model_of_the_projects_own():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--ds=tests.settings_groups",
        "tests/teams/custom_group_checks.py",
    ]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 passed" in run.stdout
