# Depends on a django CMS migration that django-cms 5.1.0 already has.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("cms", "0043_alter_globalpagepermission_can_view_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name="AutomationHookPluginModel",
            fields=[
                (
                    "cmsplugin_ptr",
                    models.OneToOneField(
                        auto_created=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        parent_link=True,
                        primary_key=True,
                        related_name="%(app_label)s_%(class)s",
                        serialize=False,
                        to="cms.cmsplugin",
                    ),
                ),
                ("automation", models.CharField(max_length=256, verbose_name="automation")),
                ("message", models.CharField(max_length=128, verbose_name="message")),
                (
                    "token",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="Passed to the receiver with the message; leave empty for none.",
                        max_length=256,
                        verbose_name="token",
                    ),
                ),
                (
                    "send_to",
                    models.CharField(
                        choices=[
                            ("key", "The instance named by the page's key GET parameter"),
                            ("broadcast", "Every running instance"),
                            ("create", "A new instance"),
                        ],
                        default="key",
                        max_length=16,
                        verbose_name="send to",
                    ),
                ),
            ],
            options={
                "verbose_name": "automation hook",
                "verbose_name_plural": "automation hooks",
            },
            bases=("cms.cmsplugin",),
        ),
        migrations.CreateModel(
            name="AutomationStatusPluginModel",
            fields=[
                (
                    "cmsplugin_ptr",
                    models.OneToOneField(
                        auto_created=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        parent_link=True,
                        primary_key=True,
                        related_name="%(app_label)s_%(class)s",
                        serialize=False,
                        to="cms.cmsplugin",
                    ),
                ),
                ("automation", models.CharField(max_length=256, verbose_name="automation")),
                (
                    "template",
                    models.CharField(
                        help_text="The name of the template in the automation's Meta.",
                        max_length=128,
                        verbose_name="status template",
                    ),
                ),
            ],
            options={
                "verbose_name": "automation status",
                "verbose_name_plural": "automation statuses",
            },
            bases=("cms.cmsplugin",),
        ),
        migrations.CreateModel(
            name="AutomationTaskListPluginModel",
            fields=[
                (
                    "cmsplugin_ptr",
                    models.OneToOneField(
                        auto_created=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        parent_link=True,
                        primary_key=True,
                        related_name="%(app_label)s_%(class)s",
                        serialize=False,
                        to="cms.cmsplugin",
                    ),
                ),
                (
                    "template",
                    models.CharField(
                        help_text="How the task list looks: one of the ATM_CMS_TASK_LIST_TEMPLATES setting.",
                        max_length=256,
                        verbose_name="template",
                    ),
                ),
            ],
            options={
                "verbose_name": "automation task list",
                "verbose_name_plural": "automation task lists",
            },
            bases=("cms.cmsplugin",),
        ),
    ]
