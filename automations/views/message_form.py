"""The "send a message" form of an instance: which receiver, the data it requires, a token, more data.

The receivers offered are the class's ``receive_*`` methods, each with its description (the first
paragraph of its docstring). A class with ``publish_receivers = True`` offers them to people; one
without is meant to be messaged by code, and the page says so, but an operator may still need to
send one of its messages (a payment a webhook lost), so they are offered all the same.

Each parameter the chosen receiver declares with ``@flow.require_data_parameters`` gets a text input
labelled by its name; anything else goes into the optional "more data" JSON object (a typed
parameter wins over the same key there). The token is folded away with the extra data unless the
receiver's docstring mentions it: most receivers need none.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import cast

from django import forms
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from automations import instance_actions
from automations.receivers import RECEIVER_PREFIX

from .node_labels import humanize

#: Prefix of the form fields of a receiver's required parameters (``parameter_amount``).
PARAMETER_PREFIX = "parameter_"
PARAMETER_LENGTH = 1000  # characters of one typed parameter; the data as a whole obey jsonlimits
_LITERAL = re.compile(r"``(.+?)``")


@dataclass(frozen=True)
class ReceiverChoice:
    """One receiver as people choose it: ``name`` (the message), ``method``, ``label``, ``doc``
    (the first paragraph of its docstring) and its required ``parameters`` (name: type)."""

    name: str
    method: str
    label: str
    doc: str = ""
    parameters: dict[str, type] = field(default_factory=dict)

    @property
    def parameter_names(self) -> list[str]:
        return list(self.parameters)

    @property
    def doc_html(self) -> str:
        """Return ``doc`` as HTML, escaped, with its ``literals`` as code."""
        return literals_as_code(self.doc)

    @property
    def mentions_token(self) -> bool:
        """Whether the docstring speaks of the token: then the form shows its field unfolded."""
        return "token" in self.doc.lower()


def first_paragraph(text: str | None) -> str:
    """Return the first paragraph of the docstring ``text`` on one line (``""`` for none)."""
    paragraph = (text or "").strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def literals_as_code(text: str) -> str:
    """Return ``text`` escaped, with the reStructuredText literals in it (````x````) as ``<code>``."""
    parts = _LITERAL.split(text)
    # split() puts the literals at the odd places.
    return mark_safe(
        "".join(
            format_html("<code>{}</code>", part) if odd % 2 else escape(part)
            for odd, part in enumerate(parts)
        )
    )


def receiver_choices(automation_class) -> list[ReceiverChoice]:
    """Return the receivers of ``automation_class`` (``None``: none), sorted by message name."""
    if automation_class is None:
        return []
    choices = []
    for name in instance_actions.receivers(automation_class):
        receiver = getattr(automation_class, RECEIVER_PREFIX + name)
        choices.append(
            ReceiverChoice(
                name=name,
                method=RECEIVER_PREFIX + name,
                label=humanize(name),
                doc=first_paragraph(inspect.getdoc(receiver)),
                parameters=dict(getattr(receiver, "require_data_parameters", None) or {}),
            )
        )
    return choices


def chosen(choices: list[ReceiverChoice], name: str | None) -> ReceiverChoice | None:
    """Return the choice of message ``name``; the only one if there is one and no name was given."""
    if not name and len(choices) == 1:
        return choices[0]
    return next((choice for choice in choices if choice.name == name), None)


def type_hint(kind: type) -> str:
    """Return what a person types for a parameter of type ``kind``; ``""`` for text."""
    if kind is str:
        return ""
    if kind is int:
        return str(_("A whole number."))
    if kind is float:
        return str(_("A number."))
    return str(_("Converted to %(type)s.") % {"type": kind.__name__})


class MessageForm(forms.Form):
    """What the ``message`` action sends: a receiver, its required parameters, a token, more data.

    ``cleaned_data`` holds ``message``, ``token`` and ``data`` (the typed parameters merged into
    the more-data object): the arguments of :func:`automations.instance_actions.send_message`.
    """

    message = forms.ChoiceField(label=_("Receiver"), widget=forms.HiddenInput)
    token = forms.CharField(
        label=_("Token"),
        required=False,
        max_length=256,
        help_text=_("Passed to the receiver as its token; most receivers need none."),
    )
    # The metaclass takes the field off the class: it does not replace Form.data, as the stubs think.
    data = forms.CharField(  # type: ignore[assignment]
        label=_("More data (a JSON object)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_('Anything else the receiver reads, like {"note": "paid by phone"}.'),
    )

    def __init__(self, *args, receivers=(), receiver: ReceiverChoice | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.receivers = list(receivers)
        self.receiver = receiver
        message_field = cast(forms.ChoiceField, self.fields["message"])
        message_field.choices = [(choice.name, choice.label) for choice in self.receivers]
        if receiver is not None:
            self.fields["message"].initial = receiver.name
            for name, kind in receiver.parameters.items():
                self.fields[PARAMETER_PREFIX + name] = forms.CharField(
                    label=name, required=False, max_length=PARAMETER_LENGTH, help_text=type_hint(kind)
                )

    def parameter_fields(self) -> list[forms.BoundField]:
        """Return the bound fields of the receiver's required parameters, in their order."""
        return [self[name] for name in self.fields if name.startswith(PARAMETER_PREFIX)]

    def parameter_field_name(self, parameter: str) -> str | None:
        """Return the name of the field of ``parameter``, or ``None`` if the form has none."""
        name = PARAMETER_PREFIX + parameter
        return name if name in self.fields else None

    def extra_open(self) -> bool:
        """Whether the folded token and more-data fields are shown: when they hold input or an
        error, or the receiver's description mentions the token."""
        if self.receiver is not None and self.receiver.mentions_token:
            return True
        if any(str(self[name].value() or "").strip() for name in ("token", "data")):
            return True
        return bool(self.errors.get("token") or self.errors.get("data"))

    def clean_data(self):
        try:
            return instance_actions.parse_data(self.cleaned_data.get("data") or "")
        except instance_actions.ActionNotPossible as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self):
        cleaned = super().clean()
        typed = {
            name[len(PARAMETER_PREFIX) :]: cleaned.pop(name)
            for name in list(cleaned)
            if name.startswith(PARAMETER_PREFIX)
        }
        if isinstance(cleaned.get("data"), dict):
            cleaned["data"] = {**cleaned["data"], **{key: value for key, value in typed.items() if value}}
        return cleaned
