"""Poison messages for the listener topics, and reading back what the workers made of them."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from dagger.wire import REASON, SOURCE_OFFSET, SOURCE_PARTITION, SOURCE_TOPIC
from reliability.workflow import MAX_MESSAGE_BYTES, JobTopics

SOURCE = (SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET)


@dataclass(frozen=True)
class Poison:
    """One bad message: where it goes, what it is, and the dead-letter reason it must get."""

    name: str
    topic: str
    key: bytes | None
    value: bytes | None
    reason: str


def poisons(topics: JobTopics, hostage_job: str) -> list[Poison]:
    """One message per kind of poison; the last makes user code raise on the waiting ``hostage_job``."""
    oversized = json.dumps({"ticket": "nobody", "padding": "x" * MAX_MESSAGE_BYTES}).encode()
    return [
        Poison("undecodable bytes", topics.reserved, b"poison", b"\xff\xfe{ not json", "correlation-failed"),
        Poison("JSON of the wrong shape", topics.reserved, None, b"[1, 2, 3]", "correlation-failed"),
        Poison("correlation key missing", topics.confirmed, None, b'{"step": "confirm"}', "correlation-failed"),
        Poison(
            "correlation key of the wrong type",
            topics.reserved,
            b"poison",
            b'{"job_id": {"id": 7}, "step": "reserve"}',
            "no-correlation-value",
        ),
        Poison("key matching nothing", topics.confirmed, None, b'{"ticket": "nobody"}', "unmatched"),
        Poison("oversized", topics.confirmed, None, oversized, "oversized"),
        Poison("tombstone", topics.reserved, b"poison", None, "tombstone"),
        Poison(
            "on_message raising",
            topics.reserved,
            None,
            json.dumps({"job_id": hostage_job, "step": "reserve", "fail": True}).encode(),
            "on-message-failed",
        ),
    ]


Position = tuple[str, int, int]
"""A message's topic, partition and offset."""


async def inject(bootstrap_servers: str, batch: list[Poison]) -> dict[Position, Poison]:
    """Send each poison message; return them by the position they got."""
    sent: dict[Position, Poison] = {}
    async with AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, max_request_size=2 * MAX_MESSAGE_BYTES
    ) as producer:
        for poison in batch:
            metadata = await producer.send_and_wait(poison.topic, key=poison.key, value=poison.value)
            sent[(metadata.topic, metadata.partition, metadata.offset)] = poison
    return sent


async def dead_letter_reasons(
    bootstrap_servers: str, topic: str, wanted: set[Position], timeout: float
) -> dict[Position, list[str]]:
    """The dead-letter reasons recorded for the messages at ``wanted``, read from ``topic`` until each has one or
    the time is up."""
    found: dict[Position, list[str]] = {}
    deadline = time.monotonic() + timeout
    async with AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest") as consumer:
        while time.monotonic() < deadline and not wanted <= found.keys():
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    headers = {name: value.decode() for name, value in record.headers}
                    if all(name in headers for name in SOURCE):
                        position = (headers[SOURCE[0]], int(headers[SOURCE[1]]), int(headers[SOURCE[2]]))
                        if position in wanted:
                            found.setdefault(position, []).append(headers.get(REASON, ""))
            await asyncio.sleep(0)
    return found
