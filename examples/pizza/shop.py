"""A pizza shop on Kafka: it reads orders and answers each with a "ready" message."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from examples.kafka_service import KafkaService
from examples.pizza.workflow import DEFAULT_TOPICS, PizzaTopics


class PizzaShop(KafkaService):
    """Bakes every order read from the orders topic and reports it ready on the ready topic.

    ``orders`` keeps every order answered, in arrival order: an order is added once its "ready" message
    is handed to the producer, which sends it at the latest when the shop closes.
    """

    group_prefix = "pizza-shop"

    def __init__(self, bootstrap_servers: str, topics: PizzaTopics = DEFAULT_TOPICS) -> None:
        super().__init__(bootstrap_servers)
        self.topics = topics
        self.orders: list[dict[str, Any]] = []

    def subscriptions(self) -> Sequence[str]:
        """The orders topic."""
        return [self.topics.orders]

    async def handle(self, topic: str, message: dict[str, Any]) -> None:
        """Report the order ready, then keep it."""
        await self.say_ready(message["order_id"])
        self.orders.append(message)

    async def say_ready(self, order_id: str, **extra: Any) -> None:
        """Report ``order_id`` ready (with ``extra`` fields in the message)."""
        await self.send(self.topics.ready, order_id, ready_message(order_id, **extra))


def ready_message(order_id: str, **extra: Any) -> bytes:
    """The value of the shop's "ready" message for ``order_id`` (with ``extra`` fields); its key is the order id."""
    return json.dumps({"order_id": order_id, "status": "ready", "oven": "wood-fired", **extra}).encode()
