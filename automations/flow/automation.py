"""The ``Automation`` base class: declaration here, run time in :mod:`automations.instances`."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.db import models
from django.dispatch import Signal

from automations import engine, instances, registry, subautomations
from automations.exceptions import AutomationsError
from automations.instances import ModelReference
from automations.models import AutomationModel, AutomationTaskModel
from automations.outcomes import PathItem, current_path_item
from automations.receivers import coerce_data, receiver_for

from . import discovery
from .declaration import (
    AutomationDeclarationError,
    collect_nodes,
    find_problems,
    link_joins,
    link_successors,
)
from .limits import Limit, instance_limit
from .nodes import Node
from .versioning import read_meta


class AutomationFinishedError(AutomationsError, RuntimeError):
    """``run()`` was called on an automation instance that has already finished."""


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

    unique: ClassVar[bool | list[str] | tuple[str, ...]] = False
    publish_receivers: ClassVar[bool] = False
    default_template_name: ClassVar[str | None] = None
    context: ClassVar[dict[str, Any]] = {}
    _nodes: ClassVar[dict[str, Node]] = {}
    _node_names: ClassVar[tuple[str, ...]] = ()
    _version: ClassVar[int] = 1  # Meta.version, Meta.renamed_nodes, Meta.reviewed_changes (see .versioning)
    _renamed_nodes: ClassVar[dict[str, str]] = {}
    _reviewed_changes: ClassVar[dict[str, str]] = {}
    _instance_limit: ClassVar[Limit | None] = None  # Meta.concurrency (see .limits.instance_limit)
    _model: AutomationModel  # the instance's row, shared with the other objects of the instance

    class Meta:
        pass

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if isinstance(value, type) and issubclass(value, models.Model):
                reference = ModelReference(value)
                reference.__set_name__(cls, name)
                setattr(cls, name, reference)
        cls._nodes = collect_nodes(cls)
        cls._node_names = tuple(cls._nodes)
        read_meta(cls)
        link_successors(cls)
        if getattr(cls.Meta, "abstract", False) and "Meta" in vars(cls):
            return
        errors = [problem for problem in find_problems(cls, _BASE_ATTRIBUTES) if problem.is_error]
        if errors:
            raise AutomationDeclarationError("\n".join(str(problem) for problem in errors))
        cls._instance_limit = instance_limit(cls)
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
    def model_class(self) -> type[AutomationModel]:
        """The model that stores automation instances (:class:`~automations.models.AutomationModel`)."""
        return AutomationModel

    # -- instances --------------------------------------------------------------------------

    def __init__(
        self,
        *,
        automation: AutomationModel | None = None,
        automation_id: int | None = None,
        autorun: bool = True,
        **kwargs: Any,
    ) -> None:
        instances.start(self, model=automation, automation_id=automation_id, autorun=autorun, params=kwargs)

    @property
    def id(self) -> int:
        """The instance's database id."""
        return self._model.pk

    @property
    def data(self) -> dict[str, Any]:
        """The instance's JSON data, shared by all its nodes; call :meth:`save` after changing it."""
        return self._model.data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._model.data = value

    def save(self) -> None:
        """Write ``data`` back to the database and make a running instance due.

        The next step (``automation_step``, a worker's sweep) then checks its waiting conditions
        against the new data; with a scheduler worker the worker is told at once. Inside the
        instance's own step the step saves the data anyway. Raise ``TypeError`` (nothing is
        written) if ``data`` is not JSON serializable.
        """
        instances.save(self)

    @property
    def started_version(self) -> int:
        """The ``Meta.version`` of the declaration this instance started under.

        For code that must treat instances started before a change the old way, e.g. in an
        ``If`` node: ``flow.If(this.started_before_v2)`` with
        ``def started_before_v2(self, task): return self.started_version < 2``.
        """
        return instances.started_version(self)

    @property
    def item(self) -> Any:
        """The item of the ``ForEach`` path whose node runs now (the innermost, if nested).

        Raise :class:`NoPathItemError` outside a node of a fan-out's path.
        """
        return _path_item().item

    @property
    def item_index(self) -> int:
        """The position (from 0) of :attr:`item` in the list the ``ForEach`` read."""
        return _path_item().index

    def get_model_instance(self, name: str) -> models.Model | None:
        """Return the model instance whose id is stored under ``name`` in ``data``."""
        return instances.model_instance(self, name)

    def __getattr__(self, name: str) -> Any:
        model = self.__dict__.get("_model")
        if model is not None and name in model.model_refs:
            return self.get_model_instance(name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def run(self) -> Node | None:
        """Run until the instance finishes, needs a person, or has to wait; return that node.

        When the instance finishes, that is its ``End`` node (or, for a path that ran past the last
        node, that last node); if an error stopped it, the failing node. ``None`` if nothing ran
        (another process holds the instance, or the instance stands on a node its class no longer
        declares: it is held, ``needs_migration``). Raise :class:`AutomationFinishedError` if the
        instance had already finished.
        """
        result = engine.advance(self)
        if result.already_finished:
            raise AutomationFinishedError(f"Automation instance {self.id} has already finished.")
        if result.finished:
            return getattr(self, result.finished_at) if result.finished_at else None
        if result.held:  # it stands on a node the class does not declare (needs_migration)
            return None
        return getattr(self, result.stopped_at[0]) if result.stopped_at else None

    def nice(self) -> None:
        """Hand the instance to the scheduler worker and return at once.

        With a worker (``ATM_WORKER``) an ``automation.wake`` event is published when the current
        transaction commits. Without one there is nobody to hand it to: the instance runs in place,
        like :meth:`run` (after the current step if called from a node).
        """
        instances.wake(self)

    def finished(self) -> bool:
        """Return whether the instance has finished."""
        self._model.finished = type(self._model).objects.filter(pk=self._model.pk, finished=True).exists()
        return self._model.finished

    is_finished = finished

    def kill(self) -> None:
        """Delete the instance and its history (for instances created in error)."""
        instances.kill(self)

    def get_key(self) -> str:
        """Return the instance's random, unguessable key, e.g. for ``?key={{ atm.get_key }}``."""
        return self._model.key

    def get_task_summary(self, task: AutomationTaskModel) -> str:
        """Return the line task lists show for ``task``, an open task of this instance.

        The default is the description of the task's node, then the instance's verbose name and
        number: ``"Approve or reject this expense claim. · Expense approval #6"``. Override it so
        that a person sees at a glance what waits for them (who asks, how much).
        """
        node = type(self)._nodes.get(task.status)
        description = str(getattr(node, "description", "") or task.status)
        return f"{description} · {self.get_verbose_name()} #{self.id}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={getattr(self.__dict__.get('_model'), 'pk', None)}>"

    # -- messages ---------------------------------------------------------------------------

    def send_message(self, message: str, token: str | None = None, data: object = None) -> Any:
        """Call ``receive_<message>(token, data)`` on this instance, then let the instance continue.

        Return the receiver's return value. A message whose data misses the receiver's
        ``require_data_parameters`` is not delivered (``None`` is returned); a finished instance,
        or one stopped by an error, receives nothing. Raise :class:`UnknownMessageError` if the
        class has no ``receive_<message>`` method.
        """
        return instances.send_message(self, message, token, data)

    @classmethod
    def dispatch_message(
        cls,
        automation: Automation | AutomationModel | int | str,
        message: str,
        token: str | None = None,
        data: object = None,
    ) -> Any:
        """Send ``message`` to ``automation``: an instance, an instance id, or an instance key."""
        return instances.dispatch_message(cls, automation, message, token, data)

    @classmethod
    def create_on_message(cls, message: str, token: str | None = None, data: object = None) -> Self | None:
        """Create an instance, send it ``message`` before its first node runs, then run it.

        For ``unique`` automations the unique parameters are taken from ``data`` (or the request's
        ``GET``, converted as the receiver's ``require_data_parameters`` say); if an instance with
        them is running, it receives the message instead. Return the instance, or ``None`` (and
        create nothing) if ``data`` does not satisfy the receiver's data requirements.
        """
        return instances.create_on_message(cls, message, token, data)

    @classmethod
    def broadcast_message(cls, message: str, token: str | None = None, data: object = None) -> list[Any]:
        """Send ``message`` to every running instance; a receiver returning ``"received"`` stops it.

        Return the list of the receivers' return values (empty if ``data`` does not satisfy the
        receiver's data requirements). Instances of subclasses do not receive it.
        """
        return instances.broadcast_message(cls, message, token, data)

    def _deliver_message(
        self, target: object, message: str, token: str | None = None, data: object = None
    ) -> list[Any]:
        """Send ``message`` to ``target`` for a ``SendMessage`` node of this instance; return the results."""
        return instances.send_to(target, message, token, data)

    def _start_child(self, automation_class: type | str, data: dict[str, Any]) -> int:
        """Start ``automation_class`` with ``data`` as a child (a ``SubAutomation`` node); return its id."""
        return subautomations.start_child(self, automation_class, data)

    def _child_state(self, automation_id: int) -> subautomations.ChildState:
        """Return how the child instance ``automation_id`` of a ``SubAutomation`` node stands."""
        return subautomations.child_state(automation_id)

    @classmethod
    def satisfies_data_requirements(cls, message: str, data: object) -> bool:
        """Return whether ``data`` has the parameters the receiver of ``message`` requires."""
        return coerce_data(receiver_for(cls, message), data)[0]

    @classmethod
    def on_signal(cls, signal: Signal, **connect_kwargs: Any) -> type[Self]:
        """Connect the class to ``signal``: each time it is sent, a new instance is created and run.

        If the class defines ``started_by_signal(self, *args, **kwargs)``, it is called with the
        signal's arguments (``sender`` and the keyword arguments) before the first node runs.
        ``connect_kwargs`` (e.g. ``sender=``) go to ``signal.connect()``. Connecting the same class
        to the same signal again changes nothing. Return the class.
        """
        return discovery.on_signal(signal, **connect_kwargs)(cls)

    @classmethod
    def on(cls, signal: Signal, **connect_kwargs: Any) -> type[Self]:
        """Another name of :meth:`on_signal`: ``MyAutomation.on(signal)``."""
        return cls.on_signal(signal, **connect_kwargs)


_BASE_ATTRIBUTES = frozenset(name for name in dir(Automation) if not name.startswith("__"))
registry.register_base(Automation)


class NoPathItemError(AutomationsError, LookupError):
    """``Automation.item`` was read outside a node of a ``ForEach`` path."""


def _path_item() -> PathItem:
    current = current_path_item.get()
    if current is None:
        raise NoPathItemError("self.item: only the nodes of a ForEach() path have an item, while they run.")
    return current


def _own_meta(cls: type, name: str) -> Any:
    meta = vars(cls).get("Meta")
    return getattr(meta, name, None) if meta is not None else None
