"""What page authors configure for each plugin instance.

The fields store plain strings (template paths, class paths, messages); the plugin forms offer the
valid choices, computed when the form is built, so that declaring an automation or a template
needs no migration. Values that no longer match a declaration render nothing.
"""

from cms.models import CMSPlugin
from django.db import models
from django.utils.translation import gettext_lazy as _

# Who receives a hook plugin's message (its ``send_to``). Here, not in :mod:`.delivery`: Django
# imports this module while it loads the apps, before the engine can be imported (it reads the
# models when it is imported).
TARGET_KEY = "key"
TARGET_BROADCAST = "broadcast"
TARGET_CREATE = "create"


class AutomationTaskListPluginModel(CMSPlugin):
    """Configuration of an ``AutomationTaskList`` plugin: the template it renders."""

    template = models.CharField(
        _("template"),
        max_length=256,
        help_text=_("How the task list looks: one of the ATM_CMS_TASK_LIST_TEMPLATES setting."),
    )

    class Meta:
        verbose_name = _("automation task list")
        verbose_name_plural = _("automation task lists")

    def __str__(self):
        return self.template


class AutomationStatusPluginModel(CMSPlugin):
    """Configuration of an ``AutomationStatus`` plugin: an automation and one of its status templates."""

    automation = models.CharField(_("automation"), max_length=256)
    template = models.CharField(
        _("status template"),
        max_length=128,
        help_text=_("The name of the template in the automation's Meta."),
    )

    class Meta:
        verbose_name = _("automation status")
        verbose_name_plural = _("automation statuses")

    def __str__(self):
        return f"{self.automation}.Meta.{self.template}"


class AutomationHookPluginModel(CMSPlugin):
    """Configuration of an ``AutomationHook`` plugin: which message goes to which instances."""

    TARGET_CHOICES = [
        (TARGET_KEY, _("The instance named by the page's key GET parameter")),
        (TARGET_BROADCAST, _("Every running instance")),
        (TARGET_CREATE, _("A new instance")),
    ]

    automation = models.CharField(_("automation"), max_length=256)
    message = models.CharField(_("message"), max_length=128)
    token = models.CharField(
        _("token"),
        max_length=256,
        blank=True,
        default="",
        help_text=_("Passed to the receiver with the message; leave empty for none."),
    )
    send_to = models.CharField(_("send to"), max_length=16, choices=TARGET_CHOICES, default=TARGET_KEY)

    class Meta:
        verbose_name = _("automation hook")
        verbose_name_plural = _("automation hooks")

    def __str__(self):
        return f"{self.automation}: {self.message}"
