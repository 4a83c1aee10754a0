"""Deadlines: an open task keeps the moment its node's ``.Deadline()`` expires, for task lists' order."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0008_task_handover"),
    ]

    operations = [
        migrations.AddField(
            model_name="automationtaskmodel",
            name="deadline",
            field=models.DateTimeField(blank=True, null=True, verbose_name="deadline"),
        ),
    ]
