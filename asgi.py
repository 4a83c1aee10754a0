"""ASGI entry point of the site: ``daphne asgi:application``."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
django_application = get_asgi_application()  # sets Django up before the consumers are imported

from routing import build_application  # noqa: E402

application = build_application(django_application)
