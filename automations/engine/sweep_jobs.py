"""What else every sweep does: the jobs apps register, run after the due instances advanced.

The scheduler worker's periodic sweep and ``manage.py automation_step`` run them, each once per
sweep; the engine and the worker sit below the apps that need a periodic turn (the deadline
reminders of :mod:`automations.notifications.reminders`), which register a job here, usually in
``AppConfig.ready()``::

    from automations.engine import sweep_jobs

    def tidy_up() -> int:
        ...
        return done

    sweep_jobs.register(tidy_up)

A job takes no arguments and returns how much it did (a count); every worker runs it, so a job
claims its work in the database. A job that raises is logged and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable

from .registry import Registry

Job = Callable[[], int]


def _name(job: Job) -> str:
    return getattr(job, "__name__", repr(job))


_jobs: Registry[Job] = Registry("Sweep job %s failed; the next sweep runs it again.", name=_name)


def register(job: Job) -> Job:
    """Run ``job()`` at every sweep; return ``job`` (usable as a decorator).

    Registering the same function twice registers it once.
    """
    return _jobs.register(job)


def unregister(job: Job) -> None:
    """Stop running ``job``; a job that is not registered is ignored."""
    _jobs.unregister(job)


def run() -> dict[str, int]:
    """Run every registered job once, in the order of registration; return ``{job name: count}``.

    A job that raises is logged and counts nothing, as does one that returns no whole number;
    the next sweep runs it again.
    """
    return {_name(job): count if isinstance(count, int) else 0 for job, count in _jobs.call_each()}
