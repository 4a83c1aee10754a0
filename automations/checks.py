"""System checks of Django Automations: declared automations, forms, settings and the worker setup."""

from importlib.util import find_spec

import channels.layers
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from automations import registry
from automations import settings as atm_settings
from automations.events.confirming import REPLY_PREFIX
from automations.flow.automation import _BASE_ATTRIBUTES
from automations.flow.declaration import find_problems
from automations.flow.execute import SendMessage
from automations.permissions import (
    CUSTOM_SETTINGS,
    custom_method,
    custom_settings_problem,
    form_nodes,
    group_model,
)
from automations.receivers import RECEIVER_PREFIX, UnknownMessageError, receiver_for
from automations.versions import operations, report

IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"


# -- declared automations -----------------------------------------------------------------------


def check_automations(app_configs=None, **kwargs):
    """Report problems of every registered automation (ids ``automations.E00x``, ``W00x``).

    Declarations are validated when their class is created (E001-E004, a deadline that can never
    pass E006, the start options of ``Meta`` E030-E034, its versioning options and obsolete nodes
    E041-E046, ``Meta.concurrency`` E051-E052, and the warnings W004 and W030); this check repeats
    that and adds what can only be checked once every app is loaded: ``SendMessage`` targets given as
    dotted paths must name registered automations (E005), and a class a ``SendMessage`` targets
    (given as a class or a dotted path) should have a receiver for its message (W005).
    """
    errors = []
    for cls in registry.all_automations().values():
        for problem in find_problems(cls, _BASE_ATTRIBUTES):
            level = checks.Error if problem.is_error else checks.Warning
            errors.append(level(problem.msg, hint=problem.hint, obj=cls, id=problem.id))
        errors.extend(_message_target_errors(cls))
    return errors


def _message_target_errors(cls):
    known = registry.all_automations()
    for name, node in cls._nodes.items():
        if not isinstance(node, SendMessage):
            continue
        target = node._target
        if _is_class_path(target):
            if target not in known:
                yield checks.Error(
                    f"{cls.__name__}.{name}: SendMessage() targets '{target}', which is not a registered "
                    "automation.",
                    hint="Fix the dotted path, or make sure the target's module is an 'automations' module "
                    "of an installed app.",
                    obj=cls,
                    id="automations.E005",
                )
                continue
            target = known[target]
        if registry.is_automation_class(target) and not _receives(target, node._message):
            yield checks.Warning(
                f"{cls.__name__}.{name}: SendMessage() sends {node._message!r} to {target.__name__}, which "
                "has no receiver for it: an instance stops with an error when it gets there.",
                hint=f"Define '{RECEIVER_PREFIX}{node._message}(self, token, data)' on {target.__name__}, or "
                "fix the message. (django-automations 0.9 went on past such a message.)",
                obj=cls,
                id="automations.W005",
            )


def _receives(automation_class, message) -> bool:
    try:
        receiver_for(automation_class, message)
    except UnknownMessageError:
        return False
    return True


def _is_class_path(target) -> bool:
    return isinstance(target, str) and "." in target and not target.startswith("self.")


# -- forms and the settings for non-standard groups ----------------------------------------------


def check_permission_settings(app_configs=None, **kwargs):
    """Report group settings set only in part (``automations.E010``) or not resolving (``E011``)."""
    problem = custom_settings_problem()
    if problem:
        return [
            checks.Error(
                problem,
                hint=f"Set all of {', '.join(CUSTOM_SETTINGS)} (see 'Non-standard Group and Permissions'), "
                "or remove them to use auth.Group and Django's permissions.",
                id="automations.E010",
            )
        ]
    errors = []
    lookups = (
        lambda: group_model(),
        lambda: custom_method("ATM_USER_WITH_PERMISSIONS_FORM_METHOD"),
        lambda: custom_method("ATM_USER_WITH_PERMISSIONS_MODEL_METHOD"),
    )
    for lookup in lookups:
        try:
            lookup()
        except ImproperlyConfigured as exc:
            hint = "Fix the setting's dotted path."
            errors.append(checks.Error(str(exc), hint=hint, id="automations.E011"))
    return errors


def check_unassigned_forms(app_configs=None, **kwargs):
    """Warn about ``Form`` nodes any logged-in user may process (``automations.W010``)."""
    warnings = []
    for cls in registry.all_automations().values():
        for name, node in form_nodes(cls).items():
            if not node.is_assigned():
                warnings.append(
                    checks.Warning(
                        f"{cls.__name__}.{name}: Form() has no .User(), .Group() or .Permission(), "
                        "so any logged-in user may process it.",
                        hint="Assign the form, or add 'automations.W010' to SILENCED_SYSTEM_CHECKS if "
                        "every logged-in user is meant to process it.",
                        obj=cls,
                        id="automations.W010",
                    )
                )
    return warnings


