"""Template tags of Django Automations: ``{% load automations %}``.

``{% automation_hook target "message" token=None create=False %}``
    Send ``message`` to ``target`` (an automation instance, id, key, class or dotted class path)
    because this page is rendered; renders nothing. See :func:`automations.hooks.page_viewed`.
``{% automation_task_list %}`` / ``{% automation_task_list user %}``
    Render the open tasks of the current (or given) user with
    ``automations/includes/task_list.html``; the list updates itself over a websocket.
``task|task_description``, ``task|task_automation_name``
    What a task list shows of a task: its node's description and its automation's verbose name.
"""

from django import template

from automations import hooks, registry
from automations.tasks import form_node_for, open_tasks_for

register = template.Library()


@register.simple_tag(takes_context=True)
def automation_hook(context, target, message, token=None, create=False):
    """Send ``message`` to ``target`` for the page being rendered; render nothing."""
    request = context.get("request")
    if request is None:
        raise template.TemplateSyntaxError(
            "{% automation_hook %} needs 'request' in the context: enable "
            "'django.template.context_processors.request'."
        )
    hooks.page_viewed(request, target, message, token, create=create)
    return ""


@register.inclusion_tag("automations/includes/task_list.html", takes_context=True)
def automation_task_list(context, user=None):
    """Render the open tasks ``user`` (default: the request's user) may process."""
    if user is None:
        request = context.get("request")
        user = getattr(request, "user", None) or context.get("user")
    return {"tasks": open_tasks_for(user), "user": user, "request": context.get("request")}


@register.filter
def task_description(task):
    """Return the description of the node that opened ``task`` (empty if it has none)."""
    node = form_node_for(task)
    return node.description if node is not None else ""


@register.filter
def task_automation_name(task):
    """Return the verbose name of ``task``'s automation."""
    try:
        return registry.get(task.automation.automation_class).get_verbose_name()
    except registry.UnknownAutomationError:
        return task.automation.automation_class
