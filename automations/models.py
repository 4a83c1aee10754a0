"""The models every automation shares: instances, their task history, the event inbox and the workers."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from automations import history, registry
from automations import settings as atm_settings
from automations.logsafe import shown
from automations.permissions import task_users_with_permission

MAX_ID = 2**63 - 1  # the largest primary key the databases store


# The models sit below the engine: the engine hands its sweep over when it loads (see use_sweep).
_engine_sweep: Callable[[], dict[str, int]] | None = None


def use_sweep(sweep: Callable[[], dict[str, int]]) -> None:
    """Make ``AutomationModel.run()`` call ``sweep`` (called by :mod:`automations.engine` on import)."""
    global _engine_sweep
    _engine_sweep = sweep


def new_key() -> str:
    """Return a random, unguessable instance key."""
    return secrets.token_urlsafe(32)


class AutomationManager(models.Manager["AutomationModel"]):
    """The manager of :class:`AutomationModel`: instances by reference, due and running ones."""

    def get_by_reference(self, reference: object) -> AutomationModel:
        """Return the instance for an id (int or string of ASCII digits) or a key; raise ``DoesNotExist``."""
        if isinstance(reference, AutomationModel):
            return reference
        if isinstance(reference, str) and reference.isascii() and reference.isdigit():
            reference = int(reference)
        if isinstance(reference, int) and not isinstance(reference, bool):
            if not 0 < reference <= MAX_ID:
                raise self.model.DoesNotExist(f"{reference} is not an automation id.")
            return self.get(pk=reference)
        if isinstance(reference, str) and reference:
            return self.get(key=reference)
        raise self.model.DoesNotExist(f"{shown(reference)} is neither an automation id nor a key.")

    def due(self, now: datetime | None = None) -> models.QuerySet[AutomationModel]:
        """Return the unfinished instances whose wake time has come, earliest first."""
        return self.filter(wake_at__lte=now or timezone.now()).order_by("wake_at")

    def finished_before(self, cutoff: datetime) -> models.QuerySet[AutomationModel]:
        """Return the finished instances last updated before ``cutoff``, the oldest first."""
        return self.filter(status=Status.FINISHED, updated__lt=cutoff).order_by("updated", "pk")

    def running(self) -> models.QuerySet[AutomationModel]:
        """Return the instances that have not stopped: neither finished, failed nor cancelled.

        Instances held because they stand on a node their class no longer declares
        (``needs_migration``) have not stopped either.
        """
        return self.filter(status__in=Status.alive())


class Status(models.TextChoices):
    """Where an instance stands: its lifecycle status (``AutomationModel.status``).

    Only :mod:`automations.lifecycle` writes it, in the transaction of the change that causes it.
    """

    RUNNING = "running", _("running")
    WAITING_FOR_PERSON = "waiting_for_person", _("waiting for a person")
    WAITING_FOR_TIME = "waiting_for_time", _("waiting for time")
    WAITING_FOR_MESSAGE = "waiting_for_message", _("waiting for a message")
    NEEDS_MIGRATION = "needs_migration", _("needs migration")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")
    FINISHED = "finished", _("finished")

    @classmethod
    def active(cls) -> list[str]:
        """Return the statuses of instances that go on: running or waiting."""
        return [cls.RUNNING, cls.WAITING_FOR_PERSON, cls.WAITING_FOR_TIME, cls.WAITING_FOR_MESSAGE]

    @classmethod
    def alive(cls) -> list[str]:
        """Return the statuses of instances that have not stopped: active, or held for a migration."""
        return [*cls.active(), cls.NEEDS_MIGRATION]

    @classmethod
    def stopped(cls) -> list[str]:
        """Return the statuses of instances that never move again unless a person acts."""
        return [cls.FAILED, cls.CANCELLED, cls.FINISHED]


class AutomationVersion(models.Model):
    """One shape of an automation class's declaration, as instances started under it.

    ``fingerprint`` is a hash of ``shape``: the nodes' names and kinds, their successors, and
    which ``Join`` each ``Split`` meets at (see :mod:`automations.versions.shape`). ``label`` is
    the class's ``Meta.version`` then. Rows are written once and never changed; each instance
    refers to the one it started under (``AutomationModel.version``).
    """

    automation_class = models.CharField(_("automation class"), max_length=256)
    label = models.IntegerField(_("version"), default=1)
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    shape = models.JSONField(_("shape"), default=dict)
    created = models.DateTimeField(_("first seen"), default=timezone.now)

    class Meta:
        verbose_name = _("automation version")
        verbose_name_plural = _("automation versions")
        constraints = [
            models.UniqueConstraint(
                fields=["automation_class", "label", "fingerprint"], name="automations_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.automation_class} v{self.label} ({self.fingerprint[:8]})"


class AutomationModel(models.Model):
    """One automation instance: its class, its JSON data and where it stands (``status``)."""

    Status = Status

    automation_class = models.CharField(_("automation class"), max_length=256, db_index=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    finished = models.BooleanField(_("finished"), default=False)
    key = models.CharField(_("key"), max_length=64, unique=True, default=new_key, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)
    wake_at = models.DateTimeField(
        _("wake at"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("When the scheduler next advances this instance; empty while it waits for an event."),
    )
    error = models.TextField(_("error"), blank=True, default="")
    status = models.CharField(
        _("status"), max_length=32, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    model_refs = models.JSONField(_("model references"), default=dict, blank=True, editable=False)
    unique_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    version = models.ForeignKey(
        AutomationVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,  # never looked up by version; an index would only slow down inserts
        related_name="+",
        editable=False,
        verbose_name=_("started under"),
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        editable=False,
        verbose_name=_("started by"),
        help_text=_("The instance whose SubAutomation node started this one and waits for it."),
    )

    objects = AutomationManager()

    class Meta:
        verbose_name = _("automation")
        verbose_name_plural = _("automations")
        indexes = [  # the oldest finished instances first, for deleting them (delete_history, retention)
            models.Index(
                fields=["updated", "id"], condition=models.Q(status="finished"), name="automations_finished"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["unique_key"],
                condition=models.Q(
                    status__in=[
                        "running",
                        "waiting_for_person",
                        "waiting_for_time",
                        "waiting_for_message",
                        "needs_migration",
                    ]
                ),  # fmt: skip
                name="automations_unique_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.automation_class} #{self.pk}"

    def save(self, **kwargs: Any) -> None:
        """Save the row; saving a running instance's ``data`` makes it due now.

        The next step (``automation_step``, a worker's sweep) then checks its waiting conditions
        against the new data.
        """
        update_fields = kwargs.get("update_fields")
        data_saved = update_fields is None or "data" in update_fields
        if not self._state.adding and data_saved and self.status in Status.active():
            now = timezone.now()
            if self.wake_at is None or self.wake_at > now:
                self.wake_at = now
                if update_fields is not None:
                    kwargs["update_fields"] = {*update_fields, "wake_at"}
        super().save(**kwargs)

    @property
    def is_active(self) -> bool:
        """Whether the instance goes on (running or waiting), by its ``status``."""
        return self.status in Status.active()

    def get_automation_class(self) -> type[Any]:
        """Return the automation class without instantiating it (resolved through the registry)."""
        cached = self.__dict__.get("_automation_class")
        if cached is None or registry.class_path(cached) != self.automation_class:
            cached = self.__dict__["_automation_class"] = registry.get(self.automation_class)
        return cached

    @property
    def instance(self) -> Any:
        """The automation instance (an ``Automation`` subclass object) bound to this row."""
        cached = self.__dict__.get("_instance")
        if cached is None:
            cached = self.__dict__["_instance"] = self.get_automation_class()(automation=self)
        return cached

    @classmethod
    def run(cls) -> dict[str, int]:
        """Advance every due instance once (what ``manage.py automation_step`` calls); return counts."""
        if _engine_sweep is None:
            raise RuntimeError("The engine is not loaded: is 'automations' in INSTALLED_APPS?")
        return _engine_sweep()

    @classmethod
    def delete_history(
        cls,
        days: float = 30,
        *,
        batch_size: int | None = None,
        progress: Callable[[history.Batch], object] | None = None,
    ) -> tuple[int, dict[str, int]]:
        """Delete instances finished more than ``days`` days ago with their tasks and audit entries.

        An instance's finishing time is its last update. The oldest go first, in batches of at most
        ``batch_size`` instances (default ``ATM_DELETE_BATCH``), each in a transaction of its own
        that should take at most ``ATM_DELETE_BATCH_SECONDS`` (a slower one halves the next), with
        a pause as long as the batch between two; ``progress(batch)`` is called after each (see
        :class:`automations.history.Batch`). Return
        ``(total, {model_label: count})`` as Django's ``QuerySet.delete()`` does.
        """
        cutoff = timezone.now() - timedelta(days=days)
        sizes = history.batch_sizes(batch_size)
        return history.delete_in_batches(cls.objects.finished_before(cutoff), sizes, progress)


class AutomationTaskModel(models.Model):
    """One visit of a node by an automation instance; open (``finished`` empty) while it waits."""

    # Indexed by automations_task_open, whose first column it is; the other indexes leave out the
    # rows they never find (empty foreign keys, finished tasks), most rows of a long history.
    automation = models.ForeignKey(
        AutomationModel, on_delete=models.CASCADE, db_index=False, verbose_name=_("automation")
    )
    status = models.CharField(_("node"), max_length=256, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)
    message = models.CharField(_("message"), max_length=512, blank=True, default="")
    result = models.JSONField(_("result"), null=True, blank=True)
    path = models.CharField(_("parallel path"), max_length=256, blank=True, default="")
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    interaction_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        related_name="+",
        verbose_name=_("assigned user"),
    )
    interaction_group = models.ForeignKey(
        atm_settings.get("ATM_GROUP_MODEL"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        related_name="+",
        verbose_name=_("assigned group"),
    )
    interaction_permissions = models.JSONField(_("required permissions"), default=list, blank=True)
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        related_name="+",
        verbose_name=_("finished by"),
    )
    deadline_reminded = models.DateTimeField(
        _("deadline reminded"),
        null=True,
        blank=True,
        help_text=_("When its people were told that the deadline approaches (once per task)."),
    )
    snoozed_until = models.DateTimeField(
        _("snoozed until"),
        null=True,
        blank=True,
        help_text=_("The task stays out of the inbox until then (see automations.handover.snooze)."),
    )

    class Meta:
        verbose_name = _("automation task")
        verbose_name_plural = _("automation tasks")
        permissions = [("reassign_task", _("Can claim, unassign, reassign and snooze others' tasks"))]
        indexes = [
            models.Index(fields=["automation", "finished"], name="automations_task_open"),
            models.Index(
                fields=["created"],
                condition=models.Q(finished__isnull=True),
                name="automations_task_open_created",
            ),
            models.Index(  # the deadline reminders' search (automations.notifications.reminders)
                fields=["deadline"],
                condition=models.Q(
                    finished__isnull=True, deadline_reminded__isnull=True, deadline__isnull=False
                ),
                name="automations_task_remind",
            ),
            *(
                models.Index(fields=[field], condition=models.Q(**{f"{field}__isnull": False}), name=name)
                for field, name in [
                    ("interaction_user", "automations_task_user"),
                    ("interaction_group", "automations_task_group"),
                    ("finished_by", "automations_task_finisher"),
                ]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id}.{self.status}"

    @property
    def data(self) -> dict[str, Any]:
        """Short for ``self.automation.data``: the automation instance's JSON data."""
        return self.automation.data

    def hours_since_created(self) -> float:
        """Return the hours this open task has waited; ``0`` once it is finished."""
        if self.finished is not None:
            return 0
        return (timezone.now() - self.created).total_seconds() / 3600

    def hours_until_deadline(self) -> float | None:
        """Return the hours left until this open task's deadline (negative once it has passed).

        ``None`` if the task has no deadline (its node has no ``.Deadline()``) or is finished.
        """
        if self.finished is not None or self.deadline is None:
            return None
        return (self.deadline - timezone.now()).total_seconds() / 3600

    def get_users_with_permission(
        self, include_superusers: bool = True, backend: str | None = None
    ) -> models.QuerySet[Any]:
        """Return the users who may process this task: its assigned user, group and permissions.

        ``backend`` is the authentication backend asked for permissions (default: the first
        configured one that can list users); ``ATM_USER_WITH_PERMISSIONS_MODEL_METHOD`` replaces
        this method.
        """
        return task_users_with_permission(self, include_superusers=include_superusers, backend=backend)


class AuditEntry(models.Model):
    """One thing a person did by hand: who, when, what, and why.

    Written by :mod:`automations.instance_actions` (the console and the admin) and
    :mod:`automations.handover` in the transaction of the action; the engine never reads these
    rows. Most entries are about an instance (``automation``); a delegation's (``delegate``,
    ``end_delegation``) is about no instance, and instances' history deletion leaves it.
    """

    WAKE = "wake"
    RETRY = "retry"
    CANCEL = "cancel"
    MESSAGE = "message"
    MOVE = "move"
    CLAIM = "claim"
    UNASSIGN = "unassign"
    REASSIGN = "reassign"
    SNOOZE = "snooze"
    DELEGATE = "delegate"
    END_DELEGATION = "end_delegation"
    ACTIONS = [
        (WAKE, _("wake")),
        (RETRY, _("retry")),
        (CANCEL, _("cancel")),
        (MESSAGE, _("message")),
        (MOVE, _("move")),
        (CLAIM, _("claim")),
        (UNASSIGN, _("unassign")),
        (REASSIGN, _("reassign")),
        (SNOOZE, _("snooze")),
        (DELEGATE, _("delegate")),
        (END_DELEGATION, _("end delegation")),
    ]

    automation = models.ForeignKey(
        AutomationModel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="audit_entries",
        verbose_name=_("automation"),
    )
    created = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who"),
    )
    username = models.CharField(_("user name"), max_length=150, blank=True, default="")
    action = models.CharField(_("what"), max_length=16, choices=ACTIONS)
    reason = models.TextField(_("reason"), blank=True, default="")
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        where = f"{self.automation_id}: " if self.automation_id is not None else ""
        return f"{where}{self.action} by {self.username or '?'}"

    def describe(self) -> str:
        """Return one sentence for people: what was done, by whom, and why."""
        names = {**self.details, "user": self.username or "?", "reason": self.reason}
        if self.action == self.WAKE:
            return gettext("Woken by %(user)s.") % names
        if self.action == self.RETRY:
            return gettext("Retried from %(node)s by %(user)s.") % {"node": "?", **names}
        if self.action == self.CANCEL:
            return gettext("Cancelled by %(user)s: %(reason)s") % names
        if self.action == self.MESSAGE:
            return gettext("Message %(message)s sent by %(user)s.") % {"message": "?", **names}
        if self.action == self.MOVE:
            return gettext("Moved from %(from)s to %(to)s by %(user)s: %(reason)s") % {
                "from": "?", "to": "?", **names
            }  # fmt: skip
        if self.action == self.CLAIM:
            return gettext("Task %(node)s claimed by %(user)s.") % {"node": "?", **names}
        if self.action == self.UNASSIGN:
            return gettext("Task %(node)s given back to the queue by %(user)s.") % {"node": "?", **names}
        if self.action == self.REASSIGN:
            return gettext("Task %(node)s handed to %(to)s by %(user)s.") % {"node": "?", "to": "?", **names}
        if self.action == self.SNOOZE and self.details.get("until"):
            return gettext("Task %(node)s snoozed until %(until)s by %(user)s.") % {"node": "?", **names}
        if self.action == self.SNOOZE:
            return gettext("Task %(node)s woken from its snooze by %(user)s.") % {"node": "?", **names}
        if self.action in (self.DELEGATE, self.END_DELEGATION):
            return self._describe_delegation(names)
        return f"{self.action} ({self.username})"

    def _describe_delegation(self, names: dict[str, Any]) -> str:
        names = {
            **names,
            "away": names.get("away_name") or "?",
            "substitute": names.get("substitute_name") or "?",
            "starts": _moment(names.get("starts")),
            "ends": _moment(names.get("ends")),
        }
        if self.action == self.DELEGATE:
            text = gettext(
                "%(user)s named %(substitute)s as substitute for %(away)s from %(starts)s until %(ends)s."
            )
        elif names.get("dropped"):
            text = gettext(
                "%(user)s dropped the delegation of %(away)s to %(substitute)s "
                "from %(starts)s until %(ends)s before it started."
            )
        else:
            text = gettext(
                "%(user)s ended the delegation of %(away)s to %(substitute)s, planned until %(ends)s."
            )
        return text % names


