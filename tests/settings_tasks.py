"""The test settings with the database task backend, for the long-call tests' ``db_worker`` processes."""

from tests.settings import *  # noqa: F403

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
