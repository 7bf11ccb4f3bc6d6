"""The pizza worker: one pizza workflow per message on the requests topic, stopped by a cancellation.

A request is JSON ``{"order_id": "..."}``; a cancellation, on the cancellations topic, is JSON
``{"order_id": "...", "reason": "..."}``. Settings come from environment variables
(:mod:`examples.pizza.settings`). Run it with ``python -m examples.pizza.worker``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from dagger.exceptions.exceptions import WorkflowUnavailable
from dagger.service.services import Dagger
from examples.engine import create_engine, json_requests, requests_topic, run_engine
from examples.pizza.settings import WorkerSettings, workflow_id
from examples.pizza.workflow import BUILDERS_TEMPLATE, register_pizza_templates

logger = logging.getLogger(__name__)

settings = WorkerSettings.from_env()

engine = create_engine(settings)
register_pizza_templates(settings.topics)


@Dagger.app.faust_app.agent(requests_topic(settings), concurrency=settings.create_concurrency)
async def create_pizza_workflows(requests: AsyncIterator[bytes]) -> None:
    """Create and start the pizza workflow of each requested order."""
    template = engine.get_template(BUILDERS_TEMPLATE)
    async for (order_id,) in json_requests(requests, "order_id", what="Pizza request"):
        await template.create_instance(
            workflow_id(order_id), "order_id", repartition=False, submit_task=True, order_id=order_id
        )


@Dagger.app.faust_app.agent(Dagger.create_topic(settings.cancellations_topic, key_type=bytes, value_type=bytes))
async def cancel_pizza_orders(cancellations: AsyncIterator[bytes]) -> None:
    """Stop the workflow of each cancelled order, whichever worker holds it, with the reason among its parameters."""
    async for order_id, reason in json_requests(cancellations, "order_id", "reason", what="Cancellation"):
        try:
            workflow = await engine.get_instance(workflow_id(order_id))
        except WorkflowUnavailable as error:
            logger.warning("Order %s not cancelled: %s", order_id, error)
            continue
        if workflow is not None:
            workflow.runtime_parameters["cancel_reason"] = reason
            await workflow.stop(runtime_parameters=workflow.runtime_parameters, workflow_instance=workflow)


if __name__ == "__main__":
    run_engine(engine, settings)
