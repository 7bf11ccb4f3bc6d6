"""How a worker's costs grow with its state: many workflows waiting on a listener, many future timers.

``python -m benchmarks.scale [--waiting W,W,...] [--events E] [--future-timers F,F,...] [--due-timers D]
[--tick-rounds R] [--tick SECONDS] [--idle SECONDS] [--seed-processes P] [--timeout SECONDS] [--json PATH]``;
the broker is ``DAGGER_BROKER`` (default ``kafka://127.0.0.1:9092``). Each state is seeded straight into the
changelogs of a fresh worker, which rebuilds it. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._command import BenchmarkError, configure_logging
from benchmarks._report import Table
from benchmarks._results import Figure
from benchmarks._scale_results import (
    TIMER_FIGURES,
    WAITING_FIGURES,
    TimerResult,
    WaitingResult,
    ratio_to_first,
    scale_json,
    values_of,
)
from benchmarks._scale_run import PROBES, ScalePlan, measure_timers, measure_waiting
from examples.pizza.runner import WorkerError, check_broker


@dataclass(frozen=True)
class Options:
    """What the command line asks for."""

    waiting: list[int]
    future_timers: list[int]
    plan: ScalePlan
    json_path: Path | None

    def command(self) -> str:
        """The command line that repeats these measurements (without the output file)."""
        plan = self.plan
        return (
            f"python -m benchmarks.scale --waiting {_listed(self.waiting)} --events {plan.events} "
            f"--future-timers {_listed(self.future_timers)} --due-timers {plan.due_timers} "
            f"--tick-rounds {plan.tick_rounds} --tick {plan.tick_seconds:g} --idle {plan.idle_seconds:g} "
            f"--seed-processes {plan.processes}"
        )


def _listed(numbers: Sequence[int]) -> str:
    return ",".join(str(number) for number in numbers) or '""'


def counts(text: str) -> list[int]:
    """A comma-separated list of positive whole numbers (``1000,100000``); empty for none."""
    try:
        found = [int(word) for word in text.split(",") if word.strip()]
    except ValueError:
        found = [0]
    if any(number < 1 for number in found):
        raise argparse.ArgumentTypeError(f"not a comma-separated list of positive whole numbers: {text}")
    return sorted(set(found))


def table_lines(label: str, columns: Sequence[Figure[Any]], rows: Sequence[tuple[int, Any]], cost: str) -> list[str]:
    """A table of ``rows``, each a state's size and its result, with the ratio of each one's figure ``cost`` to
    the first one's in a last column."""
    table = Table(columns, label=label)
    values = [values_of(result, columns) for _, result in rows]
    ratios = ratio_to_first([found[cost] for found in values])
    lines = [f"{table.header()}  {'ratio':>6}"]
    for (size, _), found, ratio in zip(rows, values, ratios, strict=True):
        lines.append(f"{table.row(str(size), found)}  {ratio:>6.2f}")
    return lines


async def benchmark(options: Options) -> int:
    """Measure each state in turn, print the tables, write the JSON if asked; return the exit code."""
    broker = os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092")
    try:
        await check_broker(broker.split("://", 1)[-1])
    except WorkerError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    plan = options.plan
    print(f"scale benchmark: broker {broker}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    waiting: list[WaitingResult] = []
    timers: list[TimerResult] = []
    try:
        for count in options.waiting:
            print(f"{count} workflows waiting:", flush=True)
            result = await measure_waiting(broker, plan, count)
            waiting.append(result)
            print(f"  {result.cpu_ms_per_event:.3f} ms/event, verified {result.verified}/{result.sampled} over REST")
        for count in options.future_timers:
            print(f"{count} future timers:", flush=True)
            timers.append(await measure_timers(broker, plan, count))
            print(f"  {timers[-1].tick_cpu_ms:.1f} ms per tick firing {plan.due_timers} timers", flush=True)
    except BenchmarkError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    if waiting:
        print(f"{plan.events} listener events, W pizza workflows waiting (ratio: CPU per event to the first row's):")
        waiting_rows = [(result.waiting, result) for result in waiting]
        print("\n".join(table_lines("waiting", WAITING_FIGURES, waiting_rows, "worker_cpu_ms_per_event")))
    if timers:
        print(
            f"a tick firing {plan.due_timers} timers among F future ones, one tick every {plan.tick_seconds:g} s "
            "(ratio: tick CPU to the first row's):"
        )
        timer_rows = [(result.future, result) for result in timers]
        print("\n".join(table_lines("future timers", TIMER_FIGURES, timer_rows, "tick_cpu_ms")))
    print(f"command: {options.command()}")
    if options.json_path is not None:
        options.json_path.parent.mkdir(parents=True, exist_ok=True)
        document = scale_json(_settings(options, broker), waiting, timers)
        options.json_path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"written: {options.json_path}")
    return 0


def _settings(options: Options, broker: str) -> dict[str, Any]:
    plan = options.plan
    return {
        "command": options.command(),
        "events": plan.events,
        "due_timers": plan.due_timers,
        "tick_rounds": plan.tick_rounds,
        "tick_s": plan.tick_seconds,
        "idle_s": plan.idle_seconds,
        "seed_processes": plan.processes,
        "broker": broker,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def parse_options(arguments: list[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--waiting",
        type=counts,
        default=[1000, 100000],
        help="pizza workflows waiting, per state (default: 1000,100000)",
    )
    parser.add_argument("--events", type=int, default=900, help="listener events measured per state (default 900)")
    parser.add_argument(
        "--future-timers", type=counts, default=[1000, 100000], help="future timers, per state (default 1000,100000)"
    )
    parser.add_argument("--due-timers", type=int, default=100, help="timers falling due in the tick (default 100)")
    parser.add_argument(
        "--tick-rounds", type=int, default=5, help="ticks firing the due timers measured, in turn (default 5)"
    )
    parser.add_argument("--tick", type=float, default=1.0, help="the worker's timer tick period in seconds (default 1)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds measured with no timer due (default 10)")
    parser.add_argument(
        "--seed-processes", type=int, default=os.cpu_count() or 1, help="processes seeding a state (default: CPUs)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds a rebuild or the events may take (default 1800)"
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="write every figure as JSON to PATH")
    args = parser.parse_args(arguments)
    if min(args.events, args.due_timers, args.tick_rounds, args.seed_processes) < 1 or min(args.tick, args.idle) <= 0:
        parser.error(
            "--events, --due-timers, --tick-rounds, --seed-processes must be at least 1, --tick, --idle positive"
        )
    too_few = [count for count in args.waiting if count < args.events + PROBES]
    if too_few:
        parser.error(f"--waiting {too_few[0]}: a state needs at least --events + {PROBES} workflows waiting")
    return Options(
        waiting=args.waiting,
        future_timers=args.future_timers,
        plan=ScalePlan(
            events=args.events,
            due_timers=args.due_timers,
            tick_rounds=args.tick_rounds,
            tick_seconds=args.tick,
            idle_seconds=args.idle,
            processes=args.seed_processes,
            timeout=args.timeout,
        ),
        json_path=args.json,
    )


def main() -> int:
    """Parse the command line and run the benchmark."""
    options = parse_options()
    configure_logging()
    return asyncio.run(benchmark(options))


if __name__ == "__main__":
    sys.exit(main())
