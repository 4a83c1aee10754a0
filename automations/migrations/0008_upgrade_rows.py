from django.db import migrations

from automations.upgrade import convert


class Migration(migrations.Migration):
    """Carry the 0.9 instances over: positions, paths, wake times, repeats, errors (irreversible)."""

    dependencies = [
        ('automations', '0007_upgrade_fields'),
    ]

    operations = [
        migrations.RunPython(convert.forwards, elidable=True),
    ]
