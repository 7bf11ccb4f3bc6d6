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

import json
import zlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from examples.kafka_service import KafkaService
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


class OrderServices(KafkaService):
    """Answers the order workflow's commands until the ``async with`` block ends.

    ``received`` keeps every command read, by topic name, in arrival order.
    """

    group_prefix = "order-services"

    def __init__(self, bootstrap_servers: str, topics: OrderTopics = DEFAULT_TOPICS) -> None:
        super().__init__(bootstrap_servers)
        self.topics = topics
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def subscriptions(self) -> Sequence[str]:
        """The topics of the payment requests, the warehouse commands and the carrier bookings."""
        return [self.topics.payment_requests, self.topics.warehouse_commands, self.topics.carrier_bookings]

    async def handle(self, topic: str, message: dict[str, Any]) -> None:
        """Keep the command and answer it as the service it is meant for."""
        self.received[topic].append(message)
        if topic == self.topics.payment_requests:
            order_id = message["order_id"]
            await self.send(
                self.topics.payment_confirmations, order_id, payment_confirmation(order_id, reserved_box_id(order_id))
            )
        elif topic == self.topics.warehouse_commands and message.get("action") == "seal":
            await self.send(
                self.topics.warehouse_reports, message["box_id"], warehouse_report(message["box_id"], "sealed")
            )
        elif topic == self.topics.carrier_bookings and message["parcel"] == message["parcels"]:
            order_id = message["order_id"]
            carrier = carrier_for(order_id)
            await self.send(self.topics.carrier_pickups(carrier), order_id, carrier_pickup(order_id, carrier))
