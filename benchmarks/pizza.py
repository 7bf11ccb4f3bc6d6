"""Pizza workflow throughput and worker CPU time per workflow, on a running Kafka broker.

``python -m benchmarks.pizza [--workflows N] [--runs R] [--poll SECONDS] [--timeout SECONDS]``;
the broker is ``DAGGER_BROKER`` (default ``kafka://127.0.0.1:9092``). See ``benchmarks/README.md``.
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
from dataclasses import dataclass

import aiohttp
from aiokafka import AIOKafkaProducer

from examples.pizza.runner import WorkerError, WorkerProcess, check_broker, send_requests
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

    @property
    def per_second(self) -> float:
        """Workflows completed per wall-clock second."""
        return self.workflows / self.wall_seconds

    @property
    def cpu_ms_per_workflow(self) -> float:
        """Worker CPU milliseconds per workflow."""
        return self.cpu_seconds * 1000 / self.workflows


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


async def one_run(broker: str, workflows: int, poll: float, timeout: float) -> RunResult:
    """Start a fresh worker, complete a warm-up order, then time a burst of ``workflows`` orders."""
    worker = WorkerProcess(broker, prefix="pizza-bench")
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
                    cpu_start, started = worker.cpu_seconds(), time.perf_counter()
                    await send_requests(producer, settings.requests_topic, order_ids)
                    finished, cpu_end = await wait_all_completed(worker, session, order_ids, poll)
                finally:
                    await producer.stop()
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
    return RunResult(workflows=workflows, wall_seconds=finished - started, cpu_seconds=cpu_end - cpu_start)


async def benchmark(workflows: int, runs: int, poll: float, timeout: float) -> int:
    """Run the benchmark ``runs`` times and print each run and the medians; return the exit code."""
    broker = os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092")
    try:
        await check_broker(broker.split("://", 1)[-1])
    except WorkerError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    print(
        f"pizza benchmark: {workflows} workflows x {runs} runs, broker {broker}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    header = f"{'run':>6}  {'wall s':>8}  {'workflows/s':>11}  {'worker CPU ms/workflow':>22}"
    print(header)
    results: list[RunResult] = []
    for number in range(1, runs + 1):
        try:
            result = await one_run(broker, workflows, poll, timeout)
        except BenchmarkError as error:
            print(f"FAILED: run {number}: {error}", file=sys.stderr)
            return 1
        results.append(result)
        print(row(str(number), result.wall_seconds, result.per_second, result.cpu_ms_per_workflow), flush=True)
    print(
        row(
            "median",
            statistics.median(r.wall_seconds for r in results),
            statistics.median(r.per_second for r in results),
            statistics.median(r.cpu_ms_per_workflow for r in results),
        )
    )
    print(f"command: python -m benchmarks.pizza --workflows {workflows} --runs {runs} --poll {poll:g}")
    return 0


def row(label: str, wall: float, per_second: float, cpu_ms: float) -> str:
    """One line of the results table."""
    return f"{label:>6}  {wall:>8.2f}  {per_second:>11.1f}  {cpu_ms:>22.2f}"


def main() -> int:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pizza", description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=1000, help="workflows per run (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="runs, each with a fresh worker (default 5)")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between completion polls (default 0.25)")
    parser.add_argument("--timeout", type=float, default=300.0, help="time limit per run in seconds (default 300)")
    args = parser.parse_args()
    if args.workflows < 1 or args.runs < 1 or args.poll <= 0:
        parser.error("--workflows and --runs must be at least 1, --poll positive")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.CRITICAL)
    return asyncio.run(benchmark(args.workflows, args.runs, args.poll, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
