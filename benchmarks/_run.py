"""One run of the pizza benchmark: a fresh worker, a warm-up order, then the measured orders, in a burst or paced."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer

from benchmarks._changelog_watch import SaveWatch, ids_of
from benchmarks._command import BenchmarkError
from benchmarks._latency import COMPLETED, TimestampLog
from benchmarks._pacing import paced
from benchmarks._results import RunResult
from benchmarks._traffic import TrafficCount, read_back, settled_end_offsets
from examples.pizza.runner import ROOT, WorkerError, WorkerProcess, pizza_request, send_requests
from examples.pizza.shop import PizzaShop

READY_TIMEOUT = 60.0
WARM_UP_ORDER = "warm-up"
BURST_LINGER_MS = 5
"""The request producer's linger in a burst, so that requests go in batches; paced requests go at once."""


@dataclass(frozen=True)
class RunPlan:
    """How a run goes."""

    workflows: int
    timeout: float
    """Seconds the whole run may take."""
    rate: float | None = None
    """Requests per second, evenly spaced; None: all in one burst."""
    create_concurrency: int | None = None
    """Requests the worker handles at once (``PIZZA_CREATE_CONCURRENCY``); None: the worker's default."""


async def send_paced(producer: AIOKafkaProducer, topic: str, order_ids: list[str], rate: float) -> None:
    """Send one pizza request per order id, ``rate`` per second, and wait until the broker has them all."""
    sent = []

    async def send(order_id: str) -> None:
        sent.append(await producer.send(topic, key=order_id.encode(), value=pizza_request(order_id)))

    await paced(order_ids, rate, send)
    await asyncio.gather(*sent)


async def one_run(broker: str, plan: RunPlan, root: Path = ROOT) -> RunResult:
    """Start a fresh worker from checkout ``root``, complete a warm-up order, then time ``plan.workflows`` orders
    and read back what was written to Kafka meanwhile."""
    env = {} if plan.create_concurrency is None else {"PIZZA_CREATE_CONCURRENCY": str(plan.create_concurrency)}
    worker = WorkerProcess(broker, prefix="pizza-bench", env=env, root=root)
    settings = worker.settings
    order_ids = [f"order-{number:06d}" for number in range(plan.workflows)]
    linger_ms = BURST_LINGER_MS if plan.rate is None else 0
    try:
        async with asyncio.timeout(plan.timeout), aiohttp.ClientSession() as session:
            worker.start()
            await worker.wait_ready(session, READY_TIMEOUT)
            async with (
                PizzaShop(settings.bootstrap_servers, settings.topics) as shop,
                SaveWatch(settings.bootstrap_servers, settings.application_name) as saves,
            ):
                producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=linger_ms)
                await producer.start()
                try:
                    await send_requests(producer, settings.requests_topic, [WARM_UP_ORDER])
                    await saves.wait_for(ids_of([WARM_UP_ORDER]), COMPLETED, plan.timeout)
                    before = await settled_end_offsets(settings.bootstrap_servers, settings.application_name)
                    cpu_start, started = worker.cpu_seconds(), time.perf_counter()
                    if plan.rate is None:
                        await send_requests(producer, settings.requests_topic, order_ids)
                    else:
                        await send_paced(producer, settings.requests_topic, order_ids, plan.rate)
                    await saves.wait_for(ids_of(order_ids), COMPLETED, plan.timeout)
                    finished, cpu_end = time.perf_counter(), worker.cpu_seconds()
                    peak_rss, end_rss = worker.peak_rss_bytes(), worker.rss_bytes()
                    after = await settled_end_offsets(settings.bootstrap_servers, settings.application_name)
                finally:
                    await producer.stop()
                count, timestamps = TrafficCount(), TimestampLog(settings.requests_topic, settings.topics.ready)
                await read_back(settings.bootstrap_servers, before, after, count.add, timestamps.add)
                if len(shop.orders) != plan.workflows + 1:
                    print(f"  note: the shop received {len(shop.orders)} orders, expected {plan.workflows + 1}")
    except TimeoutError:
        raise BenchmarkError(f"the run did not finish in {plan.timeout:.0f} s\n{worker.log_tail()}") from None
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
    times = timestamps.workflow_times(order_ids)
    if len(times) != plan.workflows:
        print(f"  note: the latency of {len(times)} of {plan.workflows} workflows could be matched")
    not_the_workers = (settings.requests_topic, settings.topics.ready)
    return RunResult(
        workflows=plan.workflows,
        wall_seconds=finished - started,
        cpu_seconds=cpu_end - cpu_start,
        peak_rss_bytes=peak_rss,
        end_rss_bytes=end_rss,
        traffic={
            topic.removeprefix(f"{settings.application_name}-"): amount
            for topic, amount in count.totals.items()
            if topic not in not_the_workers
        },
        times=times,
    )
