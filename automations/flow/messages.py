"""Receivers of messages, as :mod:`automations.events` and :mod:`automations.instance_actions` import them.

Their home is :mod:`automations.receivers`; this module goes once those two import from there.
"""

from automations.receivers import RECEIVER_PREFIX, UnknownMessageError, coerce_data, receiver_for

__all__ = ["RECEIVER_PREFIX", "UnknownMessageError", "coerce_data", "receiver_for"]
