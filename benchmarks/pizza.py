"""Pizza workflow throughput, latency, worker CPU and memory, and Kafka traffic per workflow, on a Kafka broker.

``python -m benchmarks.pizza [--workflows N] [--runs R] [--timeout SECONDS] [--rate R|half]
[--create-concurrency K] [--against PATH] [--json PATH] [--plot PATH]``; the broker is ``DAGGER_BROKER``
(default ``kafka://127.0.0.1:9092``). With ``--against`` the runs alternate between this checkout and the one
at PATH, and the medians are compared. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks._command import BenchmarkError, configure_logging
from benchmarks._plot import write_plot
from benchmarks._report import Table, traffic_lines, write_json
from benchmarks._results import COST, LATENCY_AND_MEMORY, RunResult, figures, medians, ratios
from benchmarks._run import RunPlan, one_run
from examples.pizza.runner import ROOT, WorkerError, check_broker

HALF = "half"


@dataclass(frozen=True)
class Options:
    """What the command line asks for."""

    plan: RunPlan
    runs: int
    half_rate: bool
    """Measure the maximum throughput with a burst run first, then offer half of it."""
    against: Path | None
    json_path: Path | None
    plot_path: Path | None

    def command(self) -> str:
        """The command line that repeats these runs (without the output files)."""
        plan = self.plan
        words = [f"python -m benchmarks.pizza --workflows {plan.workflows} --runs {self.runs}"]
        if self.half_rate:
            words.append(f"--rate {HALF}")
        elif plan.rate is not None:
            words.append(f"--rate {plan.rate:g}")
        if plan.create_concurrency is not None:
            words.append(f"--create-concurrency {plan.create_concurrency}")
        if self.against is not None:
            words.append(f"--against {self.against}")
        return " ".join(words)


async def measure(broker: str, plan: RunPlan, label: str, root: Path) -> RunResult | None:
    """One run from checkout ``root``; None, once the failure is printed, if it did not finish."""
    try:
        return await one_run(broker, plan, root)
    except BenchmarkError as error:
        print(f"FAILED: {label}: {error}", file=sys.stderr)
        return None


async def burst_runs(broker: str, plan: RunPlan, checkouts: Mapping[str, Path]) -> dict[str, RunResult] | None:
    """One burst run of each checkout, to measure its maximum throughput; None if one did not finish."""
    found = {}
    for label, root in checkouts.items():
        result = await measure(broker, replace(plan, rate=None), f"burst run ({label})", root)
        if result is None:
            return None
        found[label] = result
    maxima = ", ".join(f"{label} {run.per_second:.1f}/s" for label, run in found.items())
    print(f"maximum throughput (one burst run): {maxima}; offered load: half of the lowest")
    return found


def print_latency_and_memory(
    rows: Sequence[tuple[str, RunResult]],
    median: Mapping[str, Mapping[str, float]],
    ratio: Mapping[str, float] | None,
) -> None:
    """The table of latency percentiles and worker memory: every run, the medians and the ratio."""
    table = Table(LATENCY_AND_MEMORY)
    print("latency in ms (c2c: request to COMPLETED version; step: shop's ready message to the next saved version),")
    print("worker resident memory in MiB (peak since it started, and at the end of the run):")
    print(table.header())
    for label, result in rows:
        print(table.row(label, figures(result)))
    print("\n".join(table.summary(median, ratio)))


async def benchmark(options: Options) -> int:
    """Run the benchmark ``options.runs`` times (each checkout, alternately, with ``against``), print each run,
    the medians and, with ``against``, how this checkout compares; write the JSON and the plot if asked; return
    the exit code."""
    broker = os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092")
    try:
        await check_broker(broker.split("://", 1)[-1])
    except WorkerError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    against = options.against
    checkouts = {"this": ROOT, **({"against": against} if against is not None else {})}
    plan = options.plan
    concurrency = "the worker's default" if plan.create_concurrency is None else str(plan.create_concurrency)
    print(
        f"pizza benchmark: {plan.workflows} workflows x {options.runs} runs, broker {broker}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, create concurrency {concurrency}"
    )
    for label, root in checkouts.items():
        print(f"  {label}: {root}")
    calibration = None
    if options.half_rate:
        calibration = await burst_runs(broker, plan, checkouts)
        if calibration is None:
            return 1
        plan = replace(plan, rate=min(run.per_second for run in calibration.values()) / 2)
    print("requests: one burst" if plan.rate is None else f"requests: {plan.rate:.1f} per second, evenly spaced")
    cost = Table(COST)
    print(cost.header())
    results: dict[str, list[RunResult]] = {label: [] for label in checkouts}
    rows: list[tuple[str, RunResult]] = []
    for number in range(1, options.runs + 1):
        order = list(checkouts) if number % 2 else list(reversed(checkouts))
        for label in order:
            result = await measure(broker, plan, f"run {number} ({label})", checkouts[label])
            if result is None:
                return 1
            results[label].append(result)
            rows.append((f"{number} {label}" if against else str(number), result))
            print(cost.row(rows[-1][0], figures(result)), flush=True)
    median = {label: medians(found) for label, found in results.items()}
    ratio = ratios(median["this"], median["against"]) if against is not None else None
    print("\n".join(cost.summary(median, ratio)))
    print_latency_and_memory(rows, median, ratio)
    print("written by the worker per workflow, last run of this checkout:")
    print("\n".join(traffic_lines(results["this"][-1])))
    print(f"command: {options.command()}")
    if options.json_path is not None:
        write_json(options.json_path, _settings(options, broker, plan, checkouts), results, median, ratio, calibration)
        print(f"written: {options.json_path}")
    if options.plot_path is not None:
        load = "one burst" if plan.rate is None else f"{plan.rate:.1f} requests/s"
        title = f"pizza benchmark, {plan.workflows} workflows, {load}: the last run of each checkout"
        write_plot(options.plot_path, {label: found[-1] for label, found in results.items()}, title)
        print(f"written: {options.plot_path}")
    return 0


def _settings(options: Options, broker: str, plan: RunPlan, checkouts: Mapping[str, Path]) -> dict[str, Any]:
    return {
        "command": options.command(),
        "workflows": plan.workflows,
        "runs": options.runs,
        "rate_per_s": plan.rate,
        "half_rate": options.half_rate,
        "create_concurrency": plan.create_concurrency,
        "broker": broker,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "checkouts": {label: str(root) for label, root in checkouts.items()},
    }


def offered_load(text: str) -> float | str:
    """``--rate``: requests per second, or ``half``."""
    if text == HALF:
        return HALF
    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not rate > 0:
        raise argparse.ArgumentTypeError(f"not a positive number of requests per second, nor {HALF}: {text}")
    return rate


def parse_options(arguments: list[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pizza", description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=1000, help="workflows per run (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="runs, each with a fresh worker (default 5)")
    parser.add_argument("--timeout", type=float, default=300.0, help="time limit per run in seconds (default 300)")
    parser.add_argument(
        "--rate",
        type=offered_load,
        default=None,
        help=f"send the requests evenly spaced, this many per second; {HALF}: half the throughput of a burst run "
        "measured first (default: one burst)",
    )
    parser.add_argument(
        "--create-concurrency",
        type=int,
        default=None,
        metavar="K",
        help="requests the worker handles at once (PIZZA_CREATE_CONCURRENCY; default: the worker's own, 8)",
    )
    parser.add_argument(
        "--against", type=Path, default=None, help="another checkout to alternate with and compare against"
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="write every figure as JSON to PATH")
    parser.add_argument("--plot", type=Path, default=None, metavar="PATH", help="write a PNG of the runs to PATH")
    args = parser.parse_args(arguments)
    if args.workflows < 1 or args.runs < 1:
        parser.error("--workflows and --runs must be at least 1")
    if args.create_concurrency is not None and args.create_concurrency < 1:
        parser.error("--create-concurrency must be at least 1")
    if args.against is not None and not (args.against / "examples" / "pizza" / "worker.py").is_file():
        parser.error(f"--against {args.against}: not a checkout of this project (no examples/pizza/worker.py)")
    rate = args.rate if isinstance(args.rate, float) else None
    return Options(
        plan=RunPlan(args.workflows, args.timeout, rate, args.create_concurrency),
        runs=args.runs,
        half_rate=args.rate == HALF,
        against=None if args.against is None else args.against.resolve(),
        json_path=args.json,
        plot_path=args.plot,
    )


def main() -> int:
    """Parse the command line and run the benchmark."""
    options = parse_options()
    configure_logging()
    return asyncio.run(benchmark(options))


if __name__ == "__main__":
    sys.exit(main())
