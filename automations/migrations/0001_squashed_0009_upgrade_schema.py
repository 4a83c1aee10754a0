import automations.models
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from automations import settings as atm_settings

GROUP_MODEL = atm_settings.get("ATM_GROUP_MODEL")


class Migration(migrations.Migration):
    """The instance and task tables as they are today, created directly on a fresh database.

    It stands for the migrations of django-automations 0.9.4.x (``0001_initial`` to
    ``0006_auto_20211121_1357``) followed by ``0007`` to ``0009``, which convert their tables.
    A database where the 0.9 migrations are recorded runs those instead; see docs/upgrading.md.
    """

    initial = True

    replaces = [
        ('automations', '0001_initial'),
        ('automations', '0002_auto_20210506_1957'),
        ('automations', '0003_auto_20210511_0825'),
        ('automations', '0004_auto_20210511_1042'),
        ('automations', '0005_automationmodel_key'),
        ('automations', '0006_auto_20211121_1357'),
        ('automations', '0007_upgrade_fields'),
        ('automations', '0008_upgrade_rows'),
        ('automations', '0009_upgrade_schema'),
    ]

    dependencies = [
        migrations.swappable_dependency(GROUP_MODEL),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AutomationModel',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('automation_class', models.CharField(db_index=True, max_length=256, verbose_name='automation class')),
                ('data', models.JSONField(blank=True, default=dict, verbose_name='data')),
                ('finished', models.BooleanField(default=False, verbose_name='finished')),
                ('key', models.CharField(default=automations.models.new_key, editable=False, max_length=64, unique=True, verbose_name='key')),
                ('created', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('updated', models.DateTimeField(auto_now=True, verbose_name='updated')),
                ('wake_at', models.DateTimeField(blank=True, db_index=True, help_text='When the scheduler next advances this instance; empty while it waits for an event.', null=True, verbose_name='wake at')),
                ('error', models.TextField(blank=True, default='', verbose_name='error')),
                ('model_refs', models.JSONField(blank=True, default=dict, editable=False, verbose_name='model references')),
                ('unique_key', models.CharField(blank=True, editable=False, max_length=64, null=True)),
            ],
            options={
                'verbose_name': 'automation',
                'verbose_name_plural': 'automations',
                'constraints': [models.UniqueConstraint(condition=models.Q(('error', ''), ('finished', False)), fields=('unique_key',), name='automations_unique_running')],
            },
        ),
        migrations.CreateModel(
            name='AutomationTaskModel',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(blank=True, max_length=256, verbose_name='node')),
                ('created', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created')),
                ('finished', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                ('message', models.CharField(blank=True, default='', max_length=512, verbose_name='message')),
                ('result', models.JSONField(blank=True, null=True, verbose_name='result')),
                ('path', models.CharField(blank=True, default='', max_length=256, verbose_name='parallel path')),
                ('interaction_permissions', models.JSONField(blank=True, default=list, verbose_name='required permissions')),
                ('automation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='automations.automationmodel', verbose_name='automation')),
                ('finished_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='finished by')),
                ('interaction_group', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=GROUP_MODEL, verbose_name='assigned group')),
                ('interaction_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='assigned user')),
            ],
            options={
                'verbose_name': 'automation task',
                'verbose_name_plural': 'automation tasks',
                'indexes': [models.Index(fields=['automation', 'finished'], name='automations_task_open')],
            },
        ),
    ]
