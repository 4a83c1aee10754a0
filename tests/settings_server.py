"""Settings of the embedded server that ``tests/test_embedded_server.py`` starts as a real process."""

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.server_urls"
