"""A fault-suite worker: one job workflow per message on the requests topic.

A request is JSON ``{"job_id": "...", "ticket": "..."}`` and may arrive on any partition. Settings come
from the same environment variables as the pizza worker (:mod:`examples.pizza.settings`), among them
``DAGGER_PARTITIONS`` and ``DAGGER_PROCESSING_GUARANTEE``. Run it with ``python -m reliability.worker``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator

from dagger.service.services import Dagger
from examples.engine import create_engine, run_engine
from examples.pizza.settings import WorkerSettings
from reliability.workflow import MAX_MESSAGE_BYTES, TEMPLATE, JobTopics, register_job_template

logger = logging.getLogger(__name__)

JOB_NAMESPACE = uuid.UUID("0b3c8f0e-5d4a-4f61-9a7e-3c2b1d0e9f87")
CREATION_CONCURRENCY = 8

settings = WorkerSettings.from_env()
topics = JobTopics.named_after(settings.application_name)

SESSION_TIMEOUT = 10.0
"""Seconds before the group gives a killed worker's partitions to the others (faust's default is 60)."""

engine = create_engine(
    settings,
    broker_session_timeout=SESSION_TIMEOUT,
    broker_heartbeat_interval=2,
    max_listener_message_bytes=MAX_MESSAGE_BYTES,
)
register_job_template(topics)


def job_workflow_id(job_id: str) -> uuid.UUID:
    """The id of the workflow of ``job_id``: a repeated request creates nothing new."""
    return uuid.uuid5(JOB_NAMESPACE, job_id)


@Dagger.app.faust_app.agent(
    Dagger.create_topic(topics.requests, key_type=bytes, value_type=bytes), concurrency=CREATION_CONCURRENCY
)
async def create_jobs(requests: AsyncIterator[bytes]) -> None:
    """Create and start the job workflow of each request, on the worker that owns it."""
    template = engine.get_template(TEMPLATE)
    async for payload in requests:
        try:
            request = json.loads(payload)
            job_id, ticket = str(request["job_id"]), str(request["ticket"])
        except (ValueError, KeyError, TypeError) as error:
            logger.warning("Job request %r ignored: %s", payload, error)
            continue
        await template.create_instance(
            job_workflow_id(job_id), "job_id", repartition=False, submit_task=True, job_id=job_id, ticket=ticket
        )


if __name__ == "__main__":
    run_engine(engine, settings)
