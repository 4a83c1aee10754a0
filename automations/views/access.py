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


class InstanceAccessMixin(PageErrorsMixin, PermissionRequiredMixin):
    """Let active users with ``permission_required`` in; send anonymous users to log in; 403 others."""

    permission_required: str | tuple[str, ...] = "automations.view_automationmodel"

    def has_permission(self):
        return self.request.user.is_active and super().has_permission()


class ChangeAccessMixin(InstanceAccessMixin):
    """Like :class:`InstanceAccessMixin`, for acting on instances: needs the change permission too."""

    permission_required = ("automations.view_automationmodel", "automations.change_automationmodel")


class MonitoringAccessMixin(InstanceAccessMixin):
    """Like :class:`InstanceAccessMixin`, for staff users only."""

    def has_permission(self):
        return self.request.user.is_staff and super().has_permission()
