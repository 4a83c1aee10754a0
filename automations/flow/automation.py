"""The ``Automation`` base class: declaration, instances, and messages."""

from __future__ import annotations

import hashlib
import json
import logging

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from automations import registry, wakeups
from automations.logsafe import shown

from .declaration import (
    AutomationDeclarationError,
    collect_nodes,
    find_problems,
    link_joins,
    link_successors,
)
from .messages import coerce_data, data_source, receiver_for, required_parameters
from .shared_rows import forget, shared_row

logger = logging.getLogger("automations")


class AutomationFinishedError(RuntimeError):
    """``run()`` was called on an automation instance that has already finished."""


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


class Automation:
    """Base class of all automations: subclass it and declare nodes as class attributes.

    Nodes run in declaration order unless a modifier says otherwise::

        from automations import flow
        from automations.flow import this

        class Onboarding(flow.Automation):
            class Meta:
                verbose_name = "Customer onboarding"

            welcome = flow.Execute(this.send_welcome)
            wait = flow.Execute(this.send_tips).AfterWaitingFor(timedelta(days=3))
            end = flow.End()

            def send_welcome(self, task):
                ...

    Instantiating the class starts an instance (``Onboarding(email="a@b.example")``): the keyword
    arguments are stored in ``data`` (model instances by their id) and the instance runs until it
    finishes or has to wait. ``automation=`` / ``automation_id=`` bind to an existing instance
    instead; ``autorun=False`` creates it without running it.
    """

    unique = False
    publish_receivers = False
    default_template_name = None
    context: dict = {}
    _nodes: dict = {}
    _node_names: tuple = ()

    class Meta:
        pass

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if isinstance(value, type) and issubclass(value, models.Model):
                reference = ModelReference(value)
                reference.__set_name__(cls, name)
                setattr(cls, name, reference)
        cls._nodes = collect_nodes(cls)
        cls._node_names = tuple(cls._nodes)
        link_successors(cls)
        if getattr(cls.Meta, "abstract", False) and "Meta" in vars(cls):
            return
        errors = [problem for problem in find_problems(cls, _BASE_ATTRIBUTES) if problem.is_error]
        if errors:
            raise AutomationDeclarationError("\n".join(str(problem) for problem in errors))
        link_joins(cls)
        registry.register(cls)

    # -- class information ------------------------------------------------------------------

    @classmethod
    def get_automation_class_name(cls) -> str:
        """Return the dotted path that identifies this automation class."""
        return registry.class_path(cls)

    @classmethod
    def get_verbose_name(cls) -> str:
        """Return ``Meta.verbose_name`` or ``"Automation <ClassName>"``.

        Only the class's own ``Meta`` counts: a subclass does not take over its base's name unless
        its ``Meta`` inherits from the base's (``class Meta(Base.Meta): ...``).
        """
        return str(_own_meta(cls, "verbose_name") or f"Automation {cls.__name__}")

    @classmethod
    def get_verbose_name_plural(cls) -> str:
        """Return ``Meta.verbose_name_plural`` or ``"Automations <ClassName>"``."""
        return str(_own_meta(cls, "verbose_name_plural") or f"Automations {cls.__name__}")

    @property
    def model_class(self):
        """The model that stores automation instances (:class:`~automations.models.AutomationModel`)."""
        from automations.models import AutomationModel

        return AutomationModel

    # -- instances --------------------------------------------------------------------------

    def __init__(self, *, automation=None, automation_id=None, autorun: bool = True, **kwargs):
        from automations.models import AutomationModel

        if automation is not None or automation_id is not None:
            model = automation if automation is not None else AutomationModel.objects.get(pk=automation_id)
            self._bind(model)
            return
        data, model_refs = _split_parameters(kwargs)
        existing = self._create(data, model_refs, autorun)
        if existing is None and autorun:
            self.run()

    def _bind(self, model):
        if model.automation_class != self.get_automation_class_name():
            if not issubclass(model.get_automation_class(), type(self)):
                raise TypeError(
                    f"Automation instance {model.pk} is a {model.automation_class}, "
                    f"not a {self.get_automation_class_name()}."
                )
        self._model = shared_row(model)

    def _create(self, data, model_refs, autorun):
        """Create the database row (or bind to the running unique instance); return the existing row.

        The new instance has no task yet: its first step starts it at the first node. It is due
        at once, also without ``autorun``: the next step or sweep starts it unless :meth:`run`
        gets there first, and it runs even if this process stops before.
        """
        from automations.models import AutomationModel

        unique_key = self._unique_key(data)
        model = AutomationModel(
            automation_class=self.get_automation_class_name(),
            data=data,
            model_refs=model_refs,
            unique_key=unique_key,
            wake_at=timezone.now(),
        )
        self._model = model
        if unique_key is None:
            model.save()
            self._model = shared_row(model)
            return None
        running = AutomationModel.objects.running().filter(unique_key=unique_key)
        with transaction.atomic():
            existing = running.first()
            if existing is None:
                try:
                    with transaction.atomic():
                        model.save()
                    self._model = shared_row(model)
                    return None
                except IntegrityError:
                    existing = running.get()  # another process created it just now
        self._model = shared_row(existing)
        return existing

    def _unique_key(self, data) -> str | None:
        unique = self.unique
        if not unique:
            return None
        values = [] if unique is True else [data.get(key) for key in unique]
        text = json.dumps([self.get_automation_class_name(), values], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def id(self) -> int:
        """The instance's database id."""
        return self._model.pk

    @property
    def data(self) -> dict:
        """The instance's JSON data, shared by all its nodes; call :meth:`save` after changing it."""
        return self._model.data

    @data.setter
    def data(self, value):
        self._model.data = value

    def save(self) -> None:
        """Write ``data`` back to the database and make a running instance due.

        The next step (``automation_step``, a worker's sweep) then checks its waiting conditions
        against the new data; with a scheduler worker the worker is told at once. Inside the
        instance's own step the step saves the data anyway. Raise ``TypeError`` (nothing is
        written) if ``data`` is not JSON serializable.
        """
        from automations import engine

        _check_json(self._model.data, f"The data of {self!r}")
        model = self._model
        type(model).objects.filter(pk=model.pk).update(data=model.data)
        if not engine.in_step(model.pk):
            wakeups.due_now(model)

    def get_model_instance(self, name: str):
        """Return the model instance whose id is stored under ``name`` in ``data``."""
        cache = self.__dict__.setdefault("_model_instances", {})
        pk = self.data.get(name)
        if pk is None:
            return None
        if (name, pk) not in cache:
            cache[(name, pk)] = self._model_for(name)._default_manager.get(pk=pk)
        return cache[(name, pk)]

    def _model_for(self, name):
        from django.apps import apps

        declared = getattr(type(self), name, None)
        if isinstance(declared, type) and issubclass(declared, models.Model):
            return declared
        label = self._model.model_refs.get(name)
        if label is None:
            path = self.get_automation_class_name()
            raise AttributeError(f"'{name}' does not hold a model instance in {path}.")
        return apps.get_model(label)

    def __getattr__(self, name):
        model = self.__dict__.get("_model")
        if model is not None and name in model.model_refs:
            return self.get_model_instance(name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def run(self):
        """Run until the instance finishes, needs a person, or has to wait; return that node.

        When the instance finishes, that is its ``End`` node (or, for a path that ran past the last
        node, that last node); if an error stopped it, the failing node. ``None`` if nothing ran
        (another process holds the instance). Raise :class:`AutomationFinishedError` if the
        instance had already finished.
        """
        from automations import engine

        result = engine.advance(self)
        if result.already_finished:
            raise AutomationFinishedError(f"Automation instance {self.id} has already finished.")
        if result.finished:
            return getattr(self, result.finished_at) if result.finished_at else None
        return getattr(self, result.stopped_at[0]) if result.stopped_at else None

    def nice(self) -> None:
        """Hand the instance to the scheduler worker and return at once.

        With a worker (``ATM_WORKER``) an ``automation.wake`` event is published when the current
        transaction commits. Without one there is nobody to hand it to: the instance runs in place,
        like :meth:`run` (after the current step if called from a node).
        """
        wakeups.wake(self)

    def finished(self) -> bool:
        """Return whether the instance has finished."""
        self._model.finished = type(self._model).objects.filter(pk=self._model.pk, finished=True).exists()
        return self._model.finished

    is_finished = finished

    def kill(self) -> None:
        """Delete the instance and its history (for instances created in error)."""
        forget(self._model)
        self._model.delete()

    def get_key(self) -> str:
        """Return the instance's random, unguessable key, e.g. for ``?key={{ atm.get_key }}``."""
        return self._model.key

    def get_task_summary(self, task) -> str:
        """Return the line task lists show for ``task``, an open task of this instance.

        The default is the description of the task's node, then the instance's verbose name and
        number: ``"Approve or reject this expense claim. · Expense approval #6"``. Override it so
        that a person sees at a glance what waits for them (who asks, how much).
        """
        node = type(self)._nodes.get(task.status)
        description = str(getattr(node, "description", "") or task.status)
        return f"{description} · {self.get_verbose_name()} #{self.id}"

    def __repr__(self):
        return f"<{type(self).__name__} id={getattr(self.__dict__.get('_model'), 'pk', None)}>"

    # -- messages ---------------------------------------------------------------------------

    def send_message(self, message: str, token: str | None = None, data=None):
        """Call ``receive_<message>(token, data)`` on this instance, then let the instance continue.

        Return the receiver's return value. A message whose data misses the receiver's
        ``require_data_parameters`` is not delivered (``None`` is returned); a finished instance,
        or one stopped by an error, receives nothing. Raise :class:`UnknownMessageError` if the
        class has no ``receive_<message>`` method.
        """
        from automations import engine

        receiver = receiver_for(type(self), message)
        ok, data = coerce_data(receiver, data)
        if not ok:
            logger.info("Message %s to %r not delivered: data lacks parameters.", shown(message), self)
            return None
        # Inside the instance's own step, the object the engine is running receives the message.
        target = engine.stepping_automation(self.id) or self
        with transaction.atomic():
            if not engine.lock_for_message(target):
                return None
            result = getattr(target, receiver.__name__)(token, data)
            engine.save_after_message(target)
        wakeups.wake(target)
        return result

    @classmethod
    def dispatch_message(cls, automation, message: str, token: str | None = None, data=None):
        """Send ``message`` to ``automation``: an instance, an instance id, or an instance key."""
        from automations.models import AutomationModel

        if not isinstance(automation, Automation):
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

    @classmethod
    def create_on_message(cls, message: str, token: str | None = None, data=None):
        """Create an instance, send it ``message`` before its first node runs, then run it.

        For ``unique`` automations the unique parameters are taken from ``data`` (or the request's
        ``GET``, converted as the receiver's ``require_data_parameters`` say); if an instance with
        them is running, it receives the message instead. Return the instance, or ``None`` (and
        create nothing) if ``data`` does not satisfy the receiver's data requirements.
        """
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
                f"{cls.__name__}.create_on_message('{message}') needs the unique parameter(s) "
                f"{', '.join(repr(key) for key in missing)} in its data."
            )
        params = {key: converted[key] if key in converted else source[key] for key in keys}
        with transaction.atomic():  # a receiver that raises leaves no unstarted instance behind
            instance = cls(autorun=False, **params)
            instance.send_message(message, token, data)
        return instance

    @classmethod
    def broadcast_message(cls, message: str, token: str | None = None, data=None) -> list:
        """Send ``message`` to every running instance; a receiver returning ``"received"`` stops it.

        Return the list of the receivers' return values (empty if ``data`` does not satisfy the
        receiver's data requirements). Instances of subclasses do not receive it.
        """
        from automations.models import AutomationModel

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

    @classmethod
    def satisfies_data_requirements(cls, message: str, data) -> bool:
        """Return whether ``data`` has the parameters the receiver of ``message`` requires."""
        return coerce_data(receiver_for(cls, message), data)[0]

    @classmethod
    def on_signal(cls, signal, **connect_kwargs):
        """Connect the class to ``signal``: each time it is sent, a new instance is created and run.

        If the class defines ``started_by_signal(self, *args, **kwargs)``, it is called with the
        signal's arguments (``sender`` and the keyword arguments) before the first node runs.
        ``connect_kwargs`` (e.g. ``sender=``) go to ``signal.connect()``. Connecting the same class
        to the same signal again changes nothing. Return the class.
        """
        from .discovery import on_signal

        return on_signal(signal, **connect_kwargs)(cls)

    @classmethod
    def on(cls, signal, **connect_kwargs):
        """Another name of :meth:`on_signal`: ``MyAutomation.on(signal)``."""
        return cls.on_signal(signal, **connect_kwargs)


_BASE_ATTRIBUTES = frozenset(name for name in dir(Automation) if not name.startswith("__"))


def _own_meta(cls, name):
    meta = vars(cls).get("Meta")
    return getattr(meta, name, None) if meta is not None else None


def _check_json(value, what: str) -> None:
    """Raise ``TypeError`` naming ``what`` if ``value`` is not strict JSON (NaN included)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON serializable: {exc}") from None


def _split_parameters(params: dict) -> tuple[dict, dict]:
    """Return ``(data, model_refs)``: model instances are stored by id, their model label kept."""
    data, model_refs = {}, {}
    for key, value in params.items():
        if isinstance(value, models.Model):
            if value.pk is None:
                raise ValueError(f"Parameter '{key}': the {type(value).__name__} instance is not saved yet.")
            data[key] = value.pk
            model_refs[key] = value._meta.label_lower
        else:
            _check_json(value, f"Parameter '{key}'")
            data[key] = value
    return data, model_refs
