"""Settings of Django Automations, read at call time so that tests can override them.

``ATM_FORM_VIEW_CONTEXT``
    Dict added to the context of every form view (default ``{}``).
``ATM_GROUP_MODEL``, ``ATM_USER_WITH_PERMISSIONS_FORM_METHOD``, ``ATM_USER_WITH_PERMISSIONS_MODEL_METHOD``
    Non-standard groups and permissions; all three or none.
``ATM_CONDITION_RECHECK_INTERVAL``
    Seconds after which an instance blocked on ``AsSoonAs`` is re-checked without being woken
    (default 60).
``ATM_STEP_NODE_LIMIT``
    Most node visits in one step of one instance; an instance that loops longer yields and
    continues at the next step (default 1000).
``ATM_CHANNEL_NAME``
    Channel the scheduler worker listens on (default ``"automations"``).
``ATM_WORKER``
    ``True`` when a scheduler worker runs: wake-ups are then published as events instead of being
    run in place (default ``False``). ``automation_worker`` and ``automation_server`` set it for
    their own process.
``ATM_SWEEP_INTERVAL``
    Seconds between the scheduler worker's sweeps for due instances, the safety net for lost
    events and dead workers (default 30).
``ATM_MAX_EVENT_SIZE``
    Most bytes, encoded as compact JSON in UTF-8, of one channel event and of data typed into the
    console; a larger event is refused with a receipt error before it is stored (default 262144,
    256 KiB). See :mod:`automations.jsonlimits`.
``ATM_WAKE_HORIZON``
    Seconds ahead within which an ``automation.wake`` from another process arms the worker's timer
    (default 3600, at least two sweep intervals); a wake-up due later is left to the sweeps, which
    arm it when it comes near.
``ATM_WAKE_BATCH``, ``ATM_WAKE_BATCH_SECONDS``
    Most due instances a worker advances in one transaction when their timers fire together
    (default 200), and the seconds after which such a batch stops on SQLite so that requests get
    the database (default 0.1; five times that on other databases).
``ATM_SWEEP_BATCH``, ``ATM_SWEEP_MAX``, ``ATM_SWEEP_LOOKAHEAD``
    Instances a sweep advances per database call (default 50) and at most in all (default
    10000), and the upcoming wake times it arms at least (default 500).
``ATM_MAX_TIMERS``
    Wake times a worker keeps in memory, the earliest (default 50000); the sweeps arm the others.
``ATM_INTAKE_QUEUE``, ``ATM_INTAKE_BATCH``
    Events a worker has received but not yet stored before its listener waits (default 500), and
    events stored in one transaction at most (default 100).
``ATM_HEARTBEAT_INTERVAL``, ``ATM_WORKER_TIMEOUT``
    Seconds between a worker's heartbeats (default 0.5), and after which a worker whose heartbeat
    is older is taken for dead and its work taken over (default 2).
``ATM_MAX_RESTARTS``, ``ATM_RESTART_WINDOW``
    A worker stops (and its process exits non-zero) when its tasks ended unexpectedly more than
    this many times (default 5) within this many seconds (default 60).
``ATM_RECONNECT_DELAY``
    Seconds between a worker's tries to receive while the channel layer's server is unreachable
    (default 1).
"""

from datetime import timedelta
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "ATM_FORM_VIEW_CONTEXT": {},
    "ATM_GROUP_MODEL": "auth.Group",
    "ATM_USER_WITH_PERMISSIONS_FORM_METHOD": None,
    "ATM_USER_WITH_PERMISSIONS_MODEL_METHOD": None,
    "ATM_CONDITION_RECHECK_INTERVAL": 60,
    "ATM_STEP_NODE_LIMIT": 1000,
    "ATM_CHANNEL_NAME": "automations",
    "ATM_WORKER": False,
    "ATM_SWEEP_INTERVAL": 30,
    "ATM_MAX_EVENT_SIZE": 256 * 1024,
    "ATM_WAKE_HORIZON": 3600,
    "ATM_WAKE_BATCH": 200,
    "ATM_WAKE_BATCH_SECONDS": 0.1,
    "ATM_SWEEP_BATCH": 50,
    "ATM_SWEEP_MAX": 10_000,
    "ATM_SWEEP_LOOKAHEAD": 500,
    "ATM_MAX_TIMERS": 50_000,
    "ATM_INTAKE_QUEUE": 500,
    "ATM_INTAKE_BATCH": 100,
    "ATM_HEARTBEAT_INTERVAL": 0.5,
    "ATM_WORKER_TIMEOUT": 2,
    "ATM_MAX_RESTARTS": 5,
    "ATM_RESTART_WINDOW": 60,
    "ATM_RECONNECT_DELAY": 1.0,
}


def get(name):
    """Return the setting ``name`` from the project settings, or its documented default."""
    return getattr(settings, name, DEFAULTS[name])


def condition_recheck_interval() -> timedelta:
    """Return how long an unmet ``AsSoonAs`` condition waits before it is evaluated again."""
    return timedelta(seconds=get("ATM_CONDITION_RECHECK_INTERVAL"))
