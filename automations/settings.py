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
``ATM_WAKE_LEAD``
    Seconds before a timer's wake time at which a worker locks and loads the instances due then,
    so that their steps start at the wake time with the reading done (default 0.05; 0 turns it
    off). Not on SQLite, whose one writer the requests share.
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
``ATM_UNDECODABLE_LOG_INTERVAL``, ``ATM_UNDECODABLE_PAUSE_EVERY``, ``ATM_UNDECODABLE_PAUSE``
    Seconds between a worker's log lines about messages it could not decode (default 10), and
    the pause of its listener (default 0.05 seconds) after every so many such messages in a row
    (default 100).
``ATM_WAKE_BATCH_SECONDS_FACTOR``
    ``ATM_WAKE_BATCH_SECONDS`` is multiplied by this on databases other than SQLite, where
    requests do not wait for the batch's thread (default 5).
``ATM_EVENT_ATTEMPTS``
    Handlings of one stored event that raised before it is marked failed (default 3).
``ATM_LOCK_WAIT``
    Seconds the step of an event waits for its instance's row while another transaction holds it
    (a node still running, a worker frozen in a step); then the event is retried later (default
    0.2). PostgreSQL only; other databases with ``NOWAIT`` do not wait, SQLite waits as always.
``ATM_APPLY_THREADS``
    Threads of a scheduler worker that apply stored events side by side: the events of one
    instance in order, those of different instances at once (default 4). On SQLite, one writer,
    they take turns on the worker's one database thread.
