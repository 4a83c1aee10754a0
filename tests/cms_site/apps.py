from django.apps import AppConfig


class CMSSiteConfig(AppConfig):
    name = "tests.cms_site"
    label = "cms_site"
    default_auto_field = "django.db.models.BigAutoField"
