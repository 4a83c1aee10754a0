"""Template tags of Django Automations: ``{% load automations %}``.

``{% automation_hook target "message" token=None create=False %}``
    Send ``message`` to ``target`` because this page is rendered; renders nothing. ``target`` is an
    automation instance, an instance id, an instance key, an automation class, or a class's dotted
    path written in the template itself. See :func:`automations.page_views.page_viewed`.
``{% automation_task_list %}`` / ``{% automation_task_list user %}``
    Render the open tasks of the current (or given) user with
    ``automations/includes/task_list.html``; the list updates itself over a websocket.
``task|task_description``, ``task|task_automation_name``
    What a task list shows of a task: its node's description and its automation's verbose name.
``automation|automation_name``
    The verbose name of an ``AutomationModel`` row's automation class.
``task|task_summary``, ``task|task_urgency``, ``task|task_age``
    The automation's summary of a task (``Automation.get_task_summary``) and how urgent it is by
    its age: ``fresh``, ``due`` or ``late``; and its age in words ("30 hours").
``{% task_inbox_for tasks as inbox %}``
    Split ``tasks`` into ``inbox.mine`` (assigned to the user) and ``inbox.queue`` (their groups'
    and permissions' tasks), sorted and paged by the request's ``sort``, ``mine_page`` and
    ``queue_page`` parameters (see :mod:`automations.tasklist.inbox`).
"""

from django import template
from django.template.base import Variable, token_kwargs

from automations import handover, page_views, registry
from automations.permissions import form_node_for
from automations.tasklist import inbox
from automations.tasklist.queries import open_tasks_for

register = template.Library()


HOOK_ARGUMENTS = ("target", "message", "token", "create")


@register.tag("automation_hook")
def automation_hook(parser, token):
    """Send a message to an automation for the page being rendered; render nothing.

    A string variable (``request.GET.key``, say) selects an instance by its key only. A dotted
    class path counts only when it is written in the template, in quotes: then every running
    instance receives the message (a new one with ``create=True``).
    """
    name, *bits = token.split_contents()
    positional, keywords = [], {}
    for bit in bits:
        keyword = token_kwargs([bit], parser)
        if keyword:
            repeated = set(keyword) & set(keywords)
            keywords.update(keyword)
        elif keywords:
            raise template.TemplateSyntaxError(f"{name}: positional argument {bit!r} after a keyword.")
        else:
            repeated = set()
            positional.append(parser.compile_filter(bit))
        if repeated:
            raise template.TemplateSyntaxError(f"{name}: argument {repeated.pop()!r} given twice.")
    arguments = dict(zip(HOOK_ARGUMENTS, positional, strict=False))
    unknown = set(keywords) - set(HOOK_ARGUMENTS) or set(keywords) & set(arguments)
    if len(positional) > len(HOOK_ARGUMENTS) or unknown:
        raise template.TemplateSyntaxError(f"{name} takes {', '.join(HOOK_ARGUMENTS)}: {' '.join(bits)}")
    arguments.update(keywords)
    if "target" not in arguments or "message" not in arguments:
        raise template.TemplateSyntaxError(f'{name} needs a target and a message: {name} target "message"')
    return AutomationHookNode(arguments)


class AutomationHookNode(template.Node):
    """The ``{% automation_hook %}`` of one template: its arguments as the template wrote them."""

    def __init__(self, arguments):
        self.arguments = arguments

    def render(self, context):
        request = context.get("request")
        if request is None:
            raise template.TemplateSyntaxError(
                "{% automation_hook %} needs 'request' in the context: enable "
                "'django.template.context_processors.request'."
            )
        values = {name: expression.resolve(context) for name, expression in self.arguments.items()}
        target = values["target"]
        if isinstance(target, str) and _written_in_template(self.arguments["target"]):
            target = registry.all_automations().get(target, target)  # a class path, else a key
        page_views.page_viewed(
            request, target, values["message"], values.get("token"), create=bool(values.get("create"))
        )
        return ""


def _written_in_template(expression) -> bool:
    """Return whether ``expression`` is a literal of the template, not a value of its context."""
    return not isinstance(expression.var, Variable) and not expression.filters


@register.inclusion_tag("automations/includes/task_list.html", takes_context=True)
def automation_task_list(context, user=None):
    """Render the open tasks ``user`` (default: the request's user) may process."""
    if user is None:
        request = context.get("request")
        user = getattr(request, "user", None) or context.get("user")
    return {
        "tasks": open_tasks_for(user),
        "user": user,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }


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


@register.filter
def automation_name(automation):
    """Return the verbose name of an ``AutomationModel`` row's class (its dotted path if unknown)."""
    try:
        return automation.get_automation_class().get_verbose_name()
    except registry.UnknownAutomationError:
        return automation.automation_class


@register.filter
def task_summary(task):
    """Return the automation's summary of ``task`` (``Automation.get_task_summary``)."""
    return inbox.task_summary(task)


@register.filter
def task_urgency(task):
    """Return ``"fresh"``, ``"due"`` or ``"late"``: how urgent the open ``task`` is by its age."""
    return inbox.urgency(task)


@register.filter
def task_age(task):
    """Return how long the open ``task`` has waited, for people: "5 minutes", "30 hours", "3 days"."""
    return inbox.age_text(task.hours_since_created())


@register.filter
def task_deadline(task):
    """Return when the open ``task`` is due ("due in 3 hours", "overdue by 1 day"), or ``""``."""
    return inbox.deadline_text(task)


@register.filter
def task_claimed(task):
    """Return whether ``task`` was taken from a queue, so that it can be given back to it."""
    return handover.is_claimed(task)


@register.simple_tag(takes_context=True)
def task_inbox_for(context, tasks, user=None):
    """Return the :class:`~automations.tasklist.inbox.Inbox` of ``tasks`` for ``user``."""
    user = user or context.get("user") or getattr(context.get("request"), "user", None)
    parameters = context.get("inbox_params")
    if parameters is None:
        request = context.get("request")
        parameters = request.GET if request is not None else {}
    return inbox.build_inbox(tasks or [], user, parameters)
