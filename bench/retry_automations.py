"""The automations of the retry benchmark (bench/retries.py): a call that fails, and a timer to watch."""

from __future__ import annotations

import threading
from datetime import timedelta

from django.utils import timezone

from automations import flow
from automations.flow import this
from automations.flow.retrying import pending_retry

ATTEMPTS = 3

calls = 0  # every attempt of every FlakyCall, counted outside the database (a failed attempt rolls back)
_counting = threading.Lock()


class FlakyCall(flow.Automation):
    """A call that fails until its last attempt; the success notes how late that attempt ran (ms).

    The pauses are exponential with jitter: between half and all of ``pause``, then of 1.5 times it.
    """

    call = flow.Execute(this.call_service).Retry(
        attempts=ATTEMPTS, backoff=this.pause_after, on=ConnectionError
    )
    end = flow.End()

    def pause_after(self, exception, attempt):
        return flow.Exponential(first=self.data["pause"], factor=1.5, jitter=True)(exception, attempt)

    def call_service(self, task):
        global calls
        with _counting:
            calls += 1
        pending = pending_retry(task)
        if pending is None or pending.attempt < ATTEMPTS:
            raise ConnectionError("service unavailable")
        return (timezone.now() - pending.at).total_seconds() * 1000


class Alarm(flow.Automation):
    """Waits ``data["delay"]`` seconds once started, then notes how late (ms) its node ran."""

    ring = flow.Execute(this.note_lateness).AfterWaitingFor(this.delay)
    end = flow.End()

    def delay(self, task):
        return timedelta(seconds=self.data["delay"])

    def note_lateness(self, task):
        return (timezone.now() - task.created - self.delay(task)).total_seconds() * 1000
