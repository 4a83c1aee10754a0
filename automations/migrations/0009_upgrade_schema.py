import automations.models
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from automations import settings as atm_settings

GROUP_MODEL = atm_settings.get("ATM_GROUP_MODEL")


class Migration(migrations.Migration):
    """Drop what 0.9 needed and the engine does not, and bring every column to today's definition."""

    dependencies = [
        migrations.swappable_dependency(GROUP_MODEL),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('automations', '0008_upgrade_rows'),
    ]

    operations = [
        migrations.RemoveField('automationtaskmodel', 'locked'),
        migrations.RemoveField('automationtaskmodel', 'requires_interaction'),
        migrations.RemoveField('automationtaskmodel', 'previous'),
        migrations.AlterField(
            model_name='automationmodel',
            name='id',
            field=models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='automation_class',
            field=models.CharField(db_index=True, max_length=256, verbose_name='automation class'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='data',
            field=models.JSONField(blank=True, default=dict, verbose_name='data'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='finished',
            field=models.BooleanField(default=False, verbose_name='finished'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='key',
            field=models.CharField(default=automations.models.new_key, editable=False, max_length=64, unique=True, verbose_name='key'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='created',
            field=models.DateTimeField(auto_now_add=True, verbose_name='created'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='updated',
            field=models.DateTimeField(auto_now=True, verbose_name='updated'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='wake_at',
            field=models.DateTimeField(blank=True, db_index=True, help_text='When the scheduler next advances this instance; empty while it waits for an event.', null=True, verbose_name='wake at'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='error',
            field=models.TextField(blank=True, default='', verbose_name='error'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='model_refs',
            field=models.JSONField(blank=True, default=dict, editable=False, verbose_name='model references'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='unique_key',
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='id',
            field=models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='status',
            field=models.CharField(blank=True, max_length=256, verbose_name='node'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='created',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='finished',
            field=models.DateTimeField(blank=True, null=True, verbose_name='finished'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='message',
            field=models.CharField(blank=True, default='', max_length=512, verbose_name='message'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='result',
            field=models.JSONField(blank=True, null=True, verbose_name='result'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='path',
            field=models.CharField(blank=True, default='', max_length=256, verbose_name='parallel path'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='interaction_permissions',
            field=models.JSONField(blank=True, default=list, verbose_name='required permissions'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='automation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='automations.automationmodel', verbose_name='automation'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='finished_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='finished by'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='interaction_group',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=GROUP_MODEL, verbose_name='assigned group'),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='interaction_user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='assigned user'),
        ),
        migrations.AlterModelOptions(
            name='automationmodel',
            options={'verbose_name': 'automation', 'verbose_name_plural': 'automations'},
        ),
        migrations.AlterModelOptions(
            name='automationtaskmodel',
            options={'verbose_name': 'automation task', 'verbose_name_plural': 'automation tasks'},
        ),
        migrations.AddConstraint(
            model_name='automationmodel',
            constraint=models.UniqueConstraint(condition=models.Q(('error', ''), ('finished', False)), fields=('unique_key',), name='automations_unique_running'),
        ),
        migrations.AddIndex(
            model_name='automationtaskmodel',
            index=models.Index(fields=['automation', 'finished'], name='automations_task_open'),
        ),
    ]
