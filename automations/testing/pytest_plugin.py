"""The pytest plugin of Django Automations: ``automation_clock`` and ``automation_worker``.

Registered by the ``pytest11`` entry point of the package, so installing Django Automations makes
the fixtures available; without the installed entry point, load it with
``-p automations.testing.pytest_plugin`` or ``pytest_plugins = ["automations.testing.pytest_plugin"]``.
Both fixtures need the database (pytest-django's ``db`` or ``transactional_db``; the worker needs
``transactional_db``, as it runs steps on threads of its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # both are imported on use: pytest loads this plugin before Django is set up
    from automations.worker import Scheduler

    from .clock import FrozenClock


@pytest.fixture
def automation_clock() -> Iterator[FrozenClock]:
    """Freeze the time of Django Automations at 2030-01-07 09:00 UTC; ``advance()`` runs what falls due."""
    from .clock import START, frozen_clock  # imported on use: the plugin loads before Django is set up

    with frozen_clock(START) as clock:
        yield clock


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the worker fixture needs pytest-asyncio
    has_pytest_asyncio = False
else:
    has_pytest_asyncio = True

if has_pytest_asyncio:

    @pytest_asyncio.fixture
    async def automation_worker() -> AsyncIterator[Scheduler]:
        """Run a scheduler worker in this process on the configured (in-memory) channel layer.

        Yield the :class:`~automations.worker.Scheduler` once its first sweep is done; events
        published with ``events.apublish`` are handled by it. It stops after the test.
        """
        # Imported on use: pytest loads this plugin in every run, before Django is set up.
        from channels.layers import get_channel_layer

        from automations.worker import Scheduler

        from .running import scheduler_running

        layer = get_channel_layer()
        if hasattr(layer, "flush"):
            await layer.flush()
        async with scheduler_running(Scheduler(channel_layer=layer, sweep_interval=3600)) as worker:
            yield worker
