"""The Dagger engine of an example worker, set up from its :class:`~examples.pizza.settings.WorkerSettings`."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from faust.types import TopicT

from dagger.service.services import Dagger
from examples.pizza.settings import WorkerSettings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

logger = logging.getLogger(__name__)


def create_engine(settings: WorkerSettings, **options: Any) -> Dagger:
    """The engine of a worker configured by ``settings``; ``options`` are further arguments of :class:`Dagger`."""
    return Dagger(
        broker=settings.broker,
        datadir=settings.datadir,
        application_name=settings.application_name,
        tasks_topic=settings.tasks_topic,
        bootstrap_topic=settings.bootstrap_topic,
        web_port=settings.web_port,
        # the address the other workers of the group reach this one at: the examples run on one host
        canonical_url=f"http://127.0.0.1:{settings.web_port}",
        kafka_partitions=settings.partitions,
        processing_guarantee=settings.processing_guarantee,
        **options,
    )


def requests_topic(settings: WorkerSettings) -> TopicT:
    """Declare the worker's requests topic (raw bytes, one request a message) and return it for an agent."""
    return Dagger.create_topic(settings.requests_topic, key_type=bytes, value_type=bytes)


def run_engine(engine: Dagger, settings: WorkerSettings) -> None:
    """Log at the level of ``settings`` and run ``engine`` until it is stopped."""
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    engine.main()


async def json_requests(payloads: AsyncIterator[bytes], *fields: str, what: str) -> AsyncIterator[tuple[str, ...]]:
    """The ``fields`` of each JSON object of ``payloads``, as text; one that lacks them is logged as a ``what``
    ignored and passed over."""
    async for payload in payloads:
        try:
            request = json.loads(payload)
            values = tuple(str(request[field]) for field in fields)
        except (ValueError, KeyError, TypeError) as error:
            logger.warning("%s %r ignored: %s", what, payload, error)
            continue
        yield values
