"""A database of django-automations 0.9 before it is migrated: is it one, and its rows."""

from __future__ import annotations

from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

APP = "automations"
LEGACY_MIGRATIONS = (
    "0001_initial",
    "0002_auto_20210506_1957",
    "0003_auto_20210511_0825",
    "0004_auto_20210511_1042",
    "0005_automationmodel_key",
    "0006_auto_20211121_1357",
)
CONVERTED = "0008_upgrade_rows"


def state(connection) -> str:
    """Return ``"legacy"``, ``"partial"`` (an older 0.9 than 0.9.4), ``"converted"`` or ``"new"``."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return "new"
    applied = {name for app, name in recorder.applied_migrations() if app == APP}
    if CONVERTED in applied:
        return "converted"
    legacy = applied & set(LEGACY_MIGRATIONS)
    if legacy == set(LEGACY_MIGRATIONS):
        return "legacy"
    if legacy - {"0001_initial"} or ("0001_initial" in applied and "0002_handled_event" not in applied):
        return "partial"
    return "new"


def models(connection):
    """Return ``(automation model, task model)`` of the 0.9 tables, as the migrations describe them."""
    loader = MigrationLoader(connection, replace_migrations=False)
    apps = loader.project_state((APP, "0007_upgrade_fields"), at_end=False).apps
    return apps.get_model(APP, "AutomationModel"), apps.get_model(APP, "AutomationTaskModel")
