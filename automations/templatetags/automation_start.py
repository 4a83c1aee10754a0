"""The navigation's link to the start menu: ``{% load automation_start %}{% start_menu_link %}``.

The link is rendered only for users who may start at least one automation (see
:mod:`automations.views.start`) and only when ``automations:start_menu`` is mounted.
"""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext

from automations.views.start import may_start_any

register = template.Library()


@register.simple_tag(takes_context=True)
def start_menu_link(context):
    """Render ``<a href="…/start/">Start</a>`` for a user who may start something, else nothing."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not may_start_any(user):
        return ""
    try:
        url = reverse("automations:start_menu")
    except NoReverseMatch:
        return ""
    if request is not None and request.path == url:
        return format_html('<a href="{}" aria-current="page">{}</a>', url, gettext("Start"))
    return format_html('<a href="{}">{}</a>', url, gettext("Start"))
