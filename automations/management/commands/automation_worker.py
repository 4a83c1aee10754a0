import asyncio
import signal

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from automations.events import wakeups
from automations.worker import Scheduler, SchedulerFailedError


class Command(BaseCommand):
    help = (
        "Run a scheduler worker: advance automation instances on channel-layer events, at their due "
        "times, and in periodic sweeps. Run any number of them against one database and channel layer."
    )

    def check(self, *args, **kwargs):
        """Run the system checks with the database ones: instances a deploy would strand (W040/E040)."""
        kwargs.setdefault("databases", [DEFAULT_DB_ALIAS])
        return super().check(*args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument(
            "--channel", default=None, help="Channel to listen on (default: ATM_CHANNEL_NAME, 'automations')."
        )
        parser.add_argument(
            "--sweep-interval", type=float, default=None,
            help="Seconds between sweeps for due instances (default: ATM_SWEEP_INTERVAL, 30).",
        )  # fmt: skip

    def handle(self, *args, channel=None, sweep_interval=None, **options):
        wakeups.choose_runner(wakeups.WORKER)  # wake-ups in this process go to this worker
        # database_sync_to_async closes connections older than CONN_MAX_AGE around every call: with
        # Django's default of 0 each event opened a new connection. All of this worker's database
        # work runs in one thread, which keeps its connection (checked before reuse).
        for connection in connections.all():
            connection.settings_dict.update(CONN_MAX_AGE=None, CONN_HEALTH_CHECKS=True)
        scheduler = Scheduler(channel=channel, sweep_interval=sweep_interval)
        try:
            asyncio.run(self._run(scheduler))
        except SchedulerFailedError as exc:  # exit non-zero, so that the supervisor restarts the worker
            raise CommandError(str(exc), returncode=1) from exc
        finally:
            wakeups.choose_runner(None)  # called in-process (tests), the process goes on without it
        self.stdout.write("Scheduler worker stopped.")

    async def _run(self, scheduler):
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, scheduler.stop)
        announcing = asyncio.create_task(self._announce(scheduler))
        try:
            await scheduler.arun()
        finally:
            announcing.cancel()

    async def _announce(self, scheduler):
        await scheduler.ready.wait()  # heartbeat recorded, first sweep done, listening next
        self.stdout.write(f"Scheduler worker {scheduler.name} listening on channel {scheduler.channel!r}.")
        self.stdout.flush()
