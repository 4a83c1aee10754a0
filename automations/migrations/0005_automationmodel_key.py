from django.db import migrations


class Migration(migrations.Migration):
    """A step of django-automations 0.9, recorded on 0.9.4.x sites; ``0001_initial`` made its changes."""

    dependencies = [
        ("automations", "0004_auto_20210511_1042"),
    ]

    operations = []
