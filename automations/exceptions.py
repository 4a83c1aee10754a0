"""The base of the errors Django Automations raises on purpose.

Every exception class of the library derives from :class:`AutomationsError` and keeps the builtin
base it always had, so ``except AutomationsError`` catches any of them and ``except LookupError``
still catches an :class:`~automations.registry.UnknownAutomationError`.
"""


class AutomationsError(Exception):
    """The base of every error the library raises on purpose."""
