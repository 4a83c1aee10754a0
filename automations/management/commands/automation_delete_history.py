from django.core.management.base import BaseCommand

from automations.models import AutomationModel


class Command(BaseCommand):
    help = "Delete automation instances (and their tasks) that finished more than DAYS days ago."

    def add_arguments(self, parser):
        parser.add_argument("days", nargs="?", type=int, default=30, help="Age in days (default 30).")

    def handle(self, *args, days, **options):
        total, per_model = AutomationModel.delete_history(days=days)
        details = ", ".join(f"{label}: {count}" for label, count in sorted(per_model.items())) or "nothing"
        self.stdout.write(f"Deleted {total} object(s) finished more than {days} day(s) ago ({details}).")
