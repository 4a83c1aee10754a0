"""django CMS stays optional: these tests run with and without django-cms installed."""

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parent.parent

WITHOUT_CMS = """
import sys
sys.modules["cms"] = None  # as if django-cms were not installed
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
import django
django.setup()
import automations, automations.flow, automations.models, automations.engine
from django.core.management import call_command
call_command("check")
assert not [name for name in sys.modules if name == "cms" and sys.modules[name] is not None]
print("ok")
"""


def test_the_package_imports_and_checks_pass_without_django_cms():
    env = {**os.environ, "DJANGO_DEBUG": "1"}  # the site's development settings
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_CMS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "ok"


def test_the_cms_sub_app_explains_how_to_install_django_cms(monkeypatch):
    monkeypatch.setitem(sys.modules, "cms", None)
    monkeypatch.delitem(sys.modules, "automations.cms_automations", raising=False)

    with pytest.raises(ImproperlyConfigured, match=r'pip install "django-automations\[cms\]"'):
        importlib.import_module("automations.cms_automations")


def test_django_cms_is_only_pulled_in_by_the_cms_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert not [dep for dep in project["dependencies"] if dep.lower().startswith("django-cms")]
    assert project["optional-dependencies"]["cms"] == ["django-cms>=5.1"]
