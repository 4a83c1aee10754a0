from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management.base import BaseCommand

from automations import engine
from automations.events import inbox
from automations.models import AutomationModel
from automations.versions import retry
from automations.worker import take_waiting_events


class Command(BaseCommand):
    help = (
        "Take the events waiting in the channel, apply the stored events nobody applies, and advance "
        "every due automation instance once (the fallback for sites without a scheduler worker)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-channel", action="store_true",
            help="Do not take events from the channel layer; only apply stored events and advance instances.",
        )  # fmt: skip

    def handle(self, *args, no_channel=False, verbosity=1, **options):
        taken = 0
        if no_channel:
            pass
        elif get_channel_layer() is None:
            # No CHANNEL_LAYERS: the documented cron setup of a site without workers (0.9's too), where
            # events can only have been stored in the inbox. Nothing to warn about, on any run.
            if verbosity > 1:
                self.stdout.write("No channel layer is configured: no events to take from a channel.")
        else:
            taken = async_to_sync(take_waiting_events)()
        applied = inbox.apply_pending(limit=10_000)
        retry.retry_held()  # instances held on unknown nodes that a deploy has mapped since
        counts = AutomationModel.run()
        engine.sweep_jobs.run()  # the deadline reminders, as a worker's sweep runs them
        self.stdout.write(
            "Advanced {advanced} automation instance(s): {finished} finished, {errors} stopped with an "
            "error, {skipped} skipped (held by another worker or no longer due); {postponed} still waiting "
            "for a condition.".format(**counts)
        )
        if taken or any(applied.values()):
            self.stdout.write(
                f"Took {taken} event(s) from the channel; applied {applied['applied']} stored event(s), "
                f"{applied['rejected']} rejected, {applied['failed']} failed."
                + (f" {applied['locked']} wait for a held instance." if applied["locked"] else "")
            )
