"""Who may see the monitoring views: staff users with the view permission on automations."""

from django.contrib.auth.mixins import PermissionRequiredMixin


class MonitoringAccessMixin(PermissionRequiredMixin):
    """Let active staff users with ``permission_required`` in; send anonymous users to log in; 403 others."""

    permission_required = "automations.view_automationmodel"

    def has_permission(self):
        user = self.request.user
        return user.is_active and user.is_staff and super().has_permission()
