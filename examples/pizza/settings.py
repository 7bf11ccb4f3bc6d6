"""Settings of the pizza worker, read from environment variables, and the workflow id of an order.

| variable | default |
| --- | --- |
| `DAGGER_BROKER` | `kafka://127.0.0.1:9092` |
| `DAGGER_WEB_PORT` | `6066` |
| `DAGGER_DATADIR` | `<tmp>/dagger-<application name>` |
| `DAGGER_APP_NAME` | `pizza-worker` |
| `DAGGER_TASKS_TOPIC` | `<application name>-tasks` |
| `DAGGER_BOOTSTRAP_TOPIC` | `<application name>-bootstrap` |
| `PIZZA_REQUESTS_TOPIC` | `<application name>-requests` |
| `PIZZA_ORDERS_TOPIC` | `<application name>-orders` |
| `PIZZA_READY_TOPIC` | `<application name>-ready` |
| `PIZZA_CANCELLATIONS_TOPIC` | `<application name>-cancellations` |
| `DAGGER_LOG_LEVEL` | `WARNING` |
| `DAGGER_PARTITIONS` | `1` |
| `DAGGER_PROCESSING_GUARANTEE` | `at_least_once` |
| `PIZZA_CREATE_CONCURRENCY` | `8` |
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from examples.pizza.workflow import PizzaTopics

ORDER_NAMESPACE = uuid.UUID("6f1d3a52-8c1e-4b7a-9f0e-2d4c5b6a7e80")


@dataclass(frozen=True)
class WorkerSettings:
    """Everything the pizza worker is configured with."""

    broker: str
    web_port: int
    datadir: str
    application_name: str
    tasks_topic: str
    bootstrap_topic: str
    requests_topic: str
    cancellations_topic: str
    topics: PizzaTopics
    log_level: str
    partitions: int = 1
    processing_guarantee: str = "at_least_once"
    create_concurrency: int = 8
    """Requests the worker handles at once: a creation waits until the broker has acknowledged its order command."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> WorkerSettings:
        """Read the settings from ``env``; every name not given derives from the application name."""
        name = env.get("DAGGER_APP_NAME", "pizza-worker")
        return cls(
            broker=env.get("DAGGER_BROKER", "kafka://127.0.0.1:9092"),
            web_port=int(env.get("DAGGER_WEB_PORT", "6066")),
            datadir=env.get("DAGGER_DATADIR", os.path.join(tempfile.gettempdir(), f"dagger-{name}")),
            application_name=name,
            tasks_topic=env.get("DAGGER_TASKS_TOPIC", f"{name}-tasks"),
            bootstrap_topic=env.get("DAGGER_BOOTSTRAP_TOPIC", f"{name}-bootstrap"),
            requests_topic=env.get("PIZZA_REQUESTS_TOPIC", f"{name}-requests"),
            cancellations_topic=env.get("PIZZA_CANCELLATIONS_TOPIC", f"{name}-cancellations"),
            topics=PizzaTopics(
                orders=env.get("PIZZA_ORDERS_TOPIC", f"{name}-orders"),
                ready=env.get("PIZZA_READY_TOPIC", f"{name}-ready"),
            ),
            log_level=env.get("DAGGER_LOG_LEVEL", "WARNING"),
            partitions=int(env.get("DAGGER_PARTITIONS", "1")),
            processing_guarantee=env.get("DAGGER_PROCESSING_GUARANTEE", "at_least_once"),
            create_concurrency=int(env.get("PIZZA_CREATE_CONCURRENCY", "8")),
        )

    @property
    def bootstrap_servers(self) -> str:
        """The broker as ``host:port`` for plain Kafka clients."""
        return self.broker.split("://", 1)[-1]


def workflow_id(order_id: str) -> uuid.UUID:
    """The id of the workflow of ``order_id``: the same for the same order, so a repeated request creates nothing."""
    return uuid.uuid5(ORDER_NAMESPACE, order_id)
