"""The two measurements of the scale benchmark, each on a worker of its own with a seeded state: events reaching
waiting workflows (with the worker's memory, rebuild and restart), and a timer tick among future timers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from benchmarks._changelog_watch import SaveWatch, ids_of
from benchmarks._changelogs import TIMERS, WAITING, SeedPlan, seed, waiting_order_id
from benchmarks._command import BenchmarkError
from benchmarks._scale_results import TimerResult, WaitingResult
from benchmarks._timer_workflow import DUE, TIMER_ID, timer_requests_topic
from examples.pizza.runner import WorkerError, WorkerProcess, send_messages
from examples.pizza.shop import ready_message

COMPLETED = "COMPLETED"
EXECUTING = "EXECUTING"
START_TIMEOUT = 60.0
"""Seconds a worker on an empty state may take to be ready."""
FUTURE = 365 * 24 * 3600
"""How far in the future the seeded timers are due, in seconds."""
DUE_LEAD = 4
"""Seconds between asking for the due timers and their due time: they must be created by then."""
BEFORE_DUE = 0.5
"""Seconds before the due time the tick's measurement starts."""
REST_SAMPLE = 3
"""How many of the completed workflows are read back over REST."""
ROCKSDB_THREADS = "rocksdb:"
"""How the names of RocksDB's background threads (flushes, compactions) begin."""
PROBE_TIMER = "probe"
PROBES = 2
"""Seeded workflows kept for the first event after the rebuild and after the restart."""


@dataclass(frozen=True)
class ScalePlan:
    """How the measurements go."""

    events: int
    due_timers: int = 100
    tick_rounds: int = 5
    """How many ticks firing ``due_timers`` timers are measured, one after the other."""
    tick_seconds: float = 1.0
    """The worker's timer tick period (``trigger_interval``)."""
    idle_seconds: float = 10.0
    """How long the quiet interval with no timer due lasts."""
    processes: int = 2
    """Processes that seed the state."""
    timeout: float = 1800.0
    """Seconds the recovery of a seeded state, or the handling of the events, may take."""


class ScaleWorker(WorkerProcess):
    """``python -m benchmarks.scale_worker``."""

    module = "benchmarks.scale_worker"


