"""A fault-suite worker: one job workflow per message on the requests topic.

A request is JSON ``{"job_id": "...", "ticket": "..."}`` and may arrive on any partition. The worker
creates the job's workflow and submits it, as the docs show, with an id derived from the job id and
nothing to recognise a request seen before: a request read again after a crash creates and submits
again, and the engine makes that change nothing. Half of the jobs are created on the worker that owns
them (``repartition=True``), half here (``repartition=False``), chosen by the job id so that a request
read again takes the same path. What the application code raises is logged as
:data:`APPLICATION_ERROR`, which the fault suite counts in the workers' logs.

Settings come from the same environment variables as the pizza worker (:mod:`examples.pizza.settings`),
among them ``DAGGER_PARTITIONS`` and ``DAGGER_PROCESSING_GUARANTEE``. Run it with
``python -m reliability.worker``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

from dagger.service.services import Dagger
from examples.engine import create_engine, json_requests, run_engine
from examples.pizza.settings import WorkerSettings
from reliability.workflow import APPLICATION_ERROR, MAX_MESSAGE_BYTES, TEMPLATE, JobTopics, register_job_template

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


def created_on_owner(job_id: str) -> bool:
    """Whether the job's workflow is created on the worker that owns it (``repartition=True``) or here."""
    return job_workflow_id(job_id).int % 2 == 0


@Dagger.app.faust_app.agent(
    Dagger.create_topic(topics.requests, key_type=bytes, value_type=bytes), concurrency=CREATION_CONCURRENCY
)
async def create_jobs(requests: AsyncIterator[bytes]) -> None:
    """Create and submit the job workflow of each request."""
    template = engine.get_template(TEMPLATE)
    async for job_id, ticket in json_requests(requests, "job_id", "ticket", what="Job request"):
        repartition = created_on_owner(job_id)
        try:
            workflow = await template.create_instance(
                job_workflow_id(job_id), "job_id", repartition=repartition, job_id=job_id, ticket=ticket
            )
            await engine.submit(workflow, repartition=repartition)
        except Exception:
            logger.exception("%s %s", APPLICATION_ERROR, job_id)


if __name__ == "__main__":
    run_engine(engine, settings)
