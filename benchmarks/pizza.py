"""Pizza workflow throughput, worker CPU time and Kafka traffic per workflow, on a running Kafka broker.

``python -m benchmarks.pizza [--workflows N] [--runs R] [--poll SECONDS] [--timeout SECONDS] [--against PATH]``;
the broker is ``DAGGER_BROKER`` (default ``kafka://127.0.0.1:9092``). With ``--against`` the runs alternate
between this checkout and the one at PATH, and the medians are compared. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer

from benchmarks._traffic import Traffic, end_offsets, written
from examples.pizza.runner import ROOT, WorkerError, WorkerProcess, check_broker, send_requests
from examples.pizza.shop import PizzaShop

READY_TIMEOUT = 60.0
WARM_UP_ORDER = "warm-up"


class BenchmarkError(Exception):
    """A run did not finish."""


@dataclass(frozen=True)
class RunResult:
    """The measurements of one run."""

    workflows: int
    wall_seconds: float
    cpu_seconds: float
    traffic: dict[str, Traffic] = field(default_factory=dict)
    """What the worker wrote during the burst, by topic (its name without the application's prefix)."""

    @property
    def per_second(self) -> float:
        """Workflows completed per wall-clock second."""
        return self.workflows / self.wall_seconds

    @property
    def cpu_ms_per_workflow(self) -> float:
        """Worker CPU milliseconds per workflow."""
        return self.cpu_seconds * 1000 / self.workflows

    @property
    def messages_per_workflow(self) -> float:
        """Messages the worker wrote to Kafka per workflow."""
        return sum(traffic.messages for traffic in self.traffic.values()) / self.workflows

    @property
    def bytes_per_workflow(self) -> float:
        """Bytes (keys, values, headers) the worker wrote to Kafka per workflow."""
        return sum(traffic.bytes for traffic in self.traffic.values()) / self.workflows


async def wait_all_completed(
    worker: WorkerProcess, session: aiohttp.ClientSession, order_ids: list[str], poll: float
) -> tuple[float, float]:
    """Poll until every order's workflow is COMPLETED.

    Returns the clock (``time.perf_counter``) and the worker's CPU seconds, both read just before the
    request that found them all completed.
    """
    pending = set(order_ids)
    while True:
        now, cpu = time.perf_counter(), worker.cpu_seconds()
        workflows = await worker.workflows(session)
        pending = {order for order in pending if order not in workflows or workflows[order].status != "COMPLETED"}
        if not pending:
            return now, cpu
        await asyncio.sleep(poll)


async def one_run(broker: str, workflows: int, poll: float, timeout: float, root: Path = ROOT) -> RunResult:
    """Start a fresh worker from checkout ``root``, complete a warm-up order, then time a burst of ``workflows``
    orders and read back what the worker wrote to Kafka meanwhile."""
    worker = WorkerProcess(broker, prefix="pizza-bench", root=root)
    settings = worker.settings
    order_ids = [f"order-{number:06d}" for number in range(workflows)]
    try:
        async with asyncio.timeout(timeout), aiohttp.ClientSession() as session:
            worker.start()
            await worker.wait_ready(session, READY_TIMEOUT)
            async with PizzaShop(settings.bootstrap_servers, settings.topics) as shop:
                producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
                await producer.start()
                try:
                    await send_requests(producer, settings.requests_topic, [WARM_UP_ORDER])
                    await wait_all_completed(worker, session, [WARM_UP_ORDER], poll)
                    before = await end_offsets(settings.bootstrap_servers, settings.application_name)
                    cpu_start, started = worker.cpu_seconds(), time.perf_counter()
                    await send_requests(producer, settings.requests_topic, order_ids)
                    finished, cpu_end = await wait_all_completed(worker, session, order_ids, poll)
                    after = await end_offsets(settings.bootstrap_servers, settings.application_name)
                finally:
                    await producer.stop()
                traffic = await written(settings.bootstrap_servers, before, after)
                if len(shop.orders) != workflows + 1:
                    print(f"  note: the shop received {len(shop.orders)} orders, expected {workflows + 1}")
    except TimeoutError:
        raise BenchmarkError(f"the run did not finish in {timeout:.0f} s\n{worker.log_tail()}") from None
    except WorkerError as error:
        raise BenchmarkError(f"{error}\n{worker.log_tail()}") from None
    finally:
        code = worker.stop()
        log = worker.log_lines()
        worker.remove_workdir()
    if code != 0:
        print(f"  note: the worker exited with code {code}")
    if log:
        shown = "".join(f"\n    {line}" for line in log[:3])
        print(f"  note: the worker logged {len(log)} lines, the first:{shown}")
    not_the_workers = (settings.requests_topic, settings.topics.ready)
    return RunResult(
        workflows=workflows,
        wall_seconds=finished - started,
        cpu_seconds=cpu_end - cpu_start,
        traffic={
            topic.removeprefix(f"{settings.application_name}-"): amount
            for topic, amount in traffic.items()
            if topic not in not_the_workers
        },
    )


async def benchmark(workflows: int, runs: int, poll: float, timeout: float, against: Path | None) -> int:
    """Run the benchmark ``runs`` times (each checkout, alternately, with ``against``), print each run, the
    medians and, with ``against``, how this checkout compares; return the exit code."""
    broker = os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092")
    try:
        await check_broker(broker.split("://", 1)[-1])
    except WorkerError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    checkouts = {"this": ROOT, **({"against": against} if against is not None else {})}
    print(
        f"pizza benchmark: {workflows} workflows x {runs} runs, broker {broker}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    for label, root in checkouts.items():
        print(f"  {label}: {root}")
    print(HEADER)
    results: dict[str, list[RunResult]] = {label: [] for label in checkouts}
    for number in range(1, runs + 1):
        order = list(checkouts) if number % 2 else list(reversed(checkouts))
        for label in order:
            try:
                result = await one_run(broker, workflows, poll, timeout, checkouts[label])
            except BenchmarkError as error:
                print(f"FAILED: run {number} ({label}): {error}", file=sys.stderr)
                return 1
            results[label].append(result)
            print(row(f"{number} {label}" if against else str(number), figures(result)), flush=True)
    medians = {
        label: [statistics.median(column) for column in zip(*map(figures, found), strict=True)]
        for label, found in results.items()
    }
    for label, median in medians.items():
        print(row(f"median {label}" if against else "median", median))
    if against is not None:
        ratios = [ours / theirs for ours, theirs in zip(medians["this"], medians["against"], strict=True)]
        print(row("this/against", ratios, RATIO_DECIMALS))
    print_traffic(results["this"][-1])
    option = f" --against {against}" if against is not None else ""
    print(f"command: python -m benchmarks.pizza --workflows {workflows} --runs {runs} --poll {poll:g}{option}")
    return 0


HEADER = (
    f"{'run':>16}  {'wall s':>8}  {'workflows/s':>11}  {'worker CPU ms/workflow':>22}  "
    f"{'messages/workflow':>17}  {'bytes/workflow':>14}"
)


def figures(result: RunResult) -> list[float]:
    """The figures of one run, in the order of the table's columns."""
    return [
        result.wall_seconds,
        result.per_second,
        result.cpu_ms_per_workflow,
        result.messages_per_workflow,
        result.bytes_per_workflow,
    ]


WIDTHS = (8, 11, 22, 17, 14)
DECIMALS = (2, 1, 2, 2, 0)
RATIO_DECIMALS = (3,) * len(WIDTHS)


def row(label: str, values: list[float], decimals: tuple[int, ...] = DECIMALS) -> str:
    """One line of the results table."""
    cells = (f"{value:>{width}.{places}f}" for value, width, places in zip(values, WIDTHS, decimals, strict=True))
    return f"{label:>16}  " + "  ".join(cells)


def print_traffic(result: RunResult) -> None:
    """What the worker of this checkout's last run wrote per workflow, topic by topic."""
    print("written by the worker per workflow, last run of this checkout:")
    for topic, traffic in sorted(result.traffic.items()):
        messages, size = traffic.messages / result.workflows, traffic.bytes / result.workflows
        print(f"  {topic:<40} {messages:>6.2f} messages {size:>8.0f} bytes")


def main() -> int:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pizza", description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=1000, help="workflows per run (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="runs, each with a fresh worker (default 5)")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between completion polls (default 0.25)")
    parser.add_argument("--timeout", type=float, default=300.0, help="time limit per run in seconds (default 300)")
    parser.add_argument(
        "--against", type=Path, default=None, help="another checkout to alternate with and compare against"
    )
    args = parser.parse_args()
    if args.workflows < 1 or args.runs < 1 or args.poll <= 0:
        parser.error("--workflows and --runs must be at least 1, --poll positive")
    if args.against is not None and not (args.against / "examples" / "pizza" / "worker.py").is_file():
        parser.error(f"--against {args.against}: not a checkout of this project (no examples/pizza/worker.py)")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.CRITICAL)
    against = None if args.against is None else args.against.resolve()
    return asyncio.run(benchmark(args.workflows, args.runs, args.poll, args.timeout, against))


if __name__ == "__main__":
    sys.exit(main())
