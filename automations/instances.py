"""Automation instances at run time: creating and binding them, and messages between them.

The ``Automation`` facade (:mod:`automations.flow.automation`) calls this module for everything
that touches the database: creating an instance (or binding to the running unique one), binding an
object to an existing row, the model instances named in ``data``, sending, dispatching and
broadcasting messages, and waking an instance. The engine (:mod:`automations.engine`) sits below:
this module calls it, never the other way round.

The identity map: one ``AutomationModel`` object per instance and thread, shared by its
``Automation`` objects. A test or a view often keeps the object it created
(``journey = Journey()``) while a sweep, a message or a form advances the same instance through
another object. Binding every object of an instance to one row object means ``journey.data`` shows
what the others did, without a query.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import weakref

from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from automations import engine, registry
from automations.events import wakeups
from automations.logsafe import shown
from automations.models import AutomationModel
from automations.receivers import coerce_data, data_source, receiver_for, required_parameters
from automations.stepping import in_step, stepping_automation, touching
from automations.versions import records as versions

logger = logging.getLogger("automations")

_local = threading.local()
REFRESHED_FIELDS = ("automation_class", "data", "finished", "wake_at", "error", "status", "model_refs")


# -- the identity map ----------------------------------------------------------------------------


def _rows() -> weakref.WeakValueDictionary:
    rows = getattr(_local, "rows", None)
    if rows is None:
        rows = _local.rows = weakref.WeakValueDictionary()
    return rows


def shared_row(model):
    """Return this thread's row object for ``model.pk``, updated with the fields ``model`` has loaded.

    While the instance is inside a step in this thread, the step's row object is returned
    unchanged: its nodes' changes are not saved yet and must not be replaced by older values.
    """
    if model.pk is None:
        return model
    rows = _rows()
    shared = rows.get(model.pk)
    # The key tells a recycled id (a deleted row, a rolled-back test) from the same instance.
    if shared is None or shared is model or shared.__dict__.get("key") != model.__dict__.get("key"):
        rows[model.pk] = model
        return model
    if not in_step(model.pk):
        for name in REFRESHED_FIELDS:
            if name in model.__dict__:
                shared.__dict__[name] = model.__dict__[name]
    return shared


def forget(model) -> None:
    """Stop sharing ``model`` (after it was deleted)."""
    _rows().pop(model.pk, None)


# -- creating and binding -----------------------------------------------------------------------


class ModelReference:
    """A class attribute naming a model: the data key of that name holds the id of an instance."""

    def __init__(self, model):
        self.model = model

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self.model
        return instance.get_model_instance(self.name)


def start(automation, *, model=None, automation_id=None, autorun=True, params=None) -> bool:
    """Bind ``automation`` to the row ``model`` (or the id ``automation_id``), or create a new instance.

    A new instance is created from ``params`` (or bound to the running unique instance) and run
    at once if ``autorun``. Return whether a new instance was created.
    """
    if model is not None or automation_id is not None:
        touching(model.pk if model is not None else automation_id)
        model = model if model is not None else AutomationModel.objects.get(pk=automation_id)
        bind(automation, model)
        return False
    data, model_refs = split_parameters(params or {})
    if not autorun:
        return create(automation, data, model_refs) is None
    with transaction.atomic():  # the row and its first step commit together
        existing = create(automation, data, model_refs)
        if existing is None:
            engine.advance_created(automation)
    return existing is None


def create_or_bind(cls, params: dict):
    """Create an instance of ``cls`` from ``params`` and run it, or bind to the running unique one.

    Return ``(automation, created)``: ``created`` is ``False`` when a ``unique`` automation with
    these parameters was running already (it is returned, unchanged and not run).
    """
    automation = cls.__new__(cls)  # set up by start(), which is all that Automation.__init__ does
    created = start(automation, params=params)
    return automation, created


def bind(automation, model) -> None:
    """Bind ``automation`` to the instance row ``model``; raise ``TypeError`` for another class's row."""
    if model.automation_class != automation.get_automation_class_name():
        if not issubclass(model.get_automation_class(), type(automation)):
            raise TypeError(
                f"Automation instance {model.pk} is a {model.automation_class}, "
                f"not a {automation.get_automation_class_name()}."
            )
    automation._model = shared_row(model)


