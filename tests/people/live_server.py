"""A real server for browser tests and benchmarks: daphne serving the site's ASGI routing.

``python -m tests.people.live_server PORT`` serves HTTP (with static files) and websockets on
127.0.0.1:PORT with the settings of ``DJANGO_SETTINGS_MODULE``; ``ATM_LIVE_DATABASE_NAME``
replaces the default database's name (a test database). :func:`running_server` starts one in a
separate process and waits until it answers.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(*, database_name=None, settings_module=None, startup_timeout=30):
    """Start the server in a separate process; yield its base URL; stop it afterwards."""
    port = free_port()
    env = dict(os.environ)
    if settings_module:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    if database_name:
        env["ATM_LIVE_DATABASE_NAME"] = str(database_name)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.people.live_server", str(port)], cwd=ROOT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, startup_timeout)
        yield url
    finally:
        stop(process)


def stop(process, timeout=10) -> None:
    """Terminate ``process``; kill it if it is still there after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_up(url, process, timeout, path="/static/automations/tasks.js"):
    """Wait until the server ``process`` answers at ``url + path``; raise if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The live server exited with {process.returncode}.")
        try:
            urllib.request.urlopen(url + path, timeout=1).close()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"The live server did not answer at {url} within {timeout} s.")


def logged_in_page(browser, url, user, timeout_ms=15_000):
    """Return a new Playwright page of ``browser`` with ``user`` logged in to the server at ``url``."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}])
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    return page


def serve(port: int) -> None:
    """Serve the site on 127.0.0.1:``port`` until terminated."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import daphne.server  # noqa: F401 - installs Twisted's asyncio reactor before anything else can
    import django
    from django.conf import settings

    name = os.environ.get("ATM_LIVE_DATABASE_NAME")
    if name:
        settings.DATABASES["default"]["NAME"] = name
    django.setup()
    from daphne.server import Server
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from routing import build_application

    application = build_application(ASGIStaticFilesHandler(get_asgi_application()))
    Server(application, endpoints=[f"tcp:port={port}:interface=127.0.0.1"], verbosity=0).run()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
