"""Who may see the monitoring views: staff users with the view permission on automations."""

from django.contrib.auth.mixins import PermissionRequiredMixin

from .errors import PageErrorsMixin


class MonitoringAccessMixin(PageErrorsMixin, PermissionRequiredMixin):
    """Let active staff users with ``permission_required`` in; send anonymous users to log in; 403 others."""

    permission_required = "automations.view_automationmodel"

    def has_permission(self):
        user = self.request.user
        return user.is_active and user.is_staff and super().has_permission()


class ChangeAccessMixin(MonitoringAccessMixin):
    """Like :class:`MonitoringAccessMixin`, for acting on instances: needs the change permission too."""

    permission_required = ("automations.view_automationmodel", "automations.change_automationmodel")
