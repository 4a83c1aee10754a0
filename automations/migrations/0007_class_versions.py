"""Versions of automation classes: the shape each instance started under, and held instances.

Each instance refers to an :class:`AutomationVersion` (its class's ``Meta.version`` and the
fingerprint of its declaration's shape). The instances that exist when this migration runs
started under declarations nobody recorded: they are given the version of their class as it is
declared in the code being deployed (an empty shape if the class is not declared), which is right
when the release that brings this migration leaves the automations' nodes as they were, as
docs/versions.md asks. The new status ``needs_migration`` (an instance on a node its class no
longer declares) keeps the instance's unique key, as the other statuses of instances that go on.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from automations import registry
from automations.versions.shape import fingerprint, shape_of


def record_versions(apps, schema_editor):
    """Give every existing instance the version of its class as declared now."""
    db = schema_editor.connection.alias
    instance_model = apps.get_model("automations", "AutomationModel")
    version_model = apps.get_model("automations", "AutomationVersion")
    paths = instance_model.objects.using(db).filter(version=None).values_list("automation_class", flat=True)
    for path in sorted(set(paths)):
        try:
            cls = registry.get(path)
        except registry.UnknownAutomationError:
            shape, label = {}, 1
        else:
            shape, label = shape_of(cls), getattr(cls, "_version", 1)
        version, _ = version_model.objects.using(db).get_or_create(
            automation_class=path, label=label, fingerprint=fingerprint(shape), defaults={"shape": shape}
        )
        instance_model.objects.using(db).filter(automation_class=path, version=None).update(version=version)


class Migration(migrations.Migration):

    dependencies = [
        ('automations', '0006_history_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='AutomationVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('automation_class', models.CharField(max_length=256, verbose_name='automation class')),
                ('label', models.IntegerField(default=1, verbose_name='version')),
                ('fingerprint', models.CharField(max_length=64, verbose_name='fingerprint')),
                ('shape', models.JSONField(default=dict, verbose_name='shape')),
                ('created', models.DateTimeField(default=django.utils.timezone.now, verbose_name='first seen')),
            ],
            options={
                'verbose_name': 'automation version',
                'verbose_name_plural': 'automation versions',
            },
        ),
        migrations.RemoveConstraint(
            model_name='automationmodel',
            name='automations_unique_active',
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('wake', 'wake'), ('retry', 'retry'), ('cancel', 'cancel'), ('message', 'message'), ('move', 'move')], max_length=16, verbose_name='what'),
        ),
        migrations.AlterField(
            model_name='automationmodel',
            name='status',
            field=models.CharField(choices=[('running', 'running'), ('waiting_for_person', 'waiting for a person'), ('waiting_for_time', 'waiting for time'), ('waiting_for_message', 'waiting for a message'), ('needs_migration', 'needs migration'), ('failed', 'failed'), ('cancelled', 'cancelled'), ('finished', 'finished')], db_index=True, default='running', max_length=32, verbose_name='status'),
        ),
        migrations.AddConstraint(
            model_name='automationversion',
            constraint=models.UniqueConstraint(fields=('automation_class', 'label', 'fingerprint'), name='automations_version_unique'),
        ),
        migrations.AddField(
            model_name='automationmodel',
            name='version',
            field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='automations.automationversion', verbose_name='started under'),
        ),
        migrations.AddConstraint(
            model_name='automationmodel',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['running', 'waiting_for_person', 'waiting_for_time', 'waiting_for_message', 'needs_migration'])), fields=('unique_key',), name='automations_unique_active'),
        ),
        migrations.RunPython(record_versions, migrations.RunPython.noop, elidable=True),
    ]