def spread(count: int, among: int) -> list[int]:
    """``count`` distinct numbers spread evenly over ``range(among)``."""
    if count > among:
        raise ValueError(f"cannot pick {count} of {among}")
    return [number * among // count for number in range(count)]


@asynccontextmanager
async def seeded_worker(
    broker: str, plan: ScalePlan, kind: str, count: int, due: int = 0
) -> AsyncIterator[tuple[ScaleWorker, float]]:
    """A worker (not running) whose changelogs hold ``count`` seeded workflows of ``kind``, and the seconds the
    seeding took; its topics and data dir are deleted when the block ends.

    The worker is started once on its own first, so that it creates its topics as it always does.
    """
    worker = ScaleWorker(broker, prefix="scale-bench", env={"SCALE_TICK_SECONDS": f"{plan.tick_seconds:g}"})
    settings = worker.settings
    try:
        async with aiohttp.ClientSession() as session:
            worker.start()
            await worker.wait_ready(session, START_TIMEOUT)
        worker.stop()
        worker.remove_data()
        started = time.perf_counter()
        await seed(
            SeedPlan(settings.bootstrap_servers, settings.application_name, settings.topics, kind, count, due),
            plan.processes,
        )
        yield worker, time.perf_counter() - started
    except WorkerError as error:
        raise BenchmarkError(f"{error}\n{worker.log_tail()}") from None
    except TimeoutError:
        raise BenchmarkError(f"timed out after {plan.timeout:.0f} s\n{worker.log_tail()}") from None
    finally:
        worker.stop()
        log = worker.log_lines()
        worker.remove_workdir()
        await delete_topics(settings.bootstrap_servers, settings.application_name)
    if log:
        shown = "".join(f"\n    {line}" for line in log[:3])
        print(f"  note: the worker logged {len(log)} lines, the first:{shown}")


async def delete_topics(bootstrap_servers: str, prefix: str) -> None:
    """Delete every topic whose name starts with ``prefix``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


@asynccontextmanager
async def connected(worker: WorkerProcess) -> AsyncIterator[tuple[aiohttp.ClientSession, AIOKafkaProducer, SaveWatch]]:
    """A web session, a producer and a watch of the worker's saves, for the measurements."""
    settings = worker.settings
    watch = SaveWatch(settings.bootstrap_servers, settings.application_name)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
    await watch.start()
    await producer.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield session, producer, watch
    finally:
        await producer.stop()
        await watch.stop()


@dataclass(frozen=True)
class StartTimes:
    """How long a worker took to start: until it was ready, until its first event was handled, and the CPU time
    it had used by then."""

    ready_seconds: float
    event_seconds: float
    cpu_seconds: float


async def timed_start(
    worker: WorkerProcess, session: aiohttp.ClientSession, first_event: Awaitable[None], timeout: float
) -> StartTimes:
    """Start the worker; time it until it is ready and until ``first_event`` (awaited once it is ready: it sends
    an event and waits until the event has been handled) is done."""
    started = time.perf_counter()
    worker.start()
    await worker.wait_ready(session, timeout)
    ready = time.perf_counter() - started
    await asyncio.wait_for(first_event, timeout)
    return StartTimes(ready, time.perf_counter() - started, worker.cpu_seconds())


async def completed(
    producer: AIOKafkaProducer, worker: WorkerProcess, watch: SaveWatch, order_id: str, timeout: float
) -> None:
    """Send the "ready" message of ``order_id`` and wait until its workflow is saved COMPLETED."""
    await send_ready(producer, worker, [order_id])
    await watch.wait_for(ids_of([order_id]), COMPLETED, timeout)


async def created(producer: AIOKafkaProducer, watch: SaveWatch, topic: str, timeout: float) -> None:
    """Ask for a timer workflow due in a year and wait until it is saved, created and started."""
    await send_timers(producer, topic, [PROBE_TIMER], int(time.time()) + FUTURE)
    await watch.wait_for(ids_of([PROBE_TIMER]), EXECUTING, timeout)


async def send_ready(producer: AIOKafkaProducer, worker: WorkerProcess, order_ids: Sequence[str]) -> None:
    """Send the shop's "ready" message of each order."""
    messages = ((order_id, ready_message(order_id)) for order_id in order_ids)
    await send_messages(producer, worker.settings.topics.ready, messages)


async def measure_waiting(broker: str, plan: ScalePlan, waiting: int) -> WaitingResult:
    """Seed ``waiting`` pizza workflows; rebuild a worker from them, complete ``plan.events`` of them, read its
    memory, restart it on its data dir."""
    chosen = [waiting_order_id(number) for number in spread(plan.events + PROBES, waiting)]
    rebuild_probe, restart_probe, events = chosen[0], chosen[1], chosen[PROBES:]
    async with (
        seeded_worker(broker, plan, WAITING, waiting) as (worker, seed_seconds),
        connected(worker) as (session, producer, watch),
    ):
        rebuild_event = completed(producer, worker, watch, rebuild_probe, plan.timeout)
        rebuild = await timed_start(worker, session, rebuild_event, plan.timeout)
        cpu_before, rocksdb_before = worker.cpu_seconds(), worker.threads_cpu_seconds(ROCKSDB_THREADS)
        await send_ready(producer, worker, events)
        await watch.wait_for(ids_of(events), COMPLETED, plan.timeout)
        event_cpu = worker.cpu_seconds() - cpu_before
        rocksdb_cpu = worker.threads_cpu_seconds(ROCKSDB_THREADS) - rocksdb_before
        rss, peak_rss = worker.rss_bytes(), worker.peak_rss_bytes()
        verified = await delivered(worker, session, ids_of(events[:REST_SAMPLE]))
        worker.stop()
        restart_event = completed(producer, worker, watch, restart_probe, plan.timeout)
        restart = await timed_start(worker, session, restart_event, plan.timeout)
    return WaitingResult(
        waiting=waiting,
        seed_seconds=seed_seconds,
        rebuild_ready_seconds=rebuild.ready_seconds,
        rebuild_event_seconds=rebuild.event_seconds,
        rebuild_cpu_seconds=rebuild.cpu_seconds,
        events=len(events),
        event_cpu_seconds=event_cpu,
        event_rocksdb_cpu_seconds=rocksdb_cpu,
        rss_bytes=rss,
        peak_rss_bytes=peak_rss,
        restart_ready_seconds=restart.ready_seconds,
        restart_event_seconds=restart.event_seconds,
        verified=verified,
        sampled=min(REST_SAMPLE, len(events)),
    )


async def delivered(worker: WorkerProcess, session: aiohttp.ClientSession, workflow_ids: Sequence[str]) -> int:
    """How many of ``workflow_ids`` ``GET /tasks/instance/{id}`` shows COMPLETED with the pizza delivered."""
    count = 0
    for workflow_id_text in workflow_ids:
        async with session.get(f"{worker.base_url}/tasks/instance/{workflow_id_text}") as response:
            if response.status != 200:
                continue
            workflow = json.loads(await response.read())
        parameters = workflow.get("runtime_parameters", {})
        count += workflow["status"]["code"] == COMPLETED and parameters.get("delivered") == "yes"
    return count


async def measure_timers(broker: str, plan: ScalePlan, future: int) -> TimerResult:
    """Seed ``future`` timer workflows due in a year; rebuild a worker from them, measure it idle, then the tick
    that fires ``plan.due_timers`` timers created to fall due together."""
    due_in_a_year = int(time.time()) + FUTURE
    async with (
        seeded_worker(broker, plan, TIMERS, future, due_in_a_year) as (worker, seed_seconds),
        connected(worker) as (session, producer, watch),
    ):
        topic = timer_requests_topic(worker.settings.application_name)
        rebuild = await timed_start(worker, session, created(producer, watch, topic, plan.timeout), plan.timeout)
        idle_started, idle_cpu_before = time.perf_counter(), worker.cpu_seconds()
        await asyncio.sleep(plan.idle_seconds)
        idle_cpu, idle_seconds = worker.cpu_seconds() - idle_cpu_before, time.perf_counter() - idle_started
        tick_cpu = tick_seconds = 0.0
        for round_number in range(plan.tick_rounds):
            timers = [f"due-{round_number}-{number:04d}" for number in range(plan.due_timers)]
            cpu, seconds = await due_tick(worker, producer, watch, timers, plan.timeout)
            tick_cpu, tick_seconds = tick_cpu + cpu, tick_seconds + seconds
        rss, peak_rss = worker.rss_bytes(), worker.peak_rss_bytes()
    return TimerResult(
        future=future,
        due=plan.due_timers,
        rounds=plan.tick_rounds,
        seed_seconds=seed_seconds,
        rebuild_event_seconds=rebuild.event_seconds,
        idle_cpu_seconds=idle_cpu,
        idle_seconds=idle_seconds,
        tick_cpu_seconds=tick_cpu,
        tick_seconds=tick_seconds,
        rss_bytes=rss,
        peak_rss_bytes=peak_rss,
    )


async def due_tick(
    worker: WorkerProcess, producer: AIOKafkaProducer, watch: SaveWatch, timers: Sequence[str], timeout: float
) -> tuple[float, float]:
    """Have ``timers`` created to fall due together, ``DUE_LEAD`` seconds ahead; return the worker's CPU time
    and the seconds from ``BEFORE_DUE`` seconds before their due time to seeing them all COMPLETED."""
    due = int(time.time()) + DUE_LEAD
    await send_timers(producer, timer_requests_topic(worker.settings.application_name), timers, due)
    await watch.wait_for(ids_of(timers), EXECUTING, timeout)
    if time.time() > due - BEFORE_DUE:
        raise BenchmarkError(f"creating the {len(timers)} due timers took more than {DUE_LEAD - BEFORE_DUE} s")
    await asyncio.sleep(due - BEFORE_DUE - time.time())
    started, cpu_before = time.perf_counter(), worker.cpu_seconds()
    await watch.wait_for(ids_of(timers), COMPLETED, timeout)
    return worker.cpu_seconds() - cpu_before, time.perf_counter() - started


async def send_timers(producer: AIOKafkaProducer, topic: str, timer_ids: Sequence[str], due: int) -> None:
    """Ask the worker for one timer workflow per id, due at epoch second ``due``."""
    messages = ((timer_id, json.dumps({TIMER_ID: timer_id, DUE: due}).encode()) for timer_id in timer_ids)
    await send_messages(producer, topic, messages)
