"""DBOS Transact's side of the side-by-side benchmark (``bench/peers.py`` starts it in its own venv).

    python run_dbos.py --database-url URL --scenario steps --workflows 300

Written against DBOS Transact's documented API (``DBOS``, ``DBOSConfig``, ``@DBOS.workflow``,
``@DBOS.step``, ``DBOS.start_workflow``, ``DBOS.sleep``; async workflows and steps run concurrently
with ``asyncio.gather``, as its documentation shows for steps that may run side by side). The
database of ``--database-url`` is DBOS's system database, where it checkpoints every workflow and
step. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from counting import StatementCounter, check, measured, paced, report
from dbos import DBOS, DBOSConfig

STEPS = 10


@DBOS.step()
def add(total: int, number: int) -> int:
    return total + number


@DBOS.workflow()
def ten_steps() -> int:
    """Ten steps, each checkpointing the workflow's running total."""
    total = 0
    for number in range(1, STEPS + 1):
        total = add(total, number)
    return total


@DBOS.workflow()
def branch(number: int) -> int:
    return add(0, number)


@DBOS.workflow()
def fan_out_children() -> int:
    """Four child workflows started at once, then joined."""
    handles = [DBOS.start_workflow(branch, number) for number in range(1, 5)]
    return sum(handle.get_result() for handle in handles)


@DBOS.step()
async def add_async(total: int, number: int) -> int:
    return total + number


@DBOS.workflow()
async def fan_out_gather() -> int:
    """Four steps run concurrently inside the one workflow (started in a fixed order, as DBOS asks,
    and awaited together with ``asyncio.gather``), then summed: each step's output is checkpointed."""
    branches = [asyncio.create_task(add_async(0, number)) for number in range(1, 5)]
    return sum(await asyncio.gather(*branches))


@DBOS.step()
def seconds_until(moment: float) -> float:
    return max(0.0, moment - time.time())


@DBOS.step()
def lateness_ms(moment: float) -> float:
    return (time.time() - moment) * 1000


@DBOS.workflow()
def sleeper(due: float) -> float:
    DBOS.sleep(seconds_until(due))
    return lateness_ms(due)


@DBOS.step()
def due_in_a_second() -> float:
    """The workflow's first step: its due moment, 1 s after the step ran (its output is checkpointed)."""
    return time.time() + 1


@DBOS.workflow()
def second_sleeper() -> float:
    """Sleeps 1 s from its first step, then notes how late the step after the sleep ran."""
    due = due_in_a_second()
    DBOS.sleep(max(0.0, due - time.time()))  # a sleep's end is recorded once: a replay keeps it
    return lateness_ms(due)


def steps(counter, workflows):
    seconds, cpu, statements, totals = measured(counter, lambda: [ten_steps() for _ in range(workflows)])
    check(totals == [55] * workflows, "every workflow returned 55")
    return {"seconds": seconds, "cpu": cpu, "statements": statements, "units": workflows * STEPS}


def fanout_children(counter, workflows):
    seconds, cpu, statements, totals = measured(
        counter, lambda: [fan_out_children() for _ in range(workflows)]
    )
    check(totals == [10] * workflows, "every join returned 10")
    return {"seconds": seconds, "cpu": cpu, "statements": statements, "units": workflows}


def fanout_gather(counter, workflows):
    async def all_workflows():
        return [await fan_out_gather() for _ in range(workflows)]

    seconds, cpu, statements, totals = measured(counter, lambda: asyncio.run(all_workflows()))
    check(totals == [10] * workflows, "every gather returned 10")
    return {"seconds": seconds, "cpu": cpu, "statements": statements, "units": workflows}


def sleeps(counter, workflows):
    """All sleepers are started, then all are due at one moment, 1 s after the last could have started."""
    due = time.time() + 1 + 0.06 * workflows + 1
    handles = [DBOS.start_workflow(sleeper, due) for _ in range(workflows)]
    check(time.time() < due - 1, f"starting {workflows} sleepers took too long")
    lateness = [handle.get_result() for handle in handles]
    return {"lateness_ms": lateness, "units": workflows}


def staggered_sleeps(counter, workflows, spread):
    """Sleepers started one after another over ``spread`` seconds, each sleeping 1 s from its first step."""
    handles = paced(workflows, spread, lambda: DBOS.start_workflow(second_sleeper))
    lateness = [handle.get_result() for handle in handles]
    return {"lateness_ms": lateness, "units": workflows}


SCENARIOS = {
    "steps": lambda counter, workflows, spread: steps(counter, workflows),
    "fanout": lambda counter, workflows, spread: fanout_gather(counter, workflows),
    "fanout-children": lambda counter, workflows, spread: fanout_children(counter, workflows),
    "sleeps": lambda counter, workflows, spread: sleeps(counter, workflows),
    "staggered-sleeps": staggered_sleeps,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prepare", action="store_true", help="create DBOS's tables and leave")
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument("--workflows", type=int, default=300)
    parser.add_argument(
        "--spread", type=float, default=4.0, help="staggered-sleeps: seconds over which the starts are spread"
    )
    args = parser.parse_args(argv)
    url = args.database_url.replace("postgres://", "postgresql://", 1)
    config: DBOSConfig = {"name": "atm-bench-peers", "system_database_url": url}
    counter = StatementCounter().install()
    DBOS(config=config)
    DBOS.launch()
    try:
        if not args.prepare:
            began = time.perf_counter()
            figures = SCENARIOS[args.scenario](counter, args.workflows, args.spread)
            report(side="dbos", scenario=args.scenario, elapsed=time.perf_counter() - began, **figures)
    finally:
        DBOS.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
