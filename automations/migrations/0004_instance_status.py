"""Each instance's lifecycle status in a column of its own, and audit entries as rows of their own.

The status of existing rows (including rows carried over from django-automations 0.9) is filled
from what they hold: finished, an error, the wake time, and open tasks at form nodes. The audit
lines that were task rows without a node become :class:`AuditEntry` rows; an instance that was
killed by hand becomes ``cancelled`` (its "Killed by ..." text is the reason, not an error).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

ACTIVE = ["running", "waiting_for_person", "waiting_for_time", "waiting_for_message"]
CHUNK = 500


def chunks(items):
    items = list(items)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def move_audit_lines(apps, schema_editor):
    """Turn the audit lines (task rows without a node) into AuditEntry rows; return the killed ids."""
    db = schema_editor.connection.alias
    task_model = apps.get_model("automations", "AutomationTaskModel")
    audit_model = apps.get_model("automations", "AuditEntry")
    lines = task_model.objects.using(db).filter(status="", result__has_key="audit")
    killed, entries, moved = set(), [], []
    for task in lines.iterator(chunk_size=CHUNK):
        result = task.result if isinstance(task.result, dict) else {}
        action = str(result.get("audit", ""))[:16]
        if action == "kill":
            action = "cancel"
            killed.add(task.automation_id)
        entries.append(
            audit_model(
                automation_id=task.automation_id,
                created=task.finished or task.created,
                user_id=task.finished_by_id,
                username=str(result.get("user", ""))[:150],
                action=action,
                reason=task.message if action == "cancel" else "",
                details={key: value for key, value in result.items() if key not in ("audit", "user")},
            )
        )
        moved.append(task.pk)
    audit_model.objects.using(db).bulk_create(entries, batch_size=CHUNK)
    for pks in chunks(moved):
        task_model.objects.using(db).filter(pk__in=pks).delete()
    return killed


def form_nodes(class_path):
    """Return the names of the form nodes of the automation class ``class_path`` (none if unknown)."""
    from automations import registry  # the code's classes, as they are when the migration runs
    from automations.flow.forms import Form

    try:
        cls = registry.get(class_path)
    except Exception:  # an unknown or broken class: its instances keep the status of their wake time
        return []
    return [name for name, node in cls._nodes.items() if isinstance(node, Form)]


def fill_status(apps, schema_editor):
    db = schema_editor.connection.alias
    automation_model = apps.get_model("automations", "AutomationModel")
    task_model = apps.get_model("automations", "AutomationTaskModel")
    instances = automation_model.objects.using(db)
    killed = move_audit_lines(apps, schema_editor)
    now = django.utils.timezone.now()
    instances.filter(finished=True).update(status="finished")
    for pks in chunks(killed):
        instances.filter(finished=False, pk__in=pks).update(status="cancelled", error="", wake_at=None)
    instances.filter(finished=False).exclude(error="").exclude(status="cancelled").update(status="failed")
    active = instances.filter(finished=False, error="").exclude(status="cancelled")
    active.filter(wake_at__isnull=True).update(status="waiting_for_message")
    active.filter(wake_at__gt=now).update(status="waiting_for_time")
    active.filter(wake_at__lte=now).update(status="running")
    open_tasks = task_model.objects.using(db).filter(finished=None, automation__status__in=ACTIVE)
    for class_path in open_tasks.values_list("automation__automation_class", flat=True).distinct():
        names = form_nodes(class_path)
        if names:
            waiting = open_tasks.filter(automation__automation_class=class_path, status__in=names)
            instances.filter(pk__in=waiting.values("automation_id")).update(status="waiting_for_person")


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0003_event_inbox"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="when"
                    ),
                ),
                (
                    "username",
                    models.CharField(blank=True, default="", max_length=150, verbose_name="user name"),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("wake", "wake"),
                            ("retry", "retry"),
                            ("cancel", "cancel"),
                            ("message", "message"),
                        ],
                        max_length=16,
                        verbose_name="what",
                    ),
                ),
                ("reason", models.TextField(blank=True, default="", verbose_name="reason")),
                ("details", models.JSONField(blank=True, default=dict, verbose_name="details")),
            ],
            options={
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit entries",
                "ordering": ["created", "pk"],
            },
        ),
        migrations.AddField(
            model_name="auditentry",
            name="automation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="audit_entries",
                to="automations.automationmodel",
                verbose_name="automation",
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="who",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="automationmodel",
            name="automations_unique_running",
        ),
        migrations.AddField(
            model_name="automationmodel",
            name="status",
            field=models.CharField(
                choices=[
                    ("running", "running"),
                    ("waiting_for_person", "waiting for a person"),
                    ("waiting_for_time", "waiting for time"),
                    ("waiting_for_message", "waiting for a message"),
                    ("failed", "failed"),
                    ("cancelled", "cancelled"),
                    ("finished", "finished"),
                ],
                db_index=True,
                default="running",
                max_length=32,
                verbose_name="status",
            ),
        ),
        migrations.RunPython(fill_status, migrations.RunPython.noop),
    ]
