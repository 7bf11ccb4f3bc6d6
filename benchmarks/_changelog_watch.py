"""Following the saved versions of a worker's workflows, from outside the worker: its workflows changelog.

Asking the worker (``GET /tasks/instances``) would have it encode every workflow it holds on each poll,
which its CPU time would count; reading the changelog costs the worker nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition

from benchmarks._latency import saved_version
from benchmarks._seeding import PARTITION, WORKFLOWS_TABLE, changelog_topic
from examples.pizza.settings import workflow_id

FETCH_RECORDS = 5000


def ids_of(names: Sequence[str]) -> list[str]:
    """The workflow ids of the orders (or timers) ``names``."""
    return [str(workflow_id(name)) for name in names]


class SaveWatch:
    """Reads the workflows changelog of ``application_name`` from where it ends when started, and keeps the status
    of each workflow's latest saved version, by workflow id."""

    def __init__(self, bootstrap_servers: str, application_name: str) -> None:
        self.partition = TopicPartition(changelog_topic(application_name, WORKFLOWS_TABLE), PARTITION)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
        self.statuses: dict[str, str] = {}

    async def start(self) -> None:
        """Start reading at the changelog's end: only what is saved from now on is seen."""
        await self.consumer.start()
        self.consumer.assign([self.partition])
        await self.consumer.seek_to_end(self.partition)
        await self.consumer.position(self.partition)

    async def stop(self) -> None:
        """Stop reading."""
        await self.consumer.stop()

    async def __aenter__(self) -> SaveWatch:
        await self.start()
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.stop()

    async def wait_for(self, workflow_ids: Iterable[str], status: str, timeout: float) -> None:
        """Wait until a version of each of ``workflow_ids`` with ``status`` has been saved; raise ``TimeoutError``
        after ``timeout`` seconds."""
        missing = {workflow_id for workflow_id in workflow_ids if self.statuses.get(workflow_id) != status}
        async with asyncio.timeout(timeout):
            while missing:
                batches = await self.consumer.getmany(self.partition, timeout_ms=100, max_records=FETCH_RECORDS)
                for message in batches.get(self.partition, []):
                    version = saved_version(message)
                    if message.key is None or version is None:
                        continue
                    workflow_id = message.key.decode()
                    self.statuses[workflow_id] = version[1]
                    if version[1] == status:
                        missing.discard(workflow_id)
