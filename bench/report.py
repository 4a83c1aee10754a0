"""Printing the benchmark's figures next to the targets and the older implementation's figures."""

from __future__ import annotations

OLDER_NODES_PER_SECOND = (35, 60)
OLDER_QUERIES_PER_NODE = 11.9
OLDER_BLOCKED_INSTANCES = 1000
OLDER_BLOCKED_SECONDS = 12.0
OLDER_BLOCKED_QUERIES = 7001
TARGET_NODES_PER_SECOND = 10 * OLDER_NODES_PER_SECOND[1]
TARGET_QUERIES_PER_EXECUTE = 3
TARGET_IDLE_RATIO = 2
TARGET_BLOCKED_FACTOR = 100


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _spread(series, fmt) -> str:
    if len(series) == 1:
        return fmt(series.median)
    return f"{fmt(series.median)}  (median of {len(series)}, {fmt(series.low)} .. {fmt(series.high)})"


def _kinds(kinds: dict) -> str:
    return ", ".join(f"{kind} {count:g}" for kind, count in kinds.items())


def print_header(machine: dict, args) -> None:
    print("Django Automations benchmark")
    print(f"  machine   {machine['cpu']}")
    print(f"  software  {machine['python']}")
    print(f"  database  {machine['database']}")
    print(f"  load      {machine['load']} at the start (other processes make every figure slower)")
    print(
        f"  runs      throughput {args.runs} x, idle sweep {args.repeats} x per size, "
        f"blocked sweep {args.repeats} x, re-check {args.recheck_runs} x; medians shown"
    )
    print()


def print_footer(load: str) -> None:
    print(f"load {load} at the end")


def print_throughput(result: dict) -> None:
    nodes_per_second = lambda value: f"{value:,.0f} nodes/s"  # noqa: E731
    in_place, target = result["in_place"].median, TARGET_NODES_PER_SECOND
    print(
        f"Throughput: {result['instances']} instances x (10 Execute + End) = "
        f"{result['nodes']:,} nodes per run"
    )
    print(f"  started in place, Cls()        {_spread(result['in_place'], nodes_per_second)}")
    print(f"  run by automation_step         {_spread(result['swept'], nodes_per_second)}")
    print(
        f"  per CPU-second of this process {nodes_per_second(result['in_place_cpu'].median)} in place, "
        f"{nodes_per_second(result['swept_cpu'].median)} by automation_step (medians; less sensitive to load)"
    )
    print(
        f"  target >= {target} nodes/s (10x the older 35-60): {_verdict(in_place >= target)}, "
        f"{in_place / OLDER_NODES_PER_SECOND[1]:.0f}x-{in_place / OLDER_NODES_PER_SECOND[0]:.0f}x the older"
    )
    print("SQL statements (as Django counts them: BEGIN and SAVEPOINTs included, COMMIT is not)")
    per_execute = result["per_execute"]
    print(
        f"  per Execute node               {per_execute:.2f}   target <= {TARGET_QUERIES_PER_EXECUTE}: "
        f"{_verdict(per_execute <= TARGET_QUERIES_PER_EXECUTE + 1e-9)}"
    )
    print(
        f"  per Execute node with save()   {result['per_execute_saving']:.2f}   (the user's save() included)"
    )
    print(
        f"  per node, all included         {result['per_node']:.2f}   started in place "
        f"(older: {OLDER_QUERIES_PER_NODE}); {result['per_node_swept']:.2f} run by automation_step"
    )
    print(f"  per instance (10 Execute+End)  {_kinds(result['per_instance'])}")
    print(f"  per instance (End only)        {_kinds(result['per_instance_end_only'])}")
    print()


def print_idle(result: dict) -> None:
    sizes = result["sizes"]
    print("Idle automation_step: instances asleep on AfterWaitingFor(1 day), none due")
    for size, figures in sizes.items():
        print(
            f"  {size:>9,} sleeping   {_spread(figures['seconds'], _ms)}, {figures['queries']} statement(s)"
        )
    smallest, largest = min(sizes), max(sizes)
    ratio = sizes[largest]["seconds"].median / sizes[smallest]["seconds"].median
    print(
        f"  {largest:,} vs {smallest:,}: {ratio:.2f}x   target <= {TARGET_IDLE_RATIO}x: "
        f"{_verdict(ratio <= TARGET_IDLE_RATIO)}"
    )
    print(f"  plan of the due query at {largest:,}: {sizes[largest]['plan']}")
    wake = result["wake"]
    print(
        f"  check: the {wake['woken']} earliest sleepers woke when due and ran "
        f"{' -> '.join(wake['history'])} like an engine-made one, the next one kept sleeping; "
        f"the sweep that woke one among {largest:,} took {_ms(wake['seconds'])}"
    )
    print()


def print_blocked(result: dict) -> None:
    n, between, recheck = result["instances"], result["between"].median, result["recheck"].median
    interval = result["interval"].total_seconds()
    print(f"Blocked: {n:,} instances waiting on AsSoonAs (condition false)")
    print(f"  started and run to the AsSoonAs in {_ms(result['created_seconds'])}")
    print(
        f"  automation_step                {_spread(result['between'], _ms)}, "
        f"{result['between_queries']} statement(s)"
    )
    if n == OLDER_BLOCKED_INSTANCES:
        factor_time = OLDER_BLOCKED_SECONDS / between
        factor_queries = OLDER_BLOCKED_QUERIES / max(result["between_queries"], 1)
        print(
            f"    vs the older 12 s / 7,001 statements: {factor_time:,.0f}x faster, "
            f"{factor_queries:,.0f}x fewer statements; target >= {TARGET_BLOCKED_FACTOR}x: "
            f"{_verdict(min(factor_time, factor_queries) >= TARGET_BLOCKED_FACTOR)}"
        )
    print(
        f"  step when the re-check is due  {_spread(result['recheck'], _ms)}, "
        f"{result['recheck_queries']:,} statements: {_kinds(result['recheck_kinds'])}"
    )
    print(f"    (once per ATM_CONDITION_RECHECK_INTERVAL = {interval:g} s for each blocked instance)")
    if n == OLDER_BLOCKED_INSTANCES:
        print(
            f"    vs the older: {OLDER_BLOCKED_SECONDS / recheck:,.1f}x faster, "
            f"{OLDER_BLOCKED_QUERIES / result['recheck_queries']:,.1f}x fewer statements"
        )
    print(
        f"  check: {result['unblocked']} instances whose condition turned true finished at the next "
        "re-check, the others kept waiting"
    )
    print()
