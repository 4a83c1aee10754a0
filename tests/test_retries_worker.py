"""Retries run by the scheduler worker: each attempt a timer of the worker's, no thread held between."""

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from automations import flow
from automations.flow import this
from automations.flow.retrying import pending_retry
from automations.models import AutomationModel, AutomationTaskModel
from automations.testing import frozen_clock, scheduler_running
from automations.worker import Scheduler

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async

CALLS: list[str] = []


class SlowService(flow.Automation):
    call = flow.Execute(this.call_service, threaded=True).Retry(attempts=3, backoff=timedelta(seconds=10))
    end = flow.End()

    def call_service(self, task):
        CALLS.append(threading.current_thread().name)
        if len(CALLS) < 3:
            raise ConnectionError("slow service down")
        return "done"


async def until(predicate, timeout=5.0):
    start = time.monotonic()
    while not await db(predicate)():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true after {timeout} s: {predicate}")
        await asyncio.sleep(0.01)


async def test_the_worker_runs_each_attempt_when_it_is_due(settings):
    settings.ATM_WORKER = True
    CALLS.clear()
    with frozen_clock() as clock:
        worker = Scheduler(channel_layer=get_channel_layer(), sweep_interval=3600)
        async with scheduler_running(worker, clock=clock):
            service = await db(SlowService)()  # handed to the worker: the call is threaded
            await until(lambda: len(CALLS) == 1)
            await until(lambda: worker.next_wake() == clock.now + timedelta(seconds=10))
            task = await db(AutomationTaskModel.objects.get)(automation_id=service.id)
            assert pending_retry(task).attempt == 2 and CALLS[0] != threading.main_thread().name
            threads = threading.active_count()
            await clock.aadvance(seconds=9.9)
            await asyncio.sleep(0.05)
            assert len(CALLS) == 1  # not before its time
            await clock.aadvance(seconds=0.1)
            await until(lambda: len(CALLS) == 2)
            await clock.aadvance(seconds=10)
            await until(lambda: AutomationModel.objects.get(pk=service.id).finished)
            assert threading.active_count() <= threads  # waiting holds none (others' may end)
    task = await db(AutomationTaskModel.objects.get)(automation_id=service.id, status="call")
    assert task.message == "OK, attempt 3 of 3" and task.result == "done"
    assert len(CALLS) == 3
