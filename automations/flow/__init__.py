"""The automation language: ``from automations import flow``.

Declare an automation by subclassing :class:`Automation` with nodes as class attributes; refer to
other nodes and methods with ``this.name`` or ``"self.name"``.
"""

from automations.receivers import UnknownMessageError, require_data_parameters

from .automation import Automation, AutomationFinishedError
from .control import End, If, Join, Split
from .declaration import AutomationDeclarationError
from .discovery import get_automations, on_signal
from .execute import Execute, SendMessage
from .foreach import ForEach
from .forms import Form, ModelForm
from .nodes import Node
from .references import This, this
from .repeat import Repeat
from .retrying import Exponential, Fixed
from .subautomation import SubAutomation, SubAutomationFailed
from .versioning import Obsolete

__all__ = [
    "Automation",
    "AutomationDeclarationError",
    "AutomationFinishedError",
    "End",
    "Execute",
    "Exponential",
    "Fixed",
    "ForEach",
    "Form",
    "If",
    "Join",
    "ModelForm",
    "Node",
    "Obsolete",
    "Repeat",
    "SendMessage",
    "Split",
    "SubAutomation",
    "SubAutomationFailed",
    "This",
    "UnknownMessageError",
    "get_automations",
    "on_signal",
    "require_data_parameters",
    "this",
]
