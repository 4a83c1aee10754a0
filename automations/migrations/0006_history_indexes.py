"""Smaller indexes for a long history, and one to find the oldest finished instances.

The task table's indexes of its foreign keys and of ``created`` covered every row; most rows are
finished tasks with empty foreign keys, which no query looks for. ``automation`` is indexed by
``automations_task_open`` (its first column); the others now index only the rows queries find.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from automations import settings as atm_settings

GROUP_MODEL = atm_settings.get("ATM_GROUP_MODEL")


def optional_key(to, verbose_name):
    return models.ForeignKey(
        blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
        to=to, verbose_name=verbose_name,
    )  # fmt: skip


def only_set(field, name):
    return models.Index(condition=models.Q((f"{field}__isnull", False)), fields=[field], name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0005_unique_active_key"),
        migrations.swappable_dependency(GROUP_MODEL),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="automationtaskmodel",
            name="automation",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, to="automations.automationmodel",
                verbose_name="automation",
            ),  # fmt: skip
        ),
        migrations.AlterField(
            model_name="automationtaskmodel",
            name="created",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="automationtaskmodel",
            name="finished_by",
            field=optional_key(settings.AUTH_USER_MODEL, "finished by"),
        ),
        migrations.AlterField(
            model_name="automationtaskmodel",
            name="interaction_group",
            field=optional_key(GROUP_MODEL, "assigned group"),
        ),
        migrations.AlterField(
            model_name="automationtaskmodel",
            name="interaction_user",
            field=optional_key(settings.AUTH_USER_MODEL, "assigned user"),
        ),
        migrations.AddIndex(
            model_name="automationmodel",
            index=models.Index(
                condition=models.Q(("status", "finished")), fields=["updated", "id"], name="automations_finished"
            ),
        ),
        migrations.AddIndex(
            model_name="automationtaskmodel",
            index=models.Index(
                condition=models.Q(("finished__isnull", True)), fields=["created"],
                name="automations_task_open_created",
            ),  # fmt: skip
        ),
        migrations.AddIndex(
            model_name="automationtaskmodel", index=only_set("interaction_user", "automations_task_user")
        ),
        migrations.AddIndex(
            model_name="automationtaskmodel", index=only_set("interaction_group", "automations_task_group")
        ),
        migrations.AddIndex(
            model_name="automationtaskmodel", index=only_set("finished_by", "automations_task_finisher")
        ),
    ]
