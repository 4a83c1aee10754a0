"""One event loop per process for publishing events from sync code.

A channel layer such as channels-redis keeps its connections per event loop. ``async_to_sync``
called from plain sync code (a WSGI view, a management command, ``Automation()`` in a script) runs
each call on an event loop of its own, so every publish opened a new Redis connection. :func:`run`
runs the layer's coroutines on one long-lived event loop in a daemon thread instead, so that the
process keeps its connections; a forked child starts a loop of its own on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading

import channels.layers

from automations import settings as atm_settings

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


_pending: set[concurrent.futures.Future] = set()
_layers: dict[str, tuple[object, object]] = {}  # alias -> (the shared layer, the publishing loop's own)


def _forget_parent_loop() -> None:  # the parent's thread does not exist in a forked child
    global _lock, _loop
    _lock, _loop = threading.Lock(), None
    _pending.clear()
    _layers.clear()


os.register_at_fork(after_in_child=_forget_parent_loop)


def _publishing_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="automations-publisher", daemon=True).start()
            _loop = loop
        return _loop


def on_publishing_loop() -> bool:
    """Return whether the calling code runs on the process's publishing loop."""
    try:
        return asyncio.get_running_loop() is _loop
    except RuntimeError:
        return False


def channel_layer():
    """Return the channel layer that code on the publishing loop sends with.

    It is a layer of its own, configured as the shared one (``get_channel_layer()``) and made again
    when that one is (settings changed). channels-redis keeps its connections per event loop, and
    the shared layer's ``flush()`` and ``close_pools()`` close those of every loop; with a layer of
    its own, the publishing loop's connection is never closed from another loop (a test's, a
    worker's), nor the other way round.
    """
    alias = channels.layers.DEFAULT_CHANNEL_LAYER
    shared = channels.layers.get_channel_layer(alias)
    with _lock:
        entry = _layers.get(alias)
        if entry is None or entry[0] is not shared:
            entry = (shared, channels.layers.channel_layers.make_backend(alias))
            _layers[alias] = entry
        return entry[1]


def current_layer():
    """Return the channel layer to send with here: the publishing loop's own there, else the shared one."""
    if on_publishing_loop():
        return channel_layer()
    return channels.layers.get_channel_layer()


def run(coroutine_function, *args, **kwargs):
    """Run ``coroutine_function(*args, **kwargs)`` on the process's publishing loop; return its result.

    Blocks the calling thread until it is done and raises what the coroutine raised. Call it from
    sync code only: in a thread that runs an event loop, await the coroutine instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("publisher.run() was called from async code; await the coroutine instead.")
    future = asyncio.run_coroutine_threadsafe(coroutine_function(*args, **kwargs), _publishing_loop())
    return future.result()


def schedule(coroutine_function, *args, **kwargs) -> concurrent.futures.Future:
    """Start ``coroutine_function(*args, **kwargs)`` on the publishing loop; return its future.

    From any thread, async code included: ``await asyncio.wrap_future(schedule(...))`` waits for it
    without blocking the caller's event loop, and cancelling that await cancels the coroutine.
    """
    return asyncio.run_coroutine_threadsafe(coroutine_function(*args, **kwargs), _publishing_loop())


_turns: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


async def _in_turn(coroutine_function, args, kwargs):
    """Await submitted coroutines one at a time, so that a burst of them shares one connection."""
    lock = _turns.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        return await coroutine_function(*args, **kwargs)


def submit(coroutine_function, *args, **kwargs) -> concurrent.futures.Future:
    """Start ``coroutine_function(*args, **kwargs)`` on the publishing loop and return at once.

    Submitted coroutines run one after another, in the order they were submitted.
    Return its future (add a done callback to hear of a failure). A process that exits waits up to
    ``ATM_FLUSH_AT_EXIT`` seconds for what it submitted.
    """
    future = asyncio.run_coroutine_threadsafe(_in_turn(coroutine_function, args, kwargs), _publishing_loop())
    _pending.add(future)
    future.add_done_callback(_pending.discard)
    return future


def submit_later(delay: float, coroutine_function, *args, **kwargs) -> concurrent.futures.Future:
    """:func:`submit` ``delay`` seconds from now; what is submitted meanwhile does not wait for it."""
    later = _later(delay, coroutine_function, args, kwargs)
    future = asyncio.run_coroutine_threadsafe(later, _publishing_loop())
    _pending.add(future)
    future.add_done_callback(_pending.discard)
    return future


async def _later(delay, coroutine_function, args, kwargs):
    await asyncio.sleep(delay)
    return await _in_turn(coroutine_function, args, kwargs)


@atexit.register
def _flush() -> None:
    if _pending:
        concurrent.futures.wait(list(_pending), timeout=atm_settings.get("ATM_FLUSH_AT_EXIT"))
