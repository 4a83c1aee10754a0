"""JSON from outside: the rules it must keep before anything stores it.

Every way data comes in from outside obeys the same rules: channel events (:mod:`automations.events`),
the console's "send a message" action and the admin's data field. The data must be JSON that every
supported database stores (string keys, finite numbers, no NUL characters, no lone surrogates),
nested at most :data:`MAX_DEPTH` levels, and at most ``ATM_MAX_EVENT_SIZE`` bytes encoded as
compact JSON in UTF-8 (``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``).
Deeper data would make the instance fail at its next step with a ``RecursionError``; larger data
would be kept in the inbox and every step's transaction.

:func:`check` walks a value without recursion and stops at the first broken rule, so that a
50 MB string is refused after one ``len()``, not after encoding it. :func:`loads` parses text
under the same rules; a ``RecursionError`` of the parser is a broken rule like any other.
"""

from __future__ import annotations

import json
import math
import re

from automations import settings as atm_settings
from automations.exceptions import AutomationsError
from automations.logsafe import shown

MAX_DEPTH = 64  # levels of lists and objects inside one another
_ESCAPED_CONTROL = re.compile(r'[\x00-\x1f"\\]')  # characters compact JSON writes as escapes
_SHORT_ESCAPES = frozenset('\n\r\t\b\f"\\')  # written as two characters, the rest as six


class UnfitJSONError(AutomationsError, ValueError):
    """A value from outside breaks one of the rules of :mod:`automations.jsonlimits`; says which."""


def max_size() -> int:
    """Return the most bytes (compact UTF-8 JSON) data from outside may take: ``ATM_MAX_EVENT_SIZE``."""
    return atm_settings.get("ATM_MAX_EVENT_SIZE")


def check(value, *, limit: int | None = None, max_depth: int = MAX_DEPTH) -> int:
    """Return the size of ``value`` as compact UTF-8 JSON; raise :class:`UnfitJSONError` if it breaks a rule.

    ``limit`` is the most bytes allowed (default :func:`max_size`); ``value`` itself is at depth 0.
    """
    limit = max_size() if limit is None else limit
    size = 0
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > max_depth:
            raise UnfitJSONError(f"must be nested at most {max_depth} levels deep")
        if isinstance(item, str):
            size += _string_size(item, limit - size)
        elif isinstance(item, dict):
            size += 2 + max(0, 2 * len(item) - 1)  # braces, colons and commas
            for key, child in item.items():
                if not isinstance(key, str):
                    raise UnfitJSONError(f"must be JSON: key {shown(key)} is no string")
                size += _string_size(key, limit - size)
                pending.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            size += 2 + max(0, len(item) - 1)  # brackets and commas
            pending.extend((child, depth + 1) for child in item)
        elif item is None or isinstance(item, bool):
            size += 4 if item is None or item is True else 5
        elif isinstance(item, int):
            size += _int_size(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise UnfitJSONError(f"must be JSON: {item} is not a JSON number")
            size += len(repr(item))
        else:
            raise UnfitJSONError(f"must be JSON: {type(item).__name__} {shown(item)} is not a JSON value")
        if size > limit:
            raise UnfitJSONError(f"must be at most {limit} bytes as JSON")
    return size


def loads(text: str | bytes, *, limit: int | None = None, max_depth: int = MAX_DEPTH):
    """Parse the JSON ``text`` and :func:`check` it.

    Raise :class:`UnfitJSONError` if it cannot be read or breaks a rule.
    """
    limit = max_size() if limit is None else limit
    if len(text) > limit:
        raise UnfitJSONError(f"must be at most {limit} bytes as JSON")
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnfitJSONError(f"must be nested at most {max_depth} levels deep") from None
    except ValueError as exc:  # JSONDecodeError, an integer too long to convert, bad UTF-8
        raise UnfitJSONError(f"is not valid JSON: {exc}") from None
    check(value, limit=limit, max_depth=max_depth)
    return value


def _string_size(text: str, budget: int) -> int:
    if len(text) > budget:  # every character takes at least one byte: no need to look closer
        return len(text) + 2
    if text.isascii():
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise UnfitJSONError(f"must be JSON: {shown(text)} is not Unicode (a lone surrogate)") from None
    if "\x00" in text:
        raise UnfitJSONError(f"cannot hold NUL characters: {shown(text)}")
    for escaped in _ESCAPED_CONTROL.findall(text):
        size += 1 if escaped in _SHORT_ESCAPES else 5
    return size + 2


def _int_size(number: int) -> int:
    if number.bit_length() <= 12_000:  # well within the digits Python converts to text
        return len(str(number))
    return int(number.bit_length() * math.log10(2)) + 2  # no conversion of a huge integer to text
