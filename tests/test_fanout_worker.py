"""ForEach and SubAutomation on the scheduler worker (in-memory channel layer, frozen clock)."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from automations import events
from automations.models import AutomationModel
from automations.testing import frozen_clock, scheduler_running
from automations.worker import Scheduler
from tests.test_foreach import Throttled
from tests.test_subautomations import Order

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


async def until(predicate, timeout=10.0):
    """Wait until the sync ``predicate()`` (run on the database thread) is true."""
    start = time.monotonic()
    while not await db(predicate)():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true after {timeout} s")
        await asyncio.sleep(0.01)


def quiet_worker():
    return Scheduler(channel_layer=get_channel_layer(), sweep_interval=3600)


def status(pk):
    return AutomationModel.objects.get(pk=pk).status


async def start_order_with_waiting_child():
    """Start an ``Order`` through the worker; return it and its child (a queryset) once the child waits."""
    order_class = Order.get_automation_class_name()
    await events.apublish({"type": "automation.start", "automation_class": order_class, "data": {"total": 7}})
    await until(lambda: AutomationModel.objects.filter(automation_class=order_class).exists())
    order = await db(AutomationModel.objects.get)(automation_class=order_class)
    waiting = AutomationModel.objects.filter(parent_id=order.pk, status="waiting_for_time")
    await until(waiting.exists)
    return order, waiting


async def test_a_child_started_on_the_worker_wakes_its_parent_when_it_finishes():
    with frozen_clock() as clock:
        async with scheduler_running(quiet_worker(), clock=clock):
            order, waiting = await start_order_with_waiting_child()
            child = await db(AutomationModel.objects.get)(parent_id=order.pk)
            assert await db(status)(order.pk) == "waiting_for_message"
            await clock.aadvance(hours=1)  # the child's timer fires on the worker; its end wakes the parent
            await until(lambda: status(order.pk) == "finished")
            assert await db(status)(child.pk) == "finished"
            order = await db(AutomationModel.objects.get)(pk=order.pk)
            assert order.data["payment"] == {"amount": 7, "receipt": "R-7"}


async def test_a_child_deleted_while_its_parent_waits_wakes_the_parent_on_the_worker():
    with frozen_clock() as clock:
        async with scheduler_running(quiet_worker(), clock=clock):  # no sweep while the clock stands
            order, waiting = await start_order_with_waiting_child()
            assert await db(status)(order.pk) == "waiting_for_message"
            await db(waiting.delete)()
            await until(lambda: status(order.pk) == "failed")  # the worker was told after the commit


async def test_a_limited_fan_out_runs_on_the_worker_in_order():
    path = Throttled.get_automation_class_name()
    with frozen_clock() as clock:
        async with scheduler_running(quiet_worker(), clock=clock):
            await events.apublish(
                {"type": "automation.start", "automation_class": path, "data": {"jobs": [1, 2, 3]}}
            )
            await until(lambda: data_of(path).get("running") == [1, 2])
            await clock.aadvance(minutes=10)  # the first two paths' timers fire; the third item starts
            await until(lambda: data_of(path).get("running") == [3])
            await clock.aadvance(minutes=10)
            await until(lambda: AutomationModel.objects.get(automation_class=path).status == "finished")
            data = await db(data_of)(path)
            assert data["results"] == [10, 20, 30] and data["most"] == 2


def data_of(path):
    row = AutomationModel.objects.filter(automation_class=path).first()
    return row.data if row is not None else {}
