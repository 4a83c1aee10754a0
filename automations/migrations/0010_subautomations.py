"""Sub-automations: an instance started by another one's SubAutomation node names it as its parent."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0009_retries_deadlines"),
    ]

    operations = [
        migrations.AddField(
            model_name="automationmodel",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text="The instance whose SubAutomation node started this one and waits for it.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="children",
                to="automations.automationmodel",
                verbose_name="started by",
            ),
        ),
    ]
