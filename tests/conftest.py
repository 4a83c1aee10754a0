import os
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points

import pytest

REQUIRE_SERVICES = os.environ.get("ATM_REQUIRE_SERVICES") == "1"

# The test kit's plugin comes with the installed package's entry point; from a checkout whose
# installed metadata predates it, it is loaded here.
if not entry_points(group="pytest11", name="automations"):
    pytest_plugins = ["automations.testing.pytest_plugin"]


class Clock:
    """A controllable ``django.utils.timezone.now``."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Freeze ``timezone.now()`` at 2030-01-07 09:00 UTC; ``clock.advance(minutes=5)`` moves it."""
    from django.utils import timezone

    fake = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", fake)
    return fake


@pytest.fixture(autouse=True)
def _forget_automations_declared_in_tests():
    """Unregister automation classes declared inside a test once it is over."""
    from automations import registry

    saved = registry.all_automations()
    yield
    registry._automations.clear()
    registry._automations.update(saved)
