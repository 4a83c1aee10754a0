"""A database of django-automations 0.9.4.1, built from the facts: its tables, its rows, its migrations.

``create_legacy_tables`` writes the two tables as the 0.9 migrations leave them (the DDL below is
what they produce on SQLite and PostgreSQL); ``load_sample_rows`` fills them with every row of a
real 0.9.4.1 database holding one instance of each kind; ``record_legacy_migrations`` marks the six
0.9 migrations applied, as on such a site.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

from django.db.migrations.recorder import MigrationRecorder

from automations.upgrade.legacy import APP, LEGACY_MIGRATIONS

SAMPLE = Path(__file__).resolve().parent / "legacyapp" / "legacy-0.9.4.1-rows.json"
SAMPLE_CLASS_PREFIX = ("legacyapp.automations.", "tests.legacyapp.automations.")

DDL = {
    "sqlite": [
        """CREATE TABLE "automations_automationmodel" (
          "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "automation_class" varchar(256) NOT NULL,
          "finished" bool NOT NULL, "data" text NOT NULL CHECK (JSON_VALID("data") OR "data" IS NULL),
          "paused_until" datetime NULL, "created" datetime NOT NULL, "updated" datetime NOT NULL,
          "key" varchar(64) NOT NULL)""",
        """CREATE TABLE "automations_automationtaskmodel" (
          "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "status" varchar(256) NOT NULL,
          "locked" integer NOT NULL,
          "interaction_permissions" text NOT NULL
            CHECK (JSON_VALID("interaction_permissions") OR "interaction_permissions" IS NULL),
          "created" datetime NOT NULL, "finished" datetime NULL, "message" varchar(128) NOT NULL,
          "result" text NULL CHECK (JSON_VALID("result") OR "result" IS NULL),
          "automation_id" integer NOT NULL REFERENCES "automations_automationmodel" ("id"),
          "interaction_group_id" integer NULL REFERENCES "auth_group" ("id"),
          "interaction_user_id" integer NULL REFERENCES "auth_user" ("id"),
          "requires_interaction" bool NOT NULL,
          "previous_id" integer NULL REFERENCES "automations_automationtaskmodel" ("id"))""",
    ],
    "postgresql": [
        """CREATE TABLE "automations_automationmodel" (
          "id" serial NOT NULL PRIMARY KEY, "automation_class" varchar(256) NOT NULL,
          "finished" boolean NOT NULL, "data" jsonb NOT NULL, "paused_until" timestamp with time zone NULL,
          "created" timestamp with time zone NOT NULL, "updated" timestamp with time zone NOT NULL,
          "key" varchar(64) NOT NULL)""",
        """CREATE TABLE "automations_automationtaskmodel" (
          "id" serial NOT NULL PRIMARY KEY, "status" varchar(256) NOT NULL, "locked" integer NOT NULL,
          "interaction_permissions" jsonb NOT NULL, "created" timestamp with time zone NOT NULL,
          "finished" timestamp with time zone NULL, "message" varchar(128) NOT NULL, "result" jsonb NULL,
          "automation_id" integer NOT NULL REFERENCES "automations_automationmodel" ("id"),
          "interaction_group_id" integer NULL REFERENCES "auth_group" ("id"),
          "interaction_user_id" integer NULL REFERENCES "auth_user" ("id"),
          "requires_interaction" boolean NOT NULL,
          "previous_id" integer NULL REFERENCES "automations_automationtaskmodel" ("id"))""",
    ],
}
INDEXES = [
    f'CREATE INDEX "automations_task_{column}" ON "automations_automationtaskmodel" ("{column}")'
    for column in ("automation_id", "interaction_group_id", "interaction_user_id", "previous_id")
]
JSON_COLUMNS = {"data", "interaction_permissions", "result"}
BOOL_COLUMNS = {
    ("automations_automationmodel", "finished"),
    ("automations_automationtaskmodel", "requires_interaction"),
}
TIME_COLUMNS = {"paused_until", "created", "updated", "finished"}


def sample_rows() -> dict:
    """Return the sample rows, ``{table: [row, ...]}``, with the classes under their test paths."""
    rows = json.loads(SAMPLE.read_text(encoding="utf-8"))
    old, new = SAMPLE_CLASS_PREFIX
    for row in rows["automations_automationmodel"]:
        row["automation_class"] = row["automation_class"].replace(old, new, 1)
    return rows


def create_legacy_tables(connection) -> None:
    """Create the two 0.9 tables, with their indexes."""
    with connection.cursor() as cursor:
        for statement in DDL[connection.vendor] + INDEXES:
            cursor.execute(statement)


def record_legacy_migrations(connection) -> None:
    """Record the six 0.9 migrations as applied."""
    recorder = MigrationRecorder(connection)
    for name in LEGACY_MIGRATIONS:
        recorder.record_applied(APP, name)


def load_sample_rows(connection, rows=None) -> None:
    """Insert the sample rows (or ``rows``) as 0.9 stored them."""
    rows = rows or sample_rows()
    with connection.cursor() as cursor:
        for table in ("automations_automationmodel", "automations_automationtaskmodel"):
            for row in rows[table]:
                columns = list(row)
                values = [_stored(connection, table, column, row[column]) for column in columns]
                names = ", ".join(f'"{column}"' for column in columns)
                marks = ", ".join(["%s"] * len(columns))
                cursor.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)
            if connection.vendor == "postgresql":
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                cursor.execute(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))")


def _stored(connection, table, column, value):
    if column in JSON_COLUMNS:
        return None if value is None else json.dumps(value)
    if (table, column) in BOOL_COLUMNS:
        return bool(value) if connection.vendor == "postgresql" else value
    if column in TIME_COLUMNS and value is not None:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if connection.vendor == "postgresql" else value
    return value
