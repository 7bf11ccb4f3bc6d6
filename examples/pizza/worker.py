"""The pizza worker: one pizza workflow per message on the requests topic.

A request is JSON ``{"order_id": "..."}``. Settings come from environment variables
(:mod:`examples.pizza.settings`). Run it with ``python -m examples.pizza.worker``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from dagger.service.services import Dagger
from examples.engine import create_engine, requests_topic, run_engine
from examples.pizza.settings import WorkerSettings, workflow_id
from examples.pizza.workflow import BUILDERS_TEMPLATE, register_pizza_templates

logger = logging.getLogger(__name__)

CREATION_CONCURRENCY = 8
"""Requests handled at once: a creation waits until the broker has acknowledged its order command."""

settings = WorkerSettings.from_env()

engine = create_engine(settings)
register_pizza_templates(settings.topics)


@Dagger.app.faust_app.agent(requests_topic(settings), concurrency=CREATION_CONCURRENCY)
async def create_pizza_workflows(requests: AsyncIterator[bytes]) -> None:
    """Create and start the pizza workflow of each requested order."""
    template = engine.get_template(BUILDERS_TEMPLATE)
    async for payload in requests:
        try:
            order_id = str(json.loads(payload)["order_id"])
        except (ValueError, KeyError, TypeError) as error:
            logger.warning("Pizza request %r ignored: %s", payload, error)
            continue
        await template.create_instance(
            workflow_id(order_id), "order_id", repartition=False, submit_task=True, order_id=order_id
        )


if __name__ == "__main__":
    run_engine(engine, settings)
