"""``manage.py automation_upgrade_check``: what migrating a django-automations 0.9 database will do."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from automations.management.commands.automation_versions import write_findings
from automations.upgrade import convert, legacy
from automations.versions import report


class Command(BaseCommand):
    help = (
        "Before migrating a database of django-automations 0.9.4.x: show where each instance moves "
        "and what cannot be carried over. Changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database to check.")
        parser.add_argument(
            "--fail-on-problems", action="store_true", help="Fail if anything cannot be carried over."
        )

    def handle(self, *args, database, fail_on_problems, verbosity, **options):
        connection = connections[database]
        state = legacy.state(connection)
        if state == "partial":
            raise CommandError(
                "This database has only some of the migrations of django-automations 0.9 applied. "
                "Upgrade to 0.9.4.1 and migrate first (pip install django-automations==0.9.4.1)."
            )
        if state != "legacy":
            self.stdout.write("Nothing to upgrade: this database has no tables of django-automations 0.9.")
            return
        automation_model, task_model = legacy.models(connection)
        counts = {"running": 0, "finished": 0, "error": 0}
        problems, positions, new_keys = [], [], 0
        for plan in convert.plans(automation_model, task_model, wake_field="paused_until"):
            counts[plan.state] += 1
            if plan.state != "finished" or verbosity > 1:
                self.stdout.write(plan.describe())
            problems += [f"#{plan.id} {plan.automation_class}: {problem}" for problem in plan.problems]
            new_keys += "key" in plan.instance_update
            if plan.state == "running":
                positions += [(plan.id, plan.automation_class, position.node) for position in plan.positions]
        self.stdout.write(
            f"{counts['running']} running, {counts['error']} listed among errors, "
            f"{counts['finished']} finished (kept as history)."
        )
        if new_keys:
            self.stdout.write(
                f"{new_keys} instance(s) get the key their get_key() returned in 0.9 (it was not the one "
                "stored), so that the links 0.9 made keep working."
            )
        # The nodes the running instances stand on, as automation_versions --check reports them.
        findings = report.compare_positions(positions)
        write_findings(self, findings)
        stranded = report.failing_summary(findings)
        if stranded:
            self.stdout.write(self.style.WARNING(stranded))
        if not problems:
            self.stdout.write(self.style.SUCCESS("Everything can be carried over."))
            return
        self.stdout.write(self.style.WARNING(f"{len(problems)} cannot be carried over as they are:"))
        for problem in problems:
            self.stdout.write(f"  {problem}")
        if fail_on_problems:
            raise CommandError("Some instances cannot be carried over as they are.")
