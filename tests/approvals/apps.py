from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "tests.approvals"
    label = "approvals"
    default_auto_field = "django.db.models.BigAutoField"
