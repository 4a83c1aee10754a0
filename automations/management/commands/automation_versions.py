"""``manage.py automation_versions``: the running instances compared with the declarations, for deploys."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from automations.versions import moving, operations, report, retry


def write_findings(command: BaseCommand, findings: list[report.Finding]) -> None:
    """Write one line per finding to ``command``'s output, the failing ones styled as errors."""
    for finding in findings:
        line = finding.describe()
        command.stdout.write(command.style.ERROR(line) if finding.fails else line)


class Command(BaseCommand):
    help = (
        "List the versions of each automation class that running instances started under, and the "
        "instances the current declarations would strand or send down a changed path, with what "
        "the pending MigrateAutomation operations would move. Changes nothing unless --wake."
    )
    requires_system_checks: list[str] = []  # this command is the check; it must run when it fails

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true",
            help="Exit non-zero if instances would be stranded or their path changed (for CI and deploys).",
        )  # fmt: skip
        parser.add_argument("--automation", default=None, help="Only this automation class (dotted path).")
        parser.add_argument(
            "--wake", action="store_true",
            help="Make due the instances on renamed or obsolete nodes and the held ones whose node is "
            "known now, so that their next step moves them (workers do this when they start).",
        )  # fmt: skip

    def handle(self, *args, check=False, automation=None, wake=False, verbosity=1, **options):
        if verbosity > 1:
            for entry in report.versions_in_use(automation):
                version = entry["version"]
                mark = " (current)" if entry["current"] else ""
                self.stdout.write(
                    f"{version.automation_class} v{version.label} {version.fingerprint[:12]}{mark}: "
                    f"{entry['running']} running"
                )
        pending = operations.pending(DEFAULT_DB_ALIAS)
        for migration, operation in pending:
            if automation is None or operation.automation_class == automation:
                plan = moving.planned(operation.automation_class, operation.nodes)
                self.stdout.write(f"{migration}: {operation.describe()} ({len(plan)} instances)")
                for move in plan:
                    self.stdout.write(f"  {move.describe()}")
        findings = report.compare(automation, moves=operations.pending_moves(DEFAULT_DB_ALIAS))
        write_findings(self, findings)
        if wake:
            self.stdout.write(f"Made {retry.wake_movable()} instance(s) due to move on.")
        message = report.failing_summary(findings)
        if message:
            if check:
                raise CommandError(message)
            self.stdout.write(self.style.WARNING(message))
        elif not findings:
            self.stdout.write(self.style.SUCCESS("Every running instance can go on as declared now."))
        else:
            self.stdout.write(
                self.style.SUCCESS("Every running instance can go on; the moves above are declared.")
            )
