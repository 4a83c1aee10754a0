"""Who may see the workflow pages that are not task forms.

- The instances pages and the flow diagrams: active users with the view permission on automation
  instances (``automations.view_automationmodel``); acting on an instance needs the change
  permission too.
- The monitoring pages (dashboard, errors, history, tracebacks): active staff users with the view
  permission.

Anonymous users are sent to log in; everyone else gets the 403 page.
"""

from django.contrib.auth.mixins import PermissionRequiredMixin

from .errors import PageErrorsMixin

VIEW_INSTANCES = ("automations.view_automationmodel",)
CHANGE_INSTANCES = ("automations.view_automationmodel", "automations.change_automationmodel")


def holds(user, permissions) -> bool:
    """Return whether ``user`` is active and holds every one of ``permissions``."""
    return bool(user is not None and user.is_active and user.has_perms(permissions))


def may_view_instances(user) -> bool:
    """Return whether ``user`` may see the instances pages (and the instances of the JSON API)."""
    return holds(user, VIEW_INSTANCES)


def may_change_instances(user) -> bool:
    """Return whether ``user`` may act on instances (wake, retry, cancel, send a message, move)."""
    return holds(user, CHANGE_INSTANCES)


class InstanceAccessMixin(PageErrorsMixin, PermissionRequiredMixin):
    """Let active users with ``permission_required`` in; send anonymous users to log in; 403 others."""

    permission_required: str | tuple[str, ...] = VIEW_INSTANCES

    def has_permission(self):
        return holds(self.request.user, self.get_permission_required())


class ChangeAccessMixin(InstanceAccessMixin):
    """Like :class:`InstanceAccessMixin`, for acting on instances: needs the change permission too."""

    permission_required = CHANGE_INSTANCES


class MonitoringAccessMixin(InstanceAccessMixin):
    """Like :class:`InstanceAccessMixin`, for staff users only."""

    def has_permission(self):
        return self.request.user.is_staff and super().has_permission()
