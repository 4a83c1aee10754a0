"""The unique key of an instance is unique among active instances (by status): a cancelled one frees it.

Apart from ``0004_instance_status`` so that the statuses it fills are committed first.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0004_instance_status"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="automationmodel",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        ["running", "waiting_for_person", "waiting_for_time", "waiting_for_message"],
                    )
                ),
                fields=("unique_key",),
                name="automations_unique_active",
            ),
        ),
    ]
