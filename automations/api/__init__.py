"""The JSON API of Django Automations, on Django REST framework (the ``api`` extra).

A project adds it with ``pip install "django-automations[api]"``, then::

    INSTALLED_APPS = [..., "rest_framework", "rest_framework.authtoken", "drf_spectacular", "automations"]
    urlpatterns = [..., path("automations/api/", include("automations.api.urls"))]

This package's ``__init__`` imports nothing: :mod:`automations.api.describe` and
:mod:`automations.api.form_schema`, which the websockets use for their JSON messages, load without
Django REST framework; every other module of the package needs it. See ``docs/api.md``.
"""
