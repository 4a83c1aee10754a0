import os
from importlib.metadata import entry_points

import pytest
from asgiref.sync import async_to_sync
from django.utils import translation

REQUIRE_SERVICES = os.environ.get("ATM_REQUIRE_SERVICES") == "1"

# The test kit's plugin comes with the installed package's entry point; from a checkout whose
# installed metadata predates it, it is loaded here.
if not entry_points(group="pytest11", name="automations"):
    pytest_plugins = ["automations.testing.pytest_plugin"]


@pytest.fixture
def clock(automation_clock):
    """The test kit's frozen clock at 2030-01-07 09:00 UTC (``automation_clock``), by a short name.

    ``clock.advance(minutes=5)`` runs what falls due on the way; ``clock.jump(minutes=5)`` only
    moves the time, for tests of the stepping itself and of late runs.
    """
    return automation_clock


@pytest.fixture(autouse=True)
def _restore_the_active_language():
    """Put back the language active before the test: Django's LocaleMiddleware activates the language
    of each request the test client makes, and leaves it active in the test's thread after it."""
    with translation.override(translation.get_language()):
        yield


@pytest.fixture(autouse=True)
def _empty_the_channel_layer():
    """Drop what a test left in the channel layer (in memory for the process, or in Redis).

    An event left there (a wake-up a step published with ``ATM_WORKER`` on) would be taken by the
    next test that reads the channel, ``automation_step`` for one, whose database thread then closes
    the connection of that test's transaction.
    """
    from channels.layers import get_channel_layer

    yield
    layer = get_channel_layer()
    if hasattr(layer, "flush"):
        async_to_sync(layer.flush)()


@pytest.fixture(autouse=True)
def _forget_automations_declared_in_tests():
    """Unregister automation classes declared inside a test once it is over."""
    from automations.testing import restored_registry

    with restored_registry():
        yield


@pytest.fixture
def redis_url():
    """``REDIS_URL``; without it the test fails where services are required (CI), else it skips."""
    url = os.environ.get("REDIS_URL")
    if not url:
        if REQUIRE_SERVICES:
            pytest.fail("ATM_REQUIRE_SERVICES=1, but REDIS_URL is not set.")
        pytest.skip("needs Redis: set REDIS_URL=redis://...")
    return url
