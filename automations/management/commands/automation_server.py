import asyncio
import logging

from daphne.management.commands.runserver import Command as DaphneRunserver
from daphne.server import Server  # installs Twisted's asyncio reactor: import before the reactor
from django.db import DEFAULT_DB_ALIAS
from twisted.internet import reactor

from automations.events import wakeups
from automations.worker import Scheduler

logger = logging.getLogger("automations.scheduler")


class EmbeddedSchedulerServer(Server):
    """daphne's server with the scheduler worker running on the same event loop."""

    def run(self):
        wakeups.choose_runner(wakeups.WORKER)  # wake-ups in this process go to the embedded worker
        self.scheduler_failure = None
        reactor.callWhenRunning(self._start_scheduler)
        super().run()
        if self.scheduler_failure is not None:  # a server whose worker is gone must not look alive
            raise SystemExit(1)

    def _start_scheduler(self):
        self.scheduler = Scheduler()
        self.scheduler_task = asyncio.ensure_future(self.scheduler.arun())
        self.scheduler_task.add_done_callback(self._scheduler_stopped)

    def _scheduler_stopped(self, task):
        if not task.cancelled() and task.exception() is not None:
            failure = task.exception()
            logger.critical("The embedded scheduler worker stopped; the server stops.", exc_info=failure)
            self.scheduler_failure = failure
            reactor.stop()


class Command(DaphneRunserver):
    help = (
        "Serve HTTP and websockets with daphne and run the scheduler worker in the same process: "
        "the one-command way to run Django Automations (embedded mode)."
    )
    server_cls = EmbeddedSchedulerServer

    def check(self, *args, **kwargs):
        """Run the system checks with the database ones: instances a deploy would strand (W040/E040)."""
        kwargs.setdefault("databases", [DEFAULT_DB_ALIAS])
        return super().check(*args, **kwargs)
