"""A pizza shop on Kafka: it reads orders and answers each with a "ready" message."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from examples.pizza.workflow import DEFAULT_TOPICS, PizzaTopics


class PizzaShop:
    """Bakes every order read from the orders topic and reports it ready on the ready topic."""

    def __init__(self, bootstrap_servers: str, topics: PizzaTopics = DEFAULT_TOPICS) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.orders: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PizzaShop:
        self._consumer = AIOKafkaConsumer(
            self.topics.orders,
            bootstrap_servers=self.bootstrap_servers,
            group_id=f"pizza-shop-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
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
            order = json.loads(record.value)
            self.orders.append(order)
            await self.say_ready(order["order_id"])

    async def say_ready(self, order_id: str, **extra: Any) -> None:
        """Report ``order_id`` ready (with ``extra`` fields in the message)."""
        message = {"order_id": order_id, "status": "ready", "oven": "wood-fired", **extra}
        await self._producer.send(self.topics.ready, key=order_id.encode(), value=json.dumps(message).encode())
