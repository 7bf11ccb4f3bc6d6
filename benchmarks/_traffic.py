"""What a run wrote to Kafka between two readings of its topics' end offsets: read back, and totalled by topic."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

Offsets = Mapping[TopicPartition, int]

READ_BATCH = 5000
"""At most how many messages one fetch returns while the run's messages are read back."""
READ_TIMEOUT = 120.0
"""Seconds reading the run's messages back may take."""


@dataclass(frozen=True)
class Traffic:
    """Messages and bytes (keys, values and headers) written to one topic."""

    messages: int = 0
    bytes: int = 0

    def __add__(self, other: Traffic) -> Traffic:
        return Traffic(self.messages + other.messages, self.bytes + other.bytes)


async def topic_partitions(bootstrap_servers: str, prefix: str) -> list[TopicPartition]:
    """Every partition of every topic whose name starts with ``prefix``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
        described = await admin.describe_topics(names) if names else []
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]


async def end_offsets(bootstrap_servers: str, prefix: str) -> dict[TopicPartition, int]:
    """The end offset of every partition of every topic whose name starts with ``prefix``."""
    partitions = await topic_partitions(bootstrap_servers, prefix)
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


SETTLE_SECONDS = 0.2
"""How long end offsets must stay the same to count as settled."""


async def settled_end_offsets(bootstrap_servers: str, prefix: str) -> dict[TopicPartition, int]:
    """:func:`end_offsets`, once two readings :data:`SETTLE_SECONDS` apart agree: what follows a worker's event
    (a finished listener leaving the correlation index) is written just after the event's save."""
    offsets = await end_offsets(bootstrap_servers, prefix)
    while True:
        await asyncio.sleep(SETTLE_SECONDS)
        again = await end_offsets(bootstrap_servers, prefix)
        if again == offsets:
            return again
        offsets = again


Visitor = Callable[[ConsumerRecord[bytes, bytes]], None]


async def read_back(bootstrap_servers: str, before: Offsets, after: Offsets, *visitors: Visitor) -> None:
    """Hand each of ``visitors`` every message written between the offsets ``before`` and ``after``, in order
    within each partition.

    A partition missing from ``before`` (its topic was created in between) is read from its first offset.
    """
    ranges = {tp: (before.get(tp, 0), end) for tp, end in after.items() if end > before.get(tp, 0)}
    if not ranges:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(ranges))
        for tp, (start, _) in ranges.items():
            consumer.seek(tp, start)
        async with asyncio.timeout(READ_TIMEOUT):
            await _read(consumer, ranges, visitors)
    finally:
        await consumer.stop()


async def _read(
    consumer: AIOKafkaConsumer, ranges: Mapping[TopicPartition, tuple[int, int]], visitors: Sequence[Visitor]
) -> None:
    remaining = set(ranges)
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=READ_BATCH)
        for tp, messages in batches.items():
            for message in messages:
                if message.offset < ranges[tp][1]:
                    for visit in visitors:
                        visit(message)
        for tp in list(remaining):
            if await consumer.position(tp) >= ranges[tp][1]:
                remaining.discard(tp)


class TrafficCount:
    """Totals, topic by topic, the messages it is handed."""

    def __init__(self) -> None:
        self.totals: dict[str, Traffic] = {}

    def add(self, message: ConsumerRecord[bytes, bytes]) -> None:
        """Count ``message``."""
        self.totals[message.topic] = self.totals.get(message.topic, Traffic()) + Traffic(1, _size(message))


def _size(message: ConsumerRecord[bytes, bytes]) -> int:
    headers = sum(len(name) + len(content or b"") for name, content in message.headers or ())
    return len(message.key or b"") + len(message.value or b"") + headers
