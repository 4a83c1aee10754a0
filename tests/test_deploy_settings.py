"""The site's settings are production settings unless ``DJANGO_DEBUG=1``.

Each test starts a process of its own with exactly the environment it names, as a server would get
it: the site's ``settings`` module reads the environment once, when it is imported.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = ROOT / "docs" / "deployment.md"


def production_environment() -> dict:
    """Return the variables of the environment file in docs/deployment.md, with a real secret key."""
    text = DEPLOYMENT.read_text(encoding="utf-8")
    block = text.split("# /etc/mysite.env\n", 1)[1].split("```", 1)[0]
    variables = dict(line.split("=", 1) for line in block.splitlines() if line.strip())
    assert variables["DJANGO_SECRET_KEY"] == "..."  # the docs leave the key to the site
    variables["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    return variables


def run(arguments, variables, timeout=120):
    """Run ``python arguments`` in the checkout with only ``variables`` (and PATH, HOME) set."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "SYSTEMROOT") if name in os.environ}
    env.update(variables)
    return subprocess.run(
        [sys.executable, *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_deploy_check_passes_with_the_documented_production_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_fails_with_the_demo_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {"DJANGO_DEBUG": "1"})
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG
    assert "security.W009" in result.stderr  # the published demo key


SHOW_SETTINGS = "import settings; print(settings.DEBUG, settings.SECRET_KEY)"


def test_without_a_secret_key_production_settings_refuse_to_load():
    for debug in ({}, {"DJANGO_DEBUG": "0"}, {"DJANGO_DEBUG": "true"}):
        result = run(["-c", SHOW_SETTINGS], {"DJANGO_ALLOWED_HOSTS": "shop.example.com", **debug})
        assert result.returncode != 0
        assert "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_is_on_only_with_django_debug_1():
    result = run(["-c", SHOW_SETTINGS], {"DJANGO_DEBUG": "1"})
    assert result.stdout.split() == ["True", "django-automations-demo-not-secret"]
    for value in ("0", "yes", "True", ""):
        result = run(["-c", SHOW_SETTINGS], {"DJANGO_DEBUG": value, "DJANGO_SECRET_KEY": "k" * 50})
        assert result.stdout.split() == ["False", "k" * 50], value


# What an anonymous visitor sees of a production site: no URL patterns, no tracebacks, no settings.
VISIT = """
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import path
import demo.urls

def fail(request):
    raise RuntimeError("a local variable: " + "SECRET-IN-FRAME")

demo.urls.urlpatterns.append(path("fails/", fail))
setup_test_environment()
client = Client(raise_request_exception=False, HTTP_HOST="shop.example.com")
plain = client.get("/nowhere/")
missing = client.get("/nowhere/", secure=True)
failing = client.get("/fails/", secure=True)
print(plain.status_code, plain.get("Location"))
print(missing.status_code, failing.status_code)
print("URLconf" in missing.content.decode(), "Traceback" in failing.content.decode())
print("SECRET-IN-FRAME" in failing.content.decode(), failing.get("Strict-Transport-Security"))
"""


def test_an_anonymous_visitor_gets_no_debug_pages_from_production_settings():
    variables = production_environment()
    variables.update(DJANGO_SETTINGS_MODULE="settings", DATABASE_URL="", REDIS_URL="", ATM_WORKER="0")
    result = run(["-c", VISIT], variables)
    assert result.returncode == 0, result.stderr
    redirect, statuses, debug_pages, secrets_shown = result.stdout.splitlines()
    assert redirect == "301 https://shop.example.com/nowhere/"  # plain HTTP goes to HTTPS
    assert statuses == "404 500"
    assert debug_pages == "False False"
    assert re.fullmatch(r"False max-age=31536000; includeSubDomains; preload", secrets_shown)
