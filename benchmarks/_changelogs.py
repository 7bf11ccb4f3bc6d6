"""Seeding a worker's tables before it starts: the records of :mod:`benchmarks._seeding` written straight to the
tables' changelogs, by several processes at once, in large batches, so that the worker recovers them."""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

from aiokafka import AIOKafkaProducer

from benchmarks._seeding import PARTITION, StateBuilder, TableRecords, changelog_topic, state_builder
from examples.pizza.workflow import PizzaTopics

WAITING = "waiting"
"""Pizza workflows waiting for their "ready" message."""
TIMERS = "timers"
"""Timer workflows waiting for a due time."""

SEED_BATCH = 1000
"""Workflows created between two writes to the changelogs."""
LINGER_MS = 50
MAX_BATCH_BYTES = 512 * 1024
"""Below the broker's default largest message (1 MiB), which a batch must fit in."""


def waiting_order_id(number: int) -> str:
    """The order id of the ``number``-th seeded pizza workflow."""
    return f"waiting-{number:07d}"


def future_timer_id(number: int) -> str:
    """The timer id of the ``number``-th seeded timer workflow."""
    return f"future-{number:07d}"


@dataclass(frozen=True)
class SeedPlan:
    """What to seed: ``count`` workflows of ``kind`` for the worker of ``application_name``."""

    bootstrap_servers: str
    application_name: str
    topics: PizzaTopics
    kind: str
    count: int
    due: int = 0
    """The due time of seeded timers, in epoch seconds."""

    async def records(self, builder: StateBuilder, numbers: range) -> TableRecords:
        """The table records of the workflows numbered ``numbers``."""
        if self.kind == WAITING:
            return await builder.waiting_pizzas(waiting_order_id(number) for number in numbers)
        return await builder.future_timers((future_timer_id(number) for number in numbers), self.due)


def slices(count: int, parts: int) -> list[range]:
    """Split ``range(count)`` into at most ``parts`` consecutive ranges of nearly equal length, none empty."""
    size, extra = divmod(count, parts)
    found, start = [], 0
    for part in range(parts):
        stop = start + size + (1 if part < extra else 0)
        if stop > start:
            found.append(range(start, stop))
        start = stop
    return found


async def seed(plan: SeedPlan, processes: int) -> int:
    """Write the records of ``plan`` to the changelogs from ``processes`` processes; return how many."""
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        written = await asyncio.gather(
            *(loop.run_in_executor(pool, seed_slice, plan, part) for part in slices(plan.count, processes))
        )
    return sum(written)


def seed_slice(plan: SeedPlan, numbers: range) -> int:
    """Create the workflows numbered ``numbers`` and write their records; return how many (in a child process)."""
    return asyncio.run(_write_slice(plan, numbers))


async def _write_slice(plan: SeedPlan, numbers: range) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=plan.bootstrap_servers, linger_ms=LINGER_MS, max_batch_size=MAX_BATCH_BYTES, acks=1
    )
    await producer.start()
    written = 0
    try:
        with state_builder(plan.topics) as builder:
            for start in range(numbers.start, numbers.stop, SEED_BATCH):
                records = await plan.records(builder, range(start, min(start + SEED_BATCH, numbers.stop)))
                written += await _send(producer, plan.application_name, records)
    finally:
        await producer.stop()
    return written


async def _send(producer: AIOKafkaProducer, application_name: str, records: TableRecords) -> int:
    sent: list[asyncio.Future[object]] = []
    for table, entries in records.by_table.items():
        topic = changelog_topic(application_name, table)
        sent.extend([await producer.send(topic, value, key=key, partition=PARTITION) for key, value in entries])
    await asyncio.gather(*sent)
    return len(sent)
