"""The JSON API stays optional: without Django REST framework the site runs, without the API's urls."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_DRF = """
import sys
sys.modules["rest_framework"] = None  # as if the api extra were not installed
sys.modules["drf_spectacular"] = None
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
import django
django.setup()
from django.apps import apps
from django.core.management import call_command
from django.urls import Resolver404, resolve
call_command("check")
import consumers, automations.api.describe, automations.api.form_schema  # the sockets' JSON needs no DRF
assert not apps.is_installed("rest_framework")
from automations.api import socket_auth  # the sockets' token logins load, and log nobody in
assert not socket_auth.tokens_in_use() and socket_auth.token_user_id("0" * 40) is None
assert resolve("/automations/tasks/").url_name == "task_list"
try:
    resolve("/automations/api/tasks/")
except Resolver404:
    print("ok")
"""


def test_the_site_runs_without_the_api_extra():
    env = {**os.environ, "DJANGO_DEBUG": "1"}  # the site's development settings
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_DRF], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "ok"


def test_ci_installs_the_api_with_the_test_extra():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "django-automations[api]" in extras["test"]
    assert any(requirement.startswith("schemathesis") for requirement in extras["test"])
    assert {requirement.split(">")[0] for requirement in extras["api"]} == {
        "djangorestframework",
        "drf-spectacular",
    }