def create(automation, data, model_refs):
    """Create the database row (or bind to the running unique instance); return the existing row.

    The new instance has no task yet: its first step starts it at the first node. It is due
    at once, also without ``autorun``: the next step or sweep starts it unless :meth:`run`
    gets there first, and it runs even if this process stops before. With ``autorun`` the row
    is created in the transaction of its first step (:func:`start`).
    """
    unique_key = unique_key_for(automation, data)
    model = AutomationModel(
        automation_class=automation.get_automation_class_name(),
        data=data,
        model_refs=model_refs,
        unique_key=unique_key,
        wake_at=timezone.now(),
        version_id=versions.current_version_id(type(automation)),
    )
    automation._model = model
    if unique_key is None:
        model.save()
        automation._model = shared_row(model)
        return None
    running = AutomationModel.objects.running().filter(unique_key=unique_key)
    with transaction.atomic():
        existing = running.first()
        if existing is None:
            try:
                with transaction.atomic():
                    model.save()
                automation._model = shared_row(model)
                return None
            except IntegrityError:
                existing = running.get()  # another process created it just now
    automation._model = shared_row(existing)
    return existing


def started_version(automation) -> int:
    """Return the ``Meta.version`` of the declaration ``automation`` started under."""
    return versions.label_of(automation._model.version_id)