def _moment(iso: object) -> str:
    """Return the ISO date and time ``iso`` of an audit entry's details as local "YYYY-MM-DD HH:MM"."""
    moment = parse_datetime(iso) if isinstance(iso, str) else None
    if moment is None:
        return str(iso or "?")
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(moment) else str(iso)


class Delegation(models.Model):
    """A user's substitute for a period: while ``starts <= now < ends`` the substitute acts for ``user``.

    The substitute sees the tasks assigned to ``user`` personally in their inbox and may process
    them (see :mod:`automations.delegation`); written by :func:`automations.handover.delegate`.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("away")
    )
    substitute = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("substitute")
    )
    starts = models.DateTimeField(_("from"), default=timezone.now)
    ends = models.DateTimeField(_("until"), db_index=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        ordering = ["starts", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")), name="automations_delegation_period"
            ),
            models.CheckConstraint(
                condition=~models.Q(user=models.F("substitute")), name="automations_delegation_other_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.substitute_id} ({self.starts:%Y-%m-%d} – {self.ends:%Y-%m-%d})"


class NotificationOptOut(models.Model):
    """A user's wish not to be told of one kind of event (``kind``), or of any (``"*"``)."""

    ANY = "*"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    kind = models.CharField(_("kind of notification"), max_length=32, default=ANY)

    class Meta:
        verbose_name = _("notification opt-out")
        verbose_name_plural = _("notification opt-outs")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="automations_optout_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind}"


