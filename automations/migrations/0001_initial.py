import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from automations import settings as atm_settings

GROUP_MODEL = atm_settings.get("ATM_GROUP_MODEL")


class Migration(migrations.Migration):
    """The tables as django-automations 0.9.4.x left them, whole.

    0.9.4.x sites have this and the five migrations after it recorded as applied; only their end
    state is known and needed, so this migration creates it and ``0002``-``0006`` change nothing.
    Fresh databases never run it: ``0001_squashed_0009_upgrade_schema`` replaces it.
    """

    initial = True

    dependencies = [
        migrations.swappable_dependency(GROUP_MODEL),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AutomationModel',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('automation_class', models.CharField(max_length=256)),
                ('finished', models.BooleanField(default=False)),
                ('data', models.JSONField(default=dict)),
                ('paused_until', models.DateTimeField(null=True)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('updated', models.DateTimeField(auto_now=True)),
                ('key', models.CharField(default='', max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name='AutomationTaskModel',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(max_length=256)),
                ('locked', models.IntegerField(default=0)),
                ('interaction_permissions', models.JSONField(default=list)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('finished', models.DateTimeField(null=True)),
                ('message', models.CharField(default='', max_length=128)),
                ('result', models.JSONField(null=True)),
                ('automation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='automations.automationmodel')),
                ('interaction_group', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=GROUP_MODEL)),
                ('interaction_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('requires_interaction', models.BooleanField(default=False)),
                ('previous', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='automations.automationtaskmodel')),
            ],
        ),
    ]