``ATM_RETRY_DELAY``, ``ATM_RETRY_MAX_DELAY``
    Seconds before a worker tries again what failed for a passing reason (an event whose
    instance's row is held, an event, timer or sweep that failed on a database error), doubled
    after every failure (default 0.1) up to the longest (default 1).
``ATM_EVENT_PENDING_GRACE``
    Seconds a live worker's own stored events are left to it before a sweep applies them
    (default 10).
``ATM_HANDLED_EVENTS_KEPT``
    Seconds handled events are remembered, so that a late duplicate is dropped (default 86400,
    a day).
``ATM_EVENT_ERROR_LENGTH``
    Characters of the traceback stored with an event that could not be handled, the last ones
    (default 10000).
``ATM_CONFIRM_TIMEOUT``
    Seconds a confirmed ``publish()`` keeps trying when it is given no ``timeout`` (default 30).
``ATM_CONFIRM_FIRST_WAIT``, ``ATM_CONFIRM_LONGEST_WAIT``
    Seconds a confirmed publish waits for a receipt before it sends the event again (default 1),
    doubled after every try up to the longest (default 5).
``ATM_PUBLISH_IN_FLIGHT``
    Confirmed publishes of one process that wait for their receipts at once; the others wait for
    a slot (default 50). Keep the channel layer's capacity for the reply channels at least twice
    as large (system check ``automations.W021``).
``ATM_WAKE_SOON``, ``ATM_WAKE_GATHER``
    A wake-up due within ``ATM_WAKE_SOON`` seconds is published at once, on its own (default 2);
    one due later waits ``ATM_WAKE_GATHER`` seconds for others to go with it in one
    ``automation.wakes`` event (default 0.2).
``ATM_FLUSH_AT_EXIT``
    Seconds an exiting process waits for the events it submitted to be sent (default 2).
``ATM_TASK_DUE_HOURS``, ``ATM_TASK_LATE_HOURS``
    Hours after which an open task shows as due (default 4) and as late (default 24) in the
    task list.
``ATM_TASK_PAGE_SIZE``
    Tasks per page of each section of the task list (default 20).
``ATM_HISTORY_LIMIT``
    Most task rows shown on an instance's page (default 500).
``ATM_FINISHED_KEPT_DAYS``
    Days a finished instance is kept, counted from its last update, before the scheduler worker
    deletes it with its tasks and audit entries; ``None`` keeps finished instances for ever
    (default ``None``). Failed and cancelled instances are never deleted by the worker.
``ATM_DELETE_BATCH``, ``ATM_DELETE_BATCH_SECONDS``
    Most instances deleted in one transaction, by the worker and by ``automation_delete_history``
    (default 500), and the seconds one such transaction should take at most: a batch that took
    longer halves the next one (default 0.2).
``ATM_SOCKET_MESSAGE_SIZE``
    Most bytes of a message a browser sends on the task-list or diagram socket; a larger one is
    ignored (default 4096).
``ATM_LIVE_PAGE_THREADS``
    Threads of a server process that read and render the live instance pages' messages side by
    side (default 4).
``ATM_VERSION_CHECK``
    How the system check of running instances against the declarations reports instances that
    would be stranded or whose path changed (``automations.W040``): ``"warning"`` (the default)
    or ``"error"`` (``automations.E040``), which stops ``migrate``, ``automation_worker`` and
    ``automation_server`` from starting. See docs/versions.md.
``ATM_NOTIFIERS``
    Who tells people of what concerns them (see docs/people.md): a list of notifier classes (by
    dotted path, or the classes), or of ``{"class": path, "options": {...}}`` (default: Django's e-mail,
    ``["automations.notifications.email.EmailNotifier"]``; ``[]`` sends nothing).
``ATM_NOTIFY_IN_BACKGROUND``
    Whether notifications are sent on a thread of their own after the commit (default ``True``);
    ``False`` sends them in the committing thread, after the commit (for tests).
``ATM_NOTIFY_ATTEMPTS``, ``ATM_NOTIFY_RETRY_DELAY``
    How often sending one notification is tried (default 3), and the seconds before the second
    try, doubled before each further one (default 5; no wait when sent in the committing thread).
``ATM_NOTIFY_DEADLINE_AHEAD``
    How many seconds before a form task's deadline its people are reminded, once, that it
    approaches (``deadline_approaching``, sent by the sweeps; default 14400, four hours; 0 sends
    no reminders).
``ATM_SITE_URL``
    The scheme and host put before the links of notifications, like ``"https://work.example.com"``
    (default ``""``: links are paths).
``ATM_TASK_BACKEND``, ``ATM_TASK_LEASE``, ``ATM_TASK_ATTEMPTS``
    When the project configures ``TASKS``, ``Execute(threaded=True)`` calls are enqueued on the
    task backend of that alias (default ``"default"``; ``None`` keeps them in the scheduler
    worker); a call without a result after ``ATM_TASK_LEASE`` seconds (default 600) counts as lost
    and is enqueued again, at most ``ATM_TASK_ATTEMPTS`` times in all (default 3). See
    docs/long-steps.md.
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
    "ATM_WAKE_LEAD": 0.05,
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
    "ATM_UNDECODABLE_LOG_INTERVAL": 10.0,
    "ATM_UNDECODABLE_PAUSE_EVERY": 100,
    "ATM_UNDECODABLE_PAUSE": 0.05,
    "ATM_WAKE_BATCH_SECONDS_FACTOR": 5,
    "ATM_EVENT_ATTEMPTS": 3,
    "ATM_LOCK_WAIT": 0.2,
    "ATM_APPLY_THREADS": 4,
    "ATM_RETRY_DELAY": 0.1,
    "ATM_RETRY_MAX_DELAY": 1.0,
    "ATM_EVENT_PENDING_GRACE": 10,
    "ATM_HANDLED_EVENTS_KEPT": 24 * 60 * 60,
    "ATM_EVENT_ERROR_LENGTH": 10_000,
    "ATM_CONFIRM_TIMEOUT": 30.0,
    "ATM_CONFIRM_FIRST_WAIT": 1.0,
    "ATM_CONFIRM_LONGEST_WAIT": 5.0,
    "ATM_PUBLISH_IN_FLIGHT": 50,
    "ATM_WAKE_SOON": 2.0,
    "ATM_WAKE_GATHER": 0.2,
    "ATM_FLUSH_AT_EXIT": 2.0,
    "ATM_TASK_DUE_HOURS": 4,
    "ATM_TASK_LATE_HOURS": 24,
    "ATM_TASK_PAGE_SIZE": 20,
    "ATM_HISTORY_LIMIT": 500,
    "ATM_SOCKET_MESSAGE_SIZE": 4096,
    "ATM_LIVE_PAGE_THREADS": 4,
    "ATM_FINISHED_KEPT_DAYS": None,
    "ATM_DELETE_BATCH": 500,
    "ATM_DELETE_BATCH_SECONDS": 0.2,
    "ATM_VERSION_CHECK": "warning",
    "ATM_NOTIFIERS": ["automations.notifications.email.EmailNotifier"],
    "ATM_NOTIFY_IN_BACKGROUND": True,
    "ATM_NOTIFY_ATTEMPTS": 3,
    "ATM_NOTIFY_RETRY_DELAY": 5.0,
    "ATM_NOTIFY_DEADLINE_AHEAD": 4 * 60 * 60,
    "ATM_SITE_URL": "",
    "ATM_TASK_BACKEND": "default",
    "ATM_TASK_LEASE": 600,
    "ATM_TASK_ATTEMPTS": 3,
}


def get(name):
    """Return the setting ``name`` from the project settings, or its documented default."""
    return getattr(settings, name, DEFAULTS[name])


def condition_recheck_interval() -> timedelta:
    """Return how long an unmet ``AsSoonAs`` condition waits before it is evaluated again."""
    return timedelta(seconds=get("ATM_CONDITION_RECHECK_INTERVAL"))


def seconds(name) -> timedelta:
    """Return the setting ``name``, a number of seconds, as a ``timedelta``."""
    return timedelta(seconds=get(name))
