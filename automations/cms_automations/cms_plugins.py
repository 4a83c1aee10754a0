"""The three django CMS plugins: AutomationTaskList, AutomationStatus and AutomationHook.

None of them is cached: what they show or do depends on the user and the request, so a page that
contains one is rendered for every view.
"""

import logging

from cms.plugin_base import CMSPluginBase
from cms.plugin_pool import plugin_pool
from django.utils.translation import gettext_lazy as _

from automations import registry
from automations.logsafe import shown
from automations.tasklist import queries

from . import choices, conf, delivery
from .forms import AutomationHookForm, AutomationStatusForm, AutomationTaskListForm
from .models import AutomationHookPluginModel, AutomationStatusPluginModel, AutomationTaskListPluginModel

logger = logging.getLogger("automations.cms")

EMPTY_TEMPLATE = "automations/cms/empty_template.html"
# Context key (invisible to templates: it starts with "_") for the template render() decided on.
TEMPLATE_KEY = "_automations_template"


class _AutomationPlugin(CMSPluginBase):
    module = _("Automations")
    cache = False
    render_template = EMPTY_TEMPLATE

    def get_render_template(self, context, instance, placeholder):
        return context.get(TEMPLATE_KEY) or EMPTY_TEMPLATE


def _request(context):
    return context.get("request")


def _user(context):
    request = _request(context)
    return getattr(request, "user", None) if request is not None else None


@plugin_pool.register_plugin
class AutomationTaskList(_AutomationPlugin):
    """Show the current user's open tasks; nothing for anonymous users."""

    name = _("Task list")
    model = AutomationTaskListPluginModel
    form = AutomationTaskListForm

    def render(self, context, instance, placeholder):
        context = super().render(context, instance, placeholder)
        user = _user(context)
        if user is None or not user.is_authenticated:
            return context
        context["tasks"] = queries.open_tasks_for(user)
        context[TEMPLATE_KEY] = self.template_for(instance)
        return context

    @staticmethod
    def template_for(instance) -> str:
        """Return the author's template, or the first configured one if it is no longer offered."""
        templates = [path for path, _name in conf.task_list_templates()]
        if instance.template in templates:
            return instance.template
        logger.warning(
            "Task list plugin %s: template %s is not in ATM_CMS_TASK_LIST_TEMPLATES; using %r.",
            instance.pk,
            shown(instance.template),
            templates[0],
        )
        return templates[0]


@plugin_pool.register_plugin
class AutomationStatus(_AutomationPlugin):
    """Show the status of the instance named by the ``key`` GET parameter with an automation's template."""

    name = _("Automation status")
    model = AutomationStatusPluginModel
    form = AutomationStatusForm

    def render(self, context, instance, placeholder):
        context = super().render(context, instance, placeholder)
        request = _request(context)
        if request is None:
            return context
        try:
            automation_class = registry.get(instance.automation)
        except LookupError:
            logger.warning(
                "Status plugin %s: %s is not a declared automation.", instance.pk, shown(instance.automation)
            )
            return context
        template = choices.status_templates(automation_class).get(instance.template)
        if template is None:
            logger.warning(
                "Status plugin %s: %s declares no Meta.%s.",
                instance.pk,
                shown(instance.automation),
                shown(instance.template),
            )
            return context
        model = delivery.instance_for_key(automation_class, request.GET.get(delivery.KEY_PARAMETER))
        if model is None:
            return context
        context["automation"] = model.instance
        context["automation_model"] = model
        context[TEMPLATE_KEY] = template[0]
        return context


@plugin_pool.register_plugin
class AutomationHook(_AutomationPlugin):
    """Send a message to an automation whenever the page is viewed; render nothing.

    Page authors editing or previewing the page in the CMS do not send it.
    """

    name = _("Automation hook")
    model = AutomationHookPluginModel
    form = AutomationHookForm

    def render(self, context, instance, placeholder):
        context = super().render(context, instance, placeholder)
        request = _request(context)
        if request is None or _is_editing(request):
            return context
        try:
            delivery.send_page_view_message(
                instance.automation, instance.message, instance.token, instance.send_to, request
            )
        except Exception:
            # A failing receiver must not break the page it is hooked into.
            logger.exception("Hook plugin %s: sending %s failed.", instance.pk, shown(instance.message))
        return context


ALL_PLUGINS = (AutomationTaskList, AutomationStatus, AutomationHook)


def _is_editing(request) -> bool:
    toolbar = getattr(request, "toolbar", None)
    return bool(toolbar and (toolbar.edit_mode_active or toolbar.preview_mode_active))