# -- the worker setup ------------------------------------------------------------------------------


def check_worker_reachable(app_configs=None, **kwargs):
    """Warn when ``ATM_WORKER`` is on but the channel layer cannot carry events to another process."""
    if not atm_settings.get("ATM_WORKER"):
        return []
    backend = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND")
    if backend is not None and backend != IN_MEMORY_LAYER:
        return []
    problem = "no channel layer" if backend is None else "the in-memory channel layer"
    return [
        checks.Warning(
            f"ATM_WORKER is on, but with {problem} the events of this process reach no worker in "
            f"another process: woken instances wait for the next sweep.",
            hint="Use channels-redis (REDIS_URL) for separate automation_worker processes, or set "
            "ATM_WORKER = False and run manage.py automation_server, which runs its worker in its "
            "own process.",
            id="automations.W020",
        )
    ]


def check_reply_capacity(app_configs=None, **kwargs):
    """Warn when the reply channels of a process may fill up with ``ATM_PUBLISH_IN_FLIGHT`` receipts.

    channels-redis keeps all the process-local channels of a process in one list, limited by the
    layer's ``capacity`` (or a ``channel_capacity`` pattern that matches ``automations.receipt.*``);
    a confirmed publish of this process waits on one of them (``automations.W021``).
    """
    in_flight = atm_settings.get("ATM_PUBLISH_IN_FLIGHT")
    backend = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND")
    if backend in (None, IN_MEMORY_LAYER) or isinstance(in_flight, bool) or not isinstance(in_flight, int):
        return []
    try:
        capacity = channels.layers.get_channel_layer().get_capacity(f"{REPLY_PREFIX}.check!check")
    except Exception:  # a layer that cannot be made, or that has no capacity: nothing to compare
        return []
    if not isinstance(capacity, int) or capacity >= 2 * in_flight:
        return []
    return [
        checks.Warning(
            f"ATM_PUBLISH_IN_FLIGHT is {in_flight}, but the channel layer holds only {capacity} messages "
            f"for the reply channels of a process: receipts of confirmed publishes may be refused and "
            f"their events sent again.",
            hint=f"Give the layer's CONFIG a 'channel_capacity' of at least {2 * in_flight} for "
            f"'{REPLY_PREFIX}.*' (or a larger 'capacity'), or lower ATM_PUBLISH_IN_FLIGHT.",
            id="automations.W021",
        )
    ]


# -- limits ----------------------------------------------------------------------------------------

POSITIVE_NUMBER_SETTINGS = (  # seconds, hours and factors
    "ATM_TASK_LEASE",
    "ATM_SWEEP_INTERVAL",
    "ATM_WAKE_HORIZON",
    "ATM_WAKE_BATCH_SECONDS",
    "ATM_WAKE_BATCH_SECONDS_FACTOR",
    "ATM_HEARTBEAT_INTERVAL",
    "ATM_WORKER_TIMEOUT",
    "ATM_RESTART_WINDOW",
    "ATM_RECONNECT_DELAY",
    "ATM_CONDITION_RECHECK_INTERVAL",
    "ATM_UNDECODABLE_LOG_INTERVAL",
    "ATM_UNDECODABLE_PAUSE",
    "ATM_EVENT_PENDING_GRACE",
    "ATM_HANDLED_EVENTS_KEPT",
    "ATM_CONFIRM_TIMEOUT",
    "ATM_CONFIRM_FIRST_WAIT",
    "ATM_CONFIRM_LONGEST_WAIT",
    "ATM_WAKE_SOON",
    "ATM_WAKE_GATHER",
    "ATM_FLUSH_AT_EXIT",
    "ATM_TASK_DUE_HOURS",
    "ATM_TASK_LATE_HOURS",
    "ATM_DELETE_BATCH_SECONDS",
    "ATM_LOCK_WAIT",
    "ATM_RETRY_DELAY",
    "ATM_RETRY_MAX_DELAY",
    "ATM_NOTIFY_RETRY_DELAY",
)
POSITIVE_COUNT_SETTINGS = (  # sizes and counts
    "ATM_TASK_ATTEMPTS",
    "ATM_MAX_EVENT_SIZE",
    "ATM_WAKE_BATCH",
    "ATM_SWEEP_BATCH",
    "ATM_SWEEP_MAX",
    "ATM_SWEEP_LOOKAHEAD",
    "ATM_MAX_TIMERS",
    "ATM_INTAKE_QUEUE",
    "ATM_INTAKE_BATCH",
    "ATM_MAX_RESTARTS",
    "ATM_STEP_NODE_LIMIT",
    "ATM_UNDECODABLE_PAUSE_EVERY",
    "ATM_EVENT_ATTEMPTS",
    "ATM_EVENT_ERROR_LENGTH",
    "ATM_TASK_PAGE_SIZE",
    "ATM_HISTORY_LIMIT",
    "ATM_SOCKET_MESSAGE_SIZE",
    "ATM_LIVE_PAGE_THREADS",
    "ATM_DELETE_BATCH",
    "ATM_PUBLISH_IN_FLIGHT",
    "ATM_APPLY_THREADS",
    "ATM_NOTIFY_ATTEMPTS",
)
OPTIONAL_NUMBER_SETTINGS = ("ATM_FINISHED_KEPT_DAYS",)  # a positive number, or None for "never"
NON_NEGATIVE_NUMBER_SETTINGS = (  # seconds, where 0 turns the behaviour off
    "ATM_WAKE_LEAD",
    "ATM_NOTIFY_DEADLINE_AHEAD",
)


