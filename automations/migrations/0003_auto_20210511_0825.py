from django.db import migrations


class Migration(migrations.Migration):
    """A step of django-automations 0.9, recorded on 0.9.4.x sites; ``0001_initial`` made its changes."""

    dependencies = [
        ('automations', '0002_auto_20210506_1957'),
    ]

    operations = []
