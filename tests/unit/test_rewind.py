"""After a rebalance: nothing reaches a stream until faust has sought, and source partitions without a
committed offset go back to their first offset."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import faust
from faust.types import TP

from dagger.service._rewind import hold_flow_until_seek, rewind_uncommitted


class Consumer:
    """The parts of faust's consumer the rewind uses: committed offsets, first offsets and seeks."""

    def __init__(self, committed: dict[TP, int | None], first: dict[TP, int]) -> None:
        self.committed = committed
        self.first = first
        self.seeks: list[tuple[TP, int]] = []

    async def seek_to_committed(self) -> dict[TP, int | None]:
        return self.committed

    async def earliest_offsets(self, *partitions: TP) -> dict[TP, int]:
        return {tp: self.first[tp] for tp in partitions}

    async def seek(self, partition: TP, offset: int) -> None:
        self.seeks.append((partition, offset))


def app_with(consumer: Consumer, reset: str = "earliest") -> Any:
    return SimpleNamespace(
        consumer=consumer,
        conf=SimpleNamespace(consumer_auto_offset_reset=reset),
        tables=SimpleNamespace(changelog_topics={"app-kv_table-changelog"}),
    )


COMMITTED, NEVER, AT_ZERO = TP("app-tasks", 0), TP("app-tasks", 1), TP("orders", 3)
CHANGELOG = TP("app-kv_table-changelog", 1)


async def test_partitions_never_committed_or_committed_at_zero_are_read_from_their_first_offset() -> None:
    consumer = Consumer(
        committed={COMMITTED: 12, NEVER: None, AT_ZERO: 0, CHANGELOG: None},
        first={NEVER: 0, AT_ZERO: 5},
    )
    rewound = await rewind_uncommitted(app_with(consumer))
    assert rewound == [NEVER, AT_ZERO]
    assert consumer.seeks == [(NEVER, 0), (AT_ZERO, 5)]


async def test_nothing_moves_when_every_partition_has_a_committed_offset() -> None:
    consumer = Consumer(committed={COMMITTED: 12, CHANGELOG: None}, first={})
    assert await rewind_uncommitted(app_with(consumer)) == []
    assert consumer.seeks == []


async def test_nothing_moves_unless_the_consumer_starts_from_the_earliest_offset() -> None:
    consumer = Consumer(committed={NEVER: None}, first={NEVER: 0})
    assert await rewind_uncommitted(app_with(consumer, reset="latest")) == []
    assert consumer.seeks == []


def test_the_flow_is_held_until_faust_resumes_it_after_its_seek() -> None:
    app = faust.App("dagger-rewind-tests", broker="kafka://127.0.0.1:1", store="memory://")
    consumer = app.consumer
    assert consumer.flow_active
    hold_flow_until_seek(app)
    assert not consumer.flow_active
    assert consumer.suspend_flow.is_set()
    assert not consumer.can_resume_flow.is_set()
    consumer.resume_flow()
    assert consumer.flow_active
