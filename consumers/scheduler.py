"""The scheduler worker as a Channels consumer, for ``manage.py runworker automations``.

The worker itself is :class:`automations.worker.Scheduler`; this consumer hands each message of
the channel to the process's scheduler. Prefer ``manage.py automation_worker``.
"""

from __future__ import annotations

from channels.consumer import AsyncConsumer

from automations.worker import process_scheduler


class SchedulerConsumer(AsyncConsumer):
    """The scheduler as a channel consumer, for ``manage.py runworker automations``.

    Channels' worker starts it at the first event; from then on the process also keeps timers and
    sweeps. Prefer ``manage.py automation_worker``, which sweeps from its start and survives events
    without a ``"type"`` (Channels' worker stops on those).
    """

    async def dispatch(self, message):
        await process_scheduler().dispatch(message)