def check_limit_settings(app_configs=None, **kwargs):
    """Report a limit setting that is not a positive number (or, for a few, zero), or a count that
    is not a positive whole number (``automations.E021``)."""
    errors = []
    names = POSITIVE_NUMBER_SETTINGS + POSITIVE_COUNT_SETTINGS + OPTIONAL_NUMBER_SETTINGS
    for name in names + NON_NEGATIVE_NUMBER_SETTINGS:
        value = atm_settings.get(name)
        if value is None and name in OPTIONAL_NUMBER_SETTINGS:
            continue
        kind, types = ("whole number", int) if name in POSITIVE_COUNT_SETTINGS else ("number", int | float)
        if name in OPTIONAL_NUMBER_SETTINGS:
            kind = "number or None"
        sign = "non-negative" if name in NON_NEGATIVE_NUMBER_SETTINGS else "positive"
        if isinstance(value, bool) or not isinstance(value, types) or not _in_range(name, value):
            errors.append(
                checks.Error(
                    f"{name} must be a {sign} {kind}, not {value!r}.",
                    hint=f"Set {name} to a {sign} {kind}, or remove it for its default "
                    f"({atm_settings.DEFAULTS[name]!r}).",
                    id="automations.E021",
                )
            )
    return errors


def check_task_backend(app_configs=None, **kwargs):
    """Report a task backend for threaded calls that cannot be used (``automations.E050``).

    When the project configures ``TASKS``, ``ATM_TASK_BACKEND`` must name one of its aliases, and
    a task framework must be installed: ``django.tasks`` (Django 6) or the ``django-tasks`` backport.
    """
    alias = atm_settings.get("ATM_TASK_BACKEND")
    if not settings.is_overridden("TASKS") or alias is None:
        return []
    if not (find_spec("django.tasks") or find_spec("django_tasks")):
        return [
            checks.Error(
                "TASKS is set, but no task framework is installed for Execute(threaded=True) calls.",
                hint="On Django 5.2 install the backport (pip install django-tasks) and add 'django_tasks' "
                "to INSTALLED_APPS, or set ATM_TASK_BACKEND = None to keep threaded calls in the "
                "scheduler worker.",
                id="automations.E050",
            )
        ]
    if alias not in settings.TASKS:
        return [
            checks.Error(
                f"ATM_TASK_BACKEND names the task backend {alias!r}, which TASKS does not configure.",
                hint=f"Set ATM_TASK_BACKEND to one of {sorted(settings.TASKS)}, or to None to keep "
                "threaded calls in the scheduler worker.",
                id="automations.E050",
            )
        ]
    return []


def _in_range(name: str, value: float) -> bool:
    return value >= 0 if name in NON_NEGATIVE_NUMBER_SETTINGS else value > 0


# -- running instances and the declarations --------------------------------------------------------


def check_versions(app_configs=None, databases=None, **kwargs):
    """Report instances that the declarations as they are now would strand or send down a changed path.

    A database check, as Django's own: it runs where the databases are asked for (``manage.py
    check --database default``, ``migrate``, and ``automation_worker`` / ``automation_server`` when
    they start). ``automations.W040`` per finding, or ``automations.E040`` with
    ``ATM_VERSION_CHECK = "error"``.
    """
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    try:
        moves = operations.pending_moves(DEFAULT_DB_ALIAS)
        findings = [finding for finding in report.compare(moves=moves) if finding.fails]
    except DatabaseError:  # not migrated yet: nothing can be running
        return []
    error = atm_settings.get("ATM_VERSION_CHECK") == "error"
    level, code = (checks.Error, "automations.E040") if error else (checks.Warning, "automations.W040")
    return [
        level(
            finding.describe(),
            hint="See docs/versions.md; `manage.py automation_versions` lists every running version.",
            obj=finding.where,
            id=code,
        )
        for finding in findings
    ]