class InboxEvent(models.Model):
    """An effectful channel-layer event, kept from its arrival until it has been applied once.

    A worker writes every ``automation.message``, ``broadcast``, ``create`` and ``start`` event it
    receives here at once, on a connection of its own; the event is then applied in the transaction
    that sets ``handled``, so that it is applied once however often it arrives and whichever worker
    takes it. Rows still pending (``handled`` empty) after a worker died are applied by the others'
    sweeps and by ``automation_step``. Handled rows are kept for a day, to recognise late duplicates.
    """

    APPLIED = "applied"
    REJECTED = "rejected"
    FAILED = "failed"
    OUTCOMES = [(APPLIED, _("applied")), (REJECTED, _("rejected")), (FAILED, _("failed"))]

    id = models.CharField(_("event id"), max_length=100, primary_key=True)
    type = models.CharField(_("type"), max_length=32, blank=True, default="")
    event = models.JSONField(_("event"), null=True, blank=True)
    received = models.DateTimeField(_("received"), default=timezone.now)
    worker = models.CharField(_("received by"), max_length=100, blank=True, default="")
    handled = models.DateTimeField(_("handled"), null=True, blank=True, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=OUTCOMES, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("inbox event")
        verbose_name_plural = _("inbox events")
        indexes = [
            models.Index(
                fields=["received"],
                condition=models.Q(handled__isnull=True),
                name="automations_inbox_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WorkerModel(models.Model):
    """A running scheduler worker, known by its heartbeat, so that others take over when it dies."""

    name = models.CharField(_("name"), max_length=100, primary_key=True)
    started = models.DateTimeField(_("started"), default=timezone.now)
    seen = models.DateTimeField(_("last seen"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("scheduler worker")
        verbose_name_plural = _("scheduler workers")

    def __str__(self) -> str:
        return self.name


class LongCall(models.Model):
    """The lease of an ``Execute(threaded=True)`` call handed to the project's task backend.

    One row per node visit, made in the step that enqueues the call. ``token`` names the call
    (the task carries it); ``attempt`` counts the times it was enqueued, ``lease_until`` is when
    it counts as lost and is enqueued again. The first result to arrive sets ``done``; any later
    one is ignored.
    """

    token = models.UUIDField(_("token"), primary_key=True)
    automation = models.ForeignKey(AutomationModel, on_delete=models.CASCADE, related_name="long_calls")
    node = models.CharField(_("node"), max_length=255)
    attempt = models.PositiveIntegerField(_("attempt"), default=1)
    lease_until = models.DateTimeField(_("lease until"))
    backend_task_id = models.CharField(_("backend task id"), max_length=255, blank=True, default="")
    done = models.DateTimeField(_("done"), null=True, blank=True)
    outcome = models.JSONField(_("outcome"), null=True, blank=True)

    class Meta:
        verbose_name = _("long call")
        verbose_name_plural = _("long calls")

    def __str__(self) -> str:
        return f"{self.node} #{self.automation_id} ({self.token})"


class FlowGate(models.Model):
    """The row that admissions to one limited node (and key value) lock, one at a time."""

    scope = models.CharField(_("scope"), max_length=400, primary_key=True)

    class Meta:
        verbose_name = _("flow gate")
        verbose_name_plural = _("flow gates")

    def __str__(self) -> str:
        return self.scope


class FlowTicket(models.Model):
    """A path's place in the queue of a limited node: waiting, then admitted, then released.

    Tickets are served in the order of their ids (first come, first served).
    """

    scope = models.CharField(_("scope"), max_length=400)
    automation = models.ForeignKey(AutomationModel, on_delete=models.CASCADE, related_name="flow_tickets")
    node = models.CharField(_("node"), max_length=255)
    arrived = models.DateTimeField(_("arrived"))
    admitted = models.DateTimeField(_("admitted"), null=True, blank=True)
    released = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        verbose_name = _("flow ticket")
        verbose_name_plural = _("flow tickets")
        indexes = [models.Index(fields=["scope", "released"], name="automations_ticket_scope")]

    def __str__(self) -> str:
        return f"{self.scope} #{self.automation_id}"
