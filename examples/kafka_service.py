"""A service played on Kafka for the examples: it reads JSON messages on some topics and answers on others."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord


class KafkaService(ABC):
    """Serves the messages of :meth:`subscriptions` until the ``async with`` block ends.

    On entry it starts a consumer of those topics (in a consumer group of its own, from the earliest
    offset, reading committed messages only: what an engine running exactly-once sent in a transaction
    it never committed is not seen), a producer and the task that hands each message, decoded from
    JSON, to :meth:`handle`;
    :meth:`send` answers. On exit it stops all three.
    """

    group_prefix: ClassVar[str] = "service"
    """The start of the consumer group's name; a fresh suffix follows it on every entry."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    def subscriptions(self) -> Sequence[str]:
        """The topics the service reads."""

    @abstractmethod
    async def handle(self, topic: str, message: dict[str, Any]) -> None:
        """Answer ``message``, read on ``topic``."""

    async def handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Answer one consumed record; by default its JSON value goes to :meth:`handle`."""
        await self.handle(record.topic, json.loads(record.value or b"null"))

    async def send(self, topic: str, key: str | None, value: bytes) -> None:
        """Send ``value`` on ``topic``, keyed by ``key`` (None: no key)."""
        await self._producer.send(topic, key=None if key is None else key.encode(), value=value)

    async def __aenter__(self) -> Self:
        self._consumer = AIOKafkaConsumer(
            *self.subscriptions(),
            bootstrap_servers=self.bootstrap_servers,
            group_id=f"{self.group_prefix}-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, linger_ms=5)
        await self._consumer.start()
        await self._producer.start()
        self._task = asyncio.create_task(self._serve())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()
        await self._producer.stop()

    async def _serve(self) -> None:
        async for record in self._consumer:
            await self.handle_record(record)
