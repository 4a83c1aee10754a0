from django.core.management.base import BaseCommand

from automations.models import AutomationModel


class Command(BaseCommand):
    help = "Advance every due automation instance once (the fallback for sites without a scheduler worker)."

    def handle(self, *args, **options):
        counts = AutomationModel.run()
        self.stdout.write(
            "Advanced {advanced} automation instance(s): {finished} finished, {errors} stopped with an "
            "error, {skipped} skipped (held by another worker or no longer due); {postponed} still waiting "
            "for a condition.".format(**counts)
        )
