"""Apply the plans of :mod:`automations.upgrade.plan` to the rows of a 0.9 database (migration 0008)."""

from __future__ import annotations

from django.utils import timezone

from automations.upgrade.plan import plan_instances

BATCH = 500  # instances planned and written at a time, with all their tasks

INSTANCE_FIELDS = ("id", "automation_class", "finished", "wake_at", "key", "created", "updated")
TASK_FIELDS = (
    "id", "automation_id", "status", "created", "finished", "message", "result", "previous_id",
    "requires_interaction", "interaction_user_id", "interaction_group_id",
)  # fmt: skip


def plans(automation_model, task_model, *, now=None, wake_field="wake_at"):
    """Yield the plan of every instance, reading the rows through the given (historical) models.

    ``wake_field`` names the wake time column: ``paused_until`` in the 0.9 tables, ``wake_at``
    once migration 0007 renamed it.
    """
    now = now or timezone.now()
    ids = list(automation_model.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        fields = [wake_field if name == "wake_at" else name for name in INSTANCE_FIELDS]
        instances = [
            {("wake_at" if name == wake_field else name): value for name, value in row.items()}
            for row in automation_model.objects.filter(pk__in=batch).values(*fields)
        ]
        tasks = task_model.objects.filter(automation_id__in=batch).order_by("pk").values(*TASK_FIELDS)
        yield from plan_instances(instances, list(tasks), now=now)


def forwards(apps, schema_editor):
    """Carry every instance over (the ``RunPython`` of migration ``0008_upgrade_rows``)."""
    alias = schema_editor.connection.alias
    automation_model = apps.get_model("automations", "AutomationModel")
    task_model = apps.get_model("automations", "AutomationTaskModel")
    automations = automation_model.objects.using(alias)
    tasks = task_model.objects.using(alias)
    for plan in plans(_Using(automation_model, alias), _Using(task_model, alias)):
        if plan.instance_update:
            automations.filter(pk=plan.id).update(**plan.instance_update)
        for task_id, fields in plan.task_updates.items():
            tasks.filter(pk=task_id).update(**fields)


class _Using:
    """A model whose ``objects`` reads from one database alias."""

    def __init__(self, model, alias):
        self.objects = model.objects.using(alias)
