"""The order worker: one order workflow per request on the requests topic.

A request is an :class:`~examples.order.orders.Order` as JSON, at least ``{"order_id": "..."}``. The
engine settings are the pizza worker's environment variables (:mod:`examples.pizza.settings`;
``DAGGER_APP_NAME`` defaults to ``order-worker``), and the order topics are named after the application
(:meth:`~examples.order.workflow.OrderTopics.named_after`). Timers are checked every second.
Run it with ``python -m examples.order.worker``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator

from dagger.service.services import Dagger
from examples.engine import create_engine, requests_topic, run_engine
from examples.order.orders import Order, create_order_workflow
from examples.order.workflow import OrderTopics, register_order_template
from examples.pizza.settings import WorkerSettings

logger = logging.getLogger(__name__)

TRIGGER_INTERVAL = 1
"""Seconds between two checks of the timers (triggers, packing checks, monitors)."""

settings = WorkerSettings.from_env({"DAGGER_APP_NAME": "order-worker", **os.environ})
topics = OrderTopics.named_after(settings.application_name)

engine = create_engine(settings, trigger_interval=TRIGGER_INTERVAL)
register_order_template(topics)


@Dagger.app.faust_app.agent(requests_topic(settings))
async def create_order_workflows(requests: AsyncIterator[bytes]) -> None:
    """Create and start the workflow of each requested order."""
    async for payload in requests:
        try:
            order = Order.from_json(payload)
        except (ValueError, KeyError, TypeError) as error:
            logger.warning("Order request %r ignored: %s", payload, error)
            continue
        try:
            await create_order_workflow(engine, topics, order)
        except ValueError as error:
            logger.warning("Order %s refused: %s", order.order_id, error)


if __name__ == "__main__":
    run_engine(engine, settings)
