"""Seeing workflows complete as the worker saves them, by following its workflows table's changelog.

Asking the worker (``GET /tasks/instances``) would have it encode every workflow it holds on each
poll, which its CPU time would count; reading the changelog costs the worker nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from types import TracebackType

from aiokafka import AIOKafkaConsumer

from benchmarks._latency import COMPLETED, saved_version
from benchmarks._traffic import topic_partitions

FETCH_WAIT_MS = 10
"""How long the broker holds a fetch that finds nothing new: how late a completion may be seen."""


class CompletionWatch:
    """Follows the changelog ``topic`` from its end at the time it starts, noting which orders completed."""

    def __init__(self, bootstrap_servers: str, topic: str, cpu_seconds: Callable[[], float]) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.cpu_seconds = cpu_seconds
        self.completed: set[str] = set()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )

    async def __aenter__(self) -> CompletionWatch:
        assigned = [tp for tp in await topic_partitions(self.bootstrap_servers, self.topic) if tp.topic == self.topic]
        if not assigned:
            raise RuntimeError(f"topic {self.topic} does not exist")
        await self._consumer.start()
        self._consumer.assign(assigned)
        await self._consumer.seek_to_end(*assigned)
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self._consumer.stop()

    async def until_completed(self, order_ids: Collection[str]) -> tuple[float, float]:
        """Wait until every one of ``order_ids`` has a COMPLETED version; return the clock
        (``time.perf_counter``) and the worker's CPU seconds read as the last one was seen."""
        pending = set(order_ids) - self.completed
        now, cpu = time.perf_counter(), self.cpu_seconds()
        while pending:
            batches = await self._consumer.getmany(timeout_ms=1000)
            now, cpu = time.perf_counter(), self.cpu_seconds()
            for messages in batches.values():
                for message in messages:
                    version = saved_version(message)
                    if version is not None and version[1] == COMPLETED:
                        self.completed.add(version[0])
                        pending.discard(version[0])
        return now, cpu
