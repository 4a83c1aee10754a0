"""What the worker makes of a valid event: the instance it names, and the data its receiver gets.

:func:`resolve` asks the database what :func:`automations.events.validate` cannot know (does the
instance exist, do the data satisfy the receiver); :class:`EventRequest` is the request-like object a
page-view event's receiver gets.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import QueryDict

from automations import events
from automations.logsafe import shown
from automations.models import AutomationModel

# -- the request-like object --------------------------------------------------------------------


class EventRequest:
    """What a receiver may use of the request that caused a page-view event, rebuilt on the worker.

    ``GET`` is a read-only :class:`~django.http.QueryDict`; ``user`` is the user (or an
    ``AnonymousUser``), loaded when first used; ``path`` and ``method`` are strings.
    """

    def __init__(self, payload: dict):
        self.GET = QueryDict(mutable=True)
        for name, values in (payload.get("GET") or {}).items():
            self.GET.setlist(name, list(values))
        self.GET._mutable = False
        self.POST = QueryDict()
        self.path = payload.get("path") or "/"
        self.method = payload.get("method") or "GET"
        self._user_id = payload.get("user")

    @property
    def user(self):
        if not hasattr(self, "_user"):
            users = get_user_model()._default_manager
            try:
                user = users.filter(pk=self._user_id).first() if self._user_id is not None else None
            except (ValueError, TypeError, ValidationError, DataError):  # no primary key of this model
                user = None
            self._user = user or AnonymousUser()
        return self._user

    def __repr__(self):
        return f"<EventRequest {shown(self.method)} {shown(self.path)}>"


# -- resolution on the worker ---------------------------------------------------------------------


def resolve(event: events.Event):
    """Return ``(automation class, model or None, data for the receiver)`` for ``event``.

    Raise :class:`events.InvalidEventError` if the instance does not exist, is not of the class the
    message needs, or the data do not satisfy the receiver's ``require_data_parameters``.
    """
    model = None
    if event.automation is not None:
        try:
            model = AutomationModel.objects.get_by_reference(event.automation)
        except AutomationModel.DoesNotExist:
            raise events.InvalidEventError(f"No automation instance {shown(event.automation)}.") from None
        automation_class = events.registered_class(model.automation_class)
    else:
        automation_class = events.registered_class(event.automation_class)
    data = EventRequest(event.request) if event.request is not None else event.data
    if event.message is not None:
        events.check_receiver(automation_class, event.message)
        if not automation_class.satisfies_data_requirements(event.message, data):
            raise events.InvalidEventError(
                f"The data of message {shown(event.message)} miss parameters that "
                f"{automation_class.__name__}.receive_{event.message} requires."
            )
    return automation_class, model, data
