"""The services the order workflow talks to, played on Kafka: a payment provider, a warehouse and two
carriers. Each reads the commands on its topic and answers as the workflow's listeners expect.

- The payment provider confirms every payment request: the confirmation names the box the warehouse
  reserved for the order (:func:`reserved_box_id`).
- The warehouse does nothing visible on a ``pick`` and reports the box ``sealed`` on a ``seal``.
- The carrier of the order (:func:`carrier_for`) reports the pickup once the order's last parcel is booked;
  the other carrier never answers.

The message builders are what the services send; a test can send them itself instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
import zlib
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from examples.order.workflow import DEFAULT_TOPICS, OrderTopics


def reserved_box_id(order_id: str) -> str:
    """The box the warehouse reserves for ``order_id``."""
    return f"box-{order_id}"


def carrier_for(order_id: str) -> str:
    """The carrier (``a`` or ``b``) that picks ``order_id`` up."""
    return "ab"[zlib.crc32(order_id.encode()) % 2]


def payment_confirmation(order_id: str, box_id: str, status: str = "paid") -> bytes:
    """The provider's answer to a payment request."""
    message = {"order_id": order_id, "status": status, "reference": f"pay-{order_id}", "box_id": box_id}
    return json.dumps(message).encode()


def warehouse_report(box_id: str, status: str, weight_kg: float = 2.5) -> bytes:
    """The warehouse's report on a box (``picking``, ``weighed``, ``sealed``, ...)."""
    return json.dumps({"box_id": box_id, "status": status, "weight_kg": weight_kg}).encode()


def carrier_pickup(order_id: str, carrier: str) -> bytes:
    """A carrier's report that it picked the order up."""
    return json.dumps({"order_id": order_id, "status": "picked_up", "carrier": carrier}).encode()


class OrderServices:
    """Answers the order workflow's commands until the ``async with`` block ends.

    ``received`` keeps every command read, by topic name, in arrival order.
    """

    def __init__(self, bootstrap_servers: str, topics: OrderTopics = DEFAULT_TOPICS) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OrderServices:
        self._consumer = AIOKafkaConsumer(
            self.topics.payment_requests,
            self.topics.warehouse_commands,
            self.topics.carrier_bookings,
            bootstrap_servers=self.bootstrap_servers,
            group_id=f"order-services-{uuid.uuid4().hex[:8]}",
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
            command = json.loads(record.value)
            self.received[record.topic].append(command)
            await self._answer(record.topic, command)

    async def _answer(self, topic: str, command: dict[str, Any]) -> None:
        if topic == self.topics.payment_requests:
            order_id = command["order_id"]
            await self._send(
                self.topics.payment_confirmations, order_id, payment_confirmation(order_id, reserved_box_id(order_id))
            )
        elif topic == self.topics.warehouse_commands and command.get("action") == "seal":
            await self._send(
                self.topics.warehouse_reports, command["box_id"], warehouse_report(command["box_id"], "sealed")
            )
        elif topic == self.topics.carrier_bookings and command["parcel"] == command["parcels"]:
            order_id = command["order_id"]
            carrier = carrier_for(order_id)
            await self._send(self.topics.carrier_pickups(carrier), order_id, carrier_pickup(order_id, carrier))

    async def _send(self, topic: str, key: str, value: bytes) -> None:
        await self._producer.send(topic, key=key.encode(), value=value)
