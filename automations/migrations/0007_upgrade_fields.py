import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Add the columns the 0.9 rows are converted into (``0008``); the wake time keeps its values."""

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('automations', '0006_auto_20211121_1357'),
    ]

    operations = [
        migrations.RenameField('automationmodel', 'paused_until', 'wake_at'),
        migrations.AddField(
            model_name='automationmodel',
            name='error',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.AddField(
            model_name='automationmodel',
            name='model_refs',
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AddField(
            model_name='automationmodel',
            name='unique_key',
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name='automationtaskmodel',
            name='path',
            field=models.CharField(blank=True, default='', max_length=256),
        ),
        migrations.AddField(
            model_name='automationtaskmodel',
            name='finished_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='automationtaskmodel',
            name='message',
            field=models.CharField(blank=True, default='', max_length=512),
        ),
    ]
