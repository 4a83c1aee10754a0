"""The scheduler worker: channel-layer events into engine steps, timers, sweeps and heartbeats.

:class:`Scheduler` is the worker (:mod:`.scheduler`), built from what it does: its intake of events
(:mod:`.intake`), its timers (:mod:`.timing`, with the table of :mod:`.timers`), its sweeps and
heartbeat (:mod:`.sweeping`) and the supervision of its tasks (:mod:`.supervision`); what it does
in the database is in :mod:`.database`. ``manage.py automation_worker`` runs one,
``manage.py automation_server`` one beside daphne, and the Channels consumer
``consumers.scheduler.SchedulerConsumer`` hands it the messages of ``runworker``.
"""

from .intake import send_receipt, take_waiting_events
from .scheduler import Scheduler, close_process_scheduler, process_scheduler
from .supervision import SchedulerFailedError

__all__ = [
    "Scheduler",
    "SchedulerFailedError",
    "close_process_scheduler",
    "process_scheduler",
    "send_receipt",
    "take_waiting_events",
]
