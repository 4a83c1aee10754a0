"""Django-CMS plugins for Django Automations (optional: ``pip install "django-automations[cms]"``).

Add ``"automations.cms_automations"`` to ``INSTALLED_APPS`` next to django-cms' own apps to get
three plugins: ``AutomationTaskList`` (the current user's open tasks), ``AutomationStatus`` (an
instance's status page for the ``key`` GET parameter) and ``AutomationHook`` (sends a message to an
automation whenever the page is viewed).
"""

from django.core.exceptions import ImproperlyConfigured

try:
    import cms  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImproperlyConfigured(
        "automations.cms_automations needs django-cms: install it with "
        'pip install "django-automations[cms]", or remove "automations.cms_automations" '
        "from INSTALLED_APPS."
    ) from exc
