"""Settings of the runnable Django Automations site (demo, development, scale-out).

Defaults need nothing installed: SQLite and the in-memory channel layer.
Environment variables switch to the scaled-out setup:

- ``DATABASE_URL``: ``postgres://user:password@host:5432/name`` (or ``sqlite:///path``)
- ``REDIS_URL``: ``redis://host:6379/0`` selects channels-redis (and ``ATM_WORKER``)
- ``ATM_WORKER`` (``1``/``0``): whether scheduler workers run (default: ``1`` with ``REDIS_URL``)
- ``DJANGO_DEBUG``: ``1`` for development and the demo (``make run`` sets it); anything else, or
  unset, is production
- ``DJANGO_SECRET_KEY``: required in production; with ``DJANGO_DEBUG=1`` a published demo key is used
- ``DJANGO_ALLOWED_HOSTS`` (comma separated)
- ``DJANGO_HTTPS`` (``1``/``0``): HTTPS only (redirect, secure cookies, HSTS); default ``1`` in
  production, ``0`` with ``DJANGO_DEBUG=1``
- ``DJANGO_HSTS_SECONDS``: HSTS max-age when HTTPS is on (default one year)
- ``DJANGO_PROXY_SSL_HEADER`` (``1``/``0``): trust ``X-Forwarded-Proto: https`` from the proxy in front
"""

import importlib.util
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import django
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def sqlite_database(path):
    """Return a SQLite entry that tolerates several writers: WAL journal, immediate transactions."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def database_from_url(url, default_sqlite_path):
    """Return a ``DATABASES["default"]`` entry for ``url``; SQLite when ``url`` is empty."""
    if not url:
        return sqlite_database(default_sqlite_path)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return sqlite_database(unquote(parts.path) or default_sqlite_path)
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported: use sqlite:// or postgres://.")


def channel_layers_from_url(url):
    """Return ``CHANNEL_LAYERS``: channels-redis for a ``redis://`` URL, else the in-memory layer."""
    if not url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's default socket timeout would end idle workers with TimeoutError.
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": None}], "capacity": 1000, "expiry": 60},
        }
    }


def flag(name, default: bool) -> bool:
    """Return the environment variable ``name`` as a bool: ``1`` is on, ``0`` off, unset ``default``."""
    value = os.environ.get(name, "")
    return default if value == "" else value == "1"


def secret_key(debug: bool) -> str:
    """Return ``DJANGO_SECRET_KEY``; only a development site (``debug``) may run on the demo key."""
    key = os.environ.get("DJANGO_SECRET_KEY", "")
    if key:
        return key
    if debug:
        return "django-automations-demo-not-secret"
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Set it to a long random value for this site, e.g. the output of "
        '`python -c "import secrets; print(secrets.token_urlsafe(50))"`, or set DJANGO_DEBUG=1 for '
        "development."
    )


DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
# The demo's e-mails (task notifications) are printed by the server in development, sent by SMTP
# otherwise (Django's EMAIL_HOST/EMAIL_PORT defaults); Django 6.1 names the mailer in MAILERS.
mail_backend = "django.core.mail.backends.%s.EmailBackend" % ("console" if DEBUG else "smtp")
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": mail_backend}}
else:
    EMAIL_BACKEND = mail_backend
SECRET_KEY = secret_key(DEBUG)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",")

https_only = flag("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = https_only
SESSION_COOKIE_SECURE = https_only
CSRF_COOKIE_SECURE = https_only
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS") or 31536000) if https_only else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if flag("DJANGO_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets this header itself and drops the one clients send.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "automations",
    "demo",
]

# The JSON API (automations.api) joins when its extra is installed: pip install "django-automations[api]".
API_INSTALLED = all(importlib.util.find_spec(name) for name in ("rest_framework", "drf_spectacular"))
if API_INSTALLED:
    INSTALLED_APPS += ["rest_framework", "rest_framework.authtoken", "drf_spectacular"]
    REST_FRAMEWORK = {
        # A token first: an anonymous request is answered 401 with a WWW-Authenticate header.
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.TokenAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    }
    SPECTACULAR_SETTINGS = {
        "TITLE": "Django Automations API",
        "DESCRIPTION": "Tasks, instances and the start menu of Django Automations (docs/api.md).",
        "VERSION": "1",
        "SERVE_INCLUDE_SCHEMA": False,
    }

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.urls"
ASGI_APPLICATION = "asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"), BASE_DIR / "db.sqlite3")}
CHANNEL_LAYERS = channel_layers_from_url(os.environ.get("REDIS_URL"))
# A scheduler worker runs: ``automation_worker`` processes next to Redis, or inside ``automation_server``
# (which sets this itself). Without one, instances woken by ``nice()`` or messages run in place.
ATM_WORKER = os.environ.get("ATM_WORKER", "1" if os.environ.get("REDIS_URL") else "0") == "1"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"automations": {"handlers": ["console"], "level": os.environ.get("ATM_LOG_LEVEL", "INFO")}},
}
