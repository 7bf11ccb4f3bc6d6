"""After a rebalance: nothing reaches a stream until faust has sought, and each seek to the committed offsets
sends source partitions without a committed offset back to offset 0."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import faust
from faust.types import TP

from dagger.service._rewind import hold_flow_until_seek, rewind_uncommitted, rewind_uncommitted_on_seek


class ConsumerThread:
    """The Kafka client behind faust's consumer: committed offsets and seeks."""

    def __init__(self, committed: dict[TP, int | None]) -> None:
        self.committed = committed
        self.seeks: list[tuple[TP, int]] = []

    async def seek_to_committed(self) -> dict[TP, int | None]:
        """Seek to each committed offset but a missing or zero one, as the Kafka client does."""
        self.seeks.extend((tp, offset) for tp, offset in self.committed.items() if offset)
        return self.committed

    def seek(self, partition: TP, offset: int) -> None:
        self.seeks.append((partition, offset))


def faust_app(thread: ConsumerThread, reset: str = "earliest") -> Any:
    """A faust app, never started, whose consumer talks to ``thread``."""
    app = faust.App(APP, broker="kafka://127.0.0.1:1", store="memory://", consumer_auto_offset_reset=reset)
    app.Table("kv_table")
    app.consumer._thread = thread
    return app


APP = "dagger-rewind-tests"
COMMITTED, NEVER, AT_ZERO = TP(f"{APP}-tasks", 0), TP(f"{APP}-tasks", 1), TP("orders", 3)
CHANGELOG = TP(f"{APP}-kv_table-changelog", 1)


async def test_partitions_never_committed_or_committed_at_zero_are_read_from_offset_zero() -> None:
    thread = ConsumerThread(committed={})
    committed = {COMMITTED: 12, NEVER: None, AT_ZERO: 0, CHANGELOG: None}
    rewound = await rewind_uncommitted(faust_app(thread), committed)
    assert rewound == [NEVER, AT_ZERO]
    assert thread.seeks == [(NEVER, 0), (AT_ZERO, 0)]


async def test_nothing_moves_when_every_partition_has_a_committed_offset() -> None:
    thread = ConsumerThread(committed={})
    assert await rewind_uncommitted(faust_app(thread), {COMMITTED: 12, CHANGELOG: None}) == []
    assert thread.seeks == []


async def test_nothing_moves_unless_the_consumer_starts_from_the_earliest_offset() -> None:
    thread = ConsumerThread(committed={})
    assert await rewind_uncommitted(faust_app(thread, reset="latest"), {NEVER: None}) == []
    assert thread.seeks == []


async def test_faust_seeking_to_the_committed_offsets_sends_the_uncommitted_to_offset_zero() -> None:
    thread = ConsumerThread(committed={COMMITTED: 12, NEVER: None, CHANGELOG: None})
    app = faust_app(thread)
    rewind_uncommitted_on_seek(app)
    await app.consumer.perform_seek()
    assert thread.seeks == [(COMMITTED, 12), (NEVER, 0)]


async def test_a_batch_dropped_while_the_flow_is_held_is_read_again_from_offset_zero() -> None:
    """Faust drops a batch its fetcher hands over while the flow is stopped and seeks to the committed offsets;
    a partition without one would be left past the batch."""
    thread = ConsumerThread(committed={COMMITTED: 12, NEVER: None})
    app = faust_app(thread)
    rewind_uncommitted_on_seek(app)
    hold_flow_until_seek(app)

    async def fetched_while_held(timeout: float) -> tuple[dict[TP, list[Any]], set[TP]]:
        return {NEVER: [SimpleNamespace(offset=offset) for offset in range(20)]}, {COMMITTED, NEVER}

    app.consumer._wait_next_records = fetched_while_held
    handed_over = [message async for message in app.consumer.getmany(timeout=1.0)]
    assert handed_over == []
    assert thread.seeks == [(COMMITTED, 12), (NEVER, 0)]


def test_the_flow_is_held_until_faust_resumes_it_after_its_seek() -> None:
    app = faust.App(APP, broker="kafka://127.0.0.1:1", store="memory://")
    consumer = app.consumer
    assert consumer.flow_active
    hold_flow_until_seek(app)
    assert not consumer.flow_active
    assert consumer.suspend_flow.is_set()
    assert not consumer.can_resume_flow.is_set()
    consumer.resume_flow()
    assert consumer.flow_active
