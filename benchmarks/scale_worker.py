"""The worker of the scale benchmark: the pizza workflow's listener and the timer workflow, ticking often.

Settings are the pizza worker's (:mod:`examples.pizza.settings`), plus ``SCALE_TICK_SECONDS``, the engine's
``trigger_interval`` (default 1). It creates no pizza workflows itself (the benchmark seeds them); it
creates and starts one timer workflow per request on the timer requests topic, JSON
``{"timer_id": "...", "due": <epoch seconds>}``. Run it with ``python -m benchmarks.scale_worker``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from benchmarks._timer_workflow import (
    DUE,
    TIMER_ID,
    TIMER_TEMPLATE,
    create_timer,
    register_timer_template,
    timer_requests_topic,
)
from dagger.service.services import Dagger
from examples.engine import create_engine, json_requests, run_engine
from examples.pizza.settings import WorkerSettings
from examples.pizza.workflow import register_pizza_templates

settings = WorkerSettings.from_env()

engine = create_engine(settings, trigger_interval=float(os.environ.get("SCALE_TICK_SECONDS", "1")))
register_pizza_templates(settings.topics)
register_timer_template()


@Dagger.app.faust_app.agent(
    Dagger.create_topic(timer_requests_topic(settings.application_name), key_type=bytes, value_type=bytes)
)
async def create_timer_workflows(requests: AsyncIterator[bytes]) -> None:
    """Create and start the timer workflow of each request."""
    template = engine.get_template(TIMER_TEMPLATE)
    async for timer_id, due in json_requests(requests, TIMER_ID, DUE, what="Timer request"):
        await create_timer(template, timer_id, int(due))


if __name__ == "__main__":
    run_engine(engine, settings)
