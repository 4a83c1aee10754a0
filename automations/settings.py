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
"""

from datetime import timedelta

from django.conf import settings

DEFAULTS = {
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
}


def get(name):
    """Return the setting ``name`` from the project settings, or its documented default."""
    return getattr(settings, name, DEFAULTS[name])


def condition_recheck_interval() -> timedelta:
    """Return how long an unmet ``AsSoonAs`` condition waits before it is evaluated again."""
    return timedelta(seconds=get("ATM_CONDITION_RECHECK_INTERVAL"))
