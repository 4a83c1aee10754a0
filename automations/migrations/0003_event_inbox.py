import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """The handled-events table grows into the event inbox; scheduler workers get a heartbeat table."""

    dependencies = [
        ('automations', '0002_handled_event'),
    ]

    operations = [
        migrations.RenameModel('HandledEvent', 'InboxEvent'),
        migrations.AlterModelOptions(
            name='inboxevent',
            options={'verbose_name': 'inbox event', 'verbose_name_plural': 'inbox events'},
        ),
        migrations.AlterField(
            model_name='inboxevent',
            name='handled',
            field=models.DateTimeField(blank=True, db_index=True, null=True, verbose_name='handled'),
        ),
        migrations.AddField(
            model_name='inboxevent',
            name='type',
            field=models.CharField(blank=True, default='', max_length=32, verbose_name='type'),
        ),
        migrations.AddField(
            model_name='inboxevent',
            name='event',
            field=models.JSONField(blank=True, null=True, verbose_name='event'),
        ),
        migrations.AddField(
            model_name='inboxevent',
            name='received',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='received'),
        ),
        migrations.AddField(
            model_name='inboxevent',
            name='worker',
            field=models.CharField(blank=True, default='', max_length=100, verbose_name='received by'),
        ),
        migrations.AddField(
            model_name='inboxevent',
            name='outcome',
            field=models.CharField(blank=True, choices=[('applied', 'applied'), ('rejected', 'rejected'), ('failed', 'failed')], default='', max_length=16, verbose_name='outcome'),
        ),
        migrations.AddField(
            model_name='inboxevent',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='attempts'),
        ),
        migrations.AddField(
            model_name='inboxevent',
            name='error',
            field=models.TextField(blank=True, default='', verbose_name='error'),
        ),
        migrations.AddIndex(
            model_name='inboxevent',
            index=models.Index(condition=models.Q(('handled__isnull', True)), fields=['received'], name='automations_inbox_pending'),
        ),
        migrations.CreateModel(
            name='WorkerModel',
            fields=[
                ('name', models.CharField(max_length=100, primary_key=True, serialize=False, verbose_name='name')),
                ('started', models.DateTimeField(default=django.utils.timezone.now, verbose_name='started')),
                ('seen', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='last seen')),
            ],
            options={
                'verbose_name': 'scheduler worker',
                'verbose_name_plural': 'scheduler workers',
            },
        ),
    ]