def unique_key_for(automation, data) -> str | None:
    """Return the key that tells the running instance of a ``unique`` automation, or ``None``."""
    unique = automation.unique
    if not unique:
        return None
    values = [] if unique is True else [data.get(key) for key in unique]
    text = json.dumps([automation.get_automation_class_name(), values], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_json(value, what: str) -> None:
    """Raise ``TypeError`` naming ``what`` if ``value`` is not strict JSON (NaN included)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON serializable: {exc}") from None


def split_parameters(params: dict) -> tuple[dict, dict]:
    """Return ``(data, model_refs)``: model instances are stored by id, their model label kept."""
    data, model_refs = {}, {}
    for key, value in params.items():
        if isinstance(value, models.Model):
            if value.pk is None:
                kind = type(value).__name__
                raise ValueError(f"Parameter {shown(key)}: the {kind} instance is not saved yet.")
            data[key] = value.pk
            model_refs[key] = value._meta.label_lower
        else:
            check_json(value, f"Parameter {shown(key)}")
            data[key] = value
    return data, model_refs


def save(automation) -> None:
    """Write ``data`` back to the database and make a running instance due (``Automation.save``)."""
    check_json(automation._model.data, f"The data of {automation!r}")
    model = automation._model
    if in_step(model.pk):
        return  # the step writes the data with its one UPDATE of the row, in its transaction
    touching(model.pk)
    type(model).objects.filter(pk=model.pk).update(data=model.data)
    wakeups.due_now(model)


def kill(automation) -> None:
    """Delete the instance and its history (``Automation.kill``)."""
    touching(automation._model.pk)
    forget(automation._model)
    automation._model.delete()


# -- model references ---------------------------------------------------------------------------


def model_instance(automation, name: str):
    """Return the model instance whose id is stored under ``name`` in ``data``."""
    cache = automation.__dict__.setdefault("_model_instances", {})
    pk = automation.data.get(name)
    if pk is None:
        return None
    if (name, pk) not in cache:
        cache[(name, pk)] = model_for(automation, name)._default_manager.get(pk=pk)
    return cache[(name, pk)]


def model_for(automation, name):
    """Return the model of the instance named ``name``: declared on the class, or stored with the row."""
    declared = getattr(type(automation), name, None)
    if isinstance(declared, type) and issubclass(declared, models.Model):
        return declared
    label = automation._model.model_refs.get(name)
    if label is None:
        path = automation.get_automation_class_name()
        raise AttributeError(f"'{name}' does not hold a model instance in {path}.")
    return apps.get_model(label)


# -- waking -------------------------------------------------------------------------------------


def wake(automation) -> None:
    """Let ``automation`` (an ``Automation`` object) continue as soon as possible.

    With a scheduler worker the instance is marked due and the worker told once the transaction
    commits; without one it runs in place, after the current step if called from inside one.
    """
    if wakeups.worker_available() and not wakeups.handling_event():
        automation_id = automation.id
        wakeups.mark_due(automation_id)
        transaction.on_commit(lambda: wakeups.wake_now(automation_id))
    elif in_step():
        transaction.on_commit(lambda: engine.advance(automation))
    else:
        engine.advance(automation)


# -- messages -------------------------------------------------------------------------------------


def send_message(automation, message: str, token: str | None = None, data=None):
    """Call the receiver of ``message`` on ``automation``, then let it continue (``send_message``).

    The message goes through the engine's one door (``engine.deliver``): the receiver runs under
    the instance's row lock. Where the instance may be stepped here and now, the step follows in
    the same transaction; with a scheduler worker (or inside another instance's step) the
    instance is made due and woken once the transaction commits.
    """
    receiver = receiver_for(type(automation), message)
    ok, data = coerce_data(receiver, data)
    if not ok:
        logger.info("Message %s to %r not delivered: data lacks parameters.", shown(message), automation)
        return None
    steps_here = not in_step() and (not wakeups.worker_available() or wakeups.handling_event())
    delivery = engine.deliver(automation, message, token, data, walk=steps_here)
    if delivery.delivered and not steps_here:
        wake(stepping_automation(automation.id) or automation)
    return delivery.received


def dispatch_message(cls, automation, message: str, token: str | None = None, data=None):
    """Send ``message`` to ``automation``: an instance of ``cls``, an instance id, or an instance key."""
    if not is_automation(automation):
        model = AutomationModel.objects.get_by_reference(automation)
        automation_class = model.get_automation_class()
        if not issubclass(automation_class, cls):
            raise TypeError(
                f"Automation instance {model.pk} is a {model.automation_class}, "
                f"not a {cls.get_automation_class_name()}."
            )
        automation = automation_class(automation=model)
    elif not isinstance(automation, cls):
        raise TypeError(f"{automation!r} is not a {cls.get_automation_class_name()}.")
    return automation.send_message(message, token, data)


def create_on_message(cls, message: str, token: str | None = None, data=None):
    """Create an instance of ``cls``, send it ``message``, then run it (``Automation.create_on_message``)."""
    receiver = receiver_for(cls, message)
    converted = required_parameters(receiver, data)
    if converted is None:
        logger.info("No %s created on message %s: data misses parameters.", cls.__name__, shown(message))
        return None
    source = data_source(data)
    keys = cls.unique if isinstance(cls.unique, list | tuple) else ()
    missing = [key for key in keys if key not in converted and key not in source]
    if missing:
        raise ValueError(
            f"{cls.__name__}.create_on_message({shown(message)}) needs the unique parameter(s) "
            f"{', '.join(shown(key) for key in missing)} in its data."
        )
    params = {key: converted[key] if key in converted else source[key] for key in keys}
    with transaction.atomic():  # a receiver that raises leaves no unstarted instance behind
        instance = cls(autorun=False, **params)
        instance.send_message(message, token, data)
    return instance


def broadcast_message(cls, message: str, token: str | None = None, data=None) -> list:
    """Send ``message`` to every running instance of ``cls`` (``Automation.broadcast_message``)."""
    if not cls.satisfies_data_requirements(message, data):
        return []
    results = []
    running = AutomationModel.objects.running().filter(automation_class=cls.get_automation_class_name())
    for model in list(running.order_by("pk")):
        result = cls(automation=model).send_message(message, token, data)
        results.append(result)
        if result == "received":
            break
    return results


def send_to(target, message: str, token=None, data=None) -> list:
    """Send ``message`` to ``target`` (id, key, instance, class or dotted class path).

    Return the list of the receivers' return values.
    """
    if is_automation(target):
        return [target.send_message(message, token, data)]
    if isinstance(target, str) and not target.isdigit() and "." in target:
        target = registry.get(target)
    if is_automation_class(target):
        return target.broadcast_message(message, token, data)
    model = AutomationModel.objects.get_by_reference(target)
    return [model.instance.send_message(message, token, data)]


def is_automation_class(value) -> bool:
    """Return whether ``value`` is an ``Automation`` subclass (the registry's base is not imported here)."""
    return registry.is_automation_class(value)


def is_automation(value) -> bool:
    """Return whether ``value`` is an ``Automation`` object."""
    return is_automation_class(type(value))
