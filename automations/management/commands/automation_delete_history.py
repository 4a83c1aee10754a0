from django.core.management.base import BaseCommand, CommandError

from automations.models import AutomationModel


def _positive(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Delete automation instances (with their tasks and audit entries) that finished more than DAYS "
        "days ago, the oldest first, in batches of their own transactions."
    )

    def add_arguments(self, parser):
        parser.add_argument("days", nargs="?", type=int, default=30, help="Age in days (default 30).")
        parser.add_argument(
            "--batch-size",
            type=_positive,
            default=None,
            help="Most instances deleted in one transaction (default: the ATM_DELETE_BATCH setting, 500).",
        )

    def handle(self, *args, days, batch_size, verbosity, **options):
        if days < 0:
            raise CommandError(f"DAYS must not be negative, not {days}.")
        batches = []

        def progress(batch):
            batches.append(batch)
            if verbosity >= 2:
                so_far = sum(done.rows for done in batches)
                self.stdout.write(
                    f"Batch {len(batches)}: {batch.rows} instance(s) in {batch.seconds * 1000:.0f} ms "
                    f"({so_far} so far)."
                )

        total, per_model = AutomationModel.delete_history(days=days, batch_size=batch_size, progress=progress)
        details = ", ".join(f"{label}: {count}" for label, count in sorted(per_model.items())) or "nothing"
        self.stdout.write(
            f"Deleted {total} object(s) finished more than {days} day(s) ago ({details}) "
            f"in {len(batches)} batch(es)."
        )
