"""The scheduler's timer, armed from the engine's database thread, advances the instance when due."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer

from automations import events, flow
from automations.flow import this
from automations.models import AutomationModel
from consumers.scheduler import Scheduler

pytestmark = pytest.mark.django_db(transaction=True)


class ShortNap(flow.Automation):
    nap = flow.Execute(this.note).AfterWaitingFor(timedelta(milliseconds=300))
    end = flow.End()

    def note(self, task):
        self.data["napped"] = True


def create():
    return ShortNap(autorun=False).id


def finished(automation_id):
    return AutomationModel.objects.get(pk=automation_id).finished


async def test_a_wake_time_reported_by_a_step_fires_the_timer():
    scheduler = Scheduler(channel_layer=InMemoryChannelLayer(), sweep_interval=3600)
    running = asyncio.create_task(scheduler.arun(listen=False))
    try:
        await asyncio.sleep(0.1)
        automation_id = await database_sync_to_async(create)()
        # The first step, run for the event in the database thread, reports its wake time from there.
        assert await scheduler.dispatch(events.wake_event(automation_id))
        for _ in range(50):
            await asyncio.sleep(0.1)
            if await database_sync_to_async(finished)(automation_id):
                break
        assert await database_sync_to_async(finished)(automation_id)
        assert scheduler.stats["timers"] == 1
    finally:
        scheduler.stop()
        await running
