"""The scheduler worker's tasks, supervised: one that ends unexpectedly is logged and restarted.

If they keep ending (more than ``ATM_MAX_RESTARTS`` times within ``ATM_RESTART_WINDOW`` seconds),
the worker stops with :class:`SchedulerFailedError`, so that the process exits and its supervisor
restarts it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async

from automations import settings as atm_settings
from automations.exceptions import AutomationsError

logger = logging.getLogger("automations.scheduler")


class SchedulerFailedError(AutomationsError, RuntimeError):
    """The scheduler's tasks kept failing: the process should exit and be restarted."""


class Supervised:
    """What :class:`~automations.worker.Scheduler` does with its tasks: spawn, supervise, restart."""

    loop: asyncio.AbstractEventLoop | None  # the Scheduler's attributes
    _tasks: set[asyncio.Task]
    _services: dict[asyncio.Task, tuple[str, object]]

    def services(self) -> dict[str, asyncio.Task]:
        """Return the worker's supervised tasks by name (``"heartbeat"``, ``"listener"``, ``"intake"``,
        ``"applier"``, ``"periodic sweep"``, ``"history retention"``); a task restarted after it
        ended replaces the old one."""
        return {name: task for task, (name, _) in self._services.items()}

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine, context=fresh_context())
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _service(self, name, factory) -> asyncio.Task:
        """Run ``factory()`` as a task that is restarted if it ever ends while the worker runs."""
        task = self._spawn(factory())
        self._services[task] = (name, factory)
        return task

    def _finished(self, task):
        self._tasks.discard(task)
        service = self._services.pop(task, None)
        failure = None if task.cancelled() else task.exception()
        if service is None:
            if failure is not None:
                logger.error("A scheduler task failed.", exc_info=failure)
            return
        if self._closing:
            return
        name, factory = service
        now = time.monotonic()
        window = atm_settings.get("ATM_RESTART_WINDOW")
        self._restarts = [moment for moment in self._restarts if now - moment < window]
        self._restarts.append(now)
        if len(self._restarts) > atm_settings.get("ATM_MAX_RESTARTS"):
            logger.critical("The scheduler's %s task ended unexpectedly %d times in %g s; the worker stops.",
                            name, len(self._restarts), window, exc_info=failure)  # fmt: skip
            self.failure = failure or RuntimeError(f"the {name} task kept ending")
            self.stop()
            return
        logger.error("The scheduler's %s task ended unexpectedly; restarting it.", name, exc_info=failure)
        delay = 0.1 * len(self._restarts)
        self.loop.call_later(delay, self._restart, name, factory, context=fresh_context())

    def _restart(self, name, factory):
        if not self._closing:
            self._service(name, factory)

    def _side(self, func):
        """Run sync ``func`` on the worker's own database thread, beside the engine's thread."""
        if self._side_executor is None:
            self._side_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="automations-intake")
        return database_sync_to_async(func, thread_sensitive=False, executor=self._side_executor)


def fresh_context() -> contextvars.Context:
    """Return an empty context for the scheduler's own callbacks and tasks.

    A hint arrives from the engine's database thread; a callback or task started from it would
    inherit the context of that ``database_sync_to_async`` call, in which asgiref refuses another
    call ("would deadlock").
    """
    return contextvars.Context()
