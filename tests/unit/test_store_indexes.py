"""The correlation and trigger indexes on an in-memory stand-in for a partitioned table."""

from __future__ import annotations

from contextlib import nullcontext
from uuid import UUID

from dagger.service._timers import Timers
from dagger.store._correlation_index import CorrelationIndex, lookup_key
from dagger.store._trigger_index import TriggerIndex
from dagger.store.stores import RocksDBStore, StoreContext
from dagger.tasks.task import CorreletableLookUpKey, Trigger
from dagger.testing._in_memory_engine import OnePartition
from dagger.testing._memory_table import MemoryTable


def entry(workflow: int, task: int) -> CorreletableLookUpKey:
    return CorreletableLookUpKey(workflow_id=UUID(int=workflow), task_id=UUID(int=task), partition_key=f"k{workflow}")


def pairs(index: CorrelationIndex, key: str) -> list[tuple[int, int]]:
    return [(found.workflow_id.int, found.task_id.int) for found in index.entries(0, key)]


def test_lookup_key_is_value_and_topic() -> None:
    assert lookup_key("42", "ready") == "42_ready"


def test_entries_overflow_into_linked_chunks_of_the_configured_size() -> None:
    table = MemoryTable()
    index = CorrelationIndex(table, max_entries=2)  # type: ignore[arg-type]
    for number in range(5):
        index.add(0, "v_t", entry(number, 100 + number))
    chunks = index.chunks(0, "v_t")
    assert [len(chunk.lookup_keys) for chunk in chunks] == [2, 2, 1]
    assert chunks[0].key == "v_t" and chunks[0].overflow_key == chunks[1].key
    assert sorted(pairs(index, "v_t")) == [(number, 100 + number) for number in range(5)]
    assert entry(0, 100).partition_key == index.entries(0, "v_t")[0].partition_key


def test_adding_an_entry_twice_keeps_one() -> None:
    index = CorrelationIndex(MemoryTable(), max_entries=2)  # type: ignore[arg-type]
    for _ in range(3):
        index.add(0, "v_t", entry(1, 2))
    assert pairs(index, "v_t") == [(1, 2)]


def test_removing_entries_drops_empty_chunks_and_keeps_the_head_key() -> None:
    table = MemoryTable()
    index = CorrelationIndex(table, max_entries=2)  # type: ignore[arg-type]
    for number in range(5):
        index.add(0, "v_t", entry(number, number))
    index.remove(0, "v_t", [(UUID(int=0), UUID(int=0)), (UUID(int=1), UUID(int=1))])
    assert sorted(pairs(index, "v_t")) == [(2, 2), (3, 3), (4, 4)]
    assert index.chunks(0, "v_t")[0].key == "v_t"
    index.remove(0, "v_t", [(UUID(int=number), UUID(int=number)) for number in (2, 3, 4)])
    assert pairs(index, "v_t") == []
    assert table.partitions[0] == {}, "every chunk is deleted once empty"


def test_removing_an_unknown_entry_changes_nothing() -> None:
    index = CorrelationIndex(MemoryTable(), max_entries=2)  # type: ignore[arg-type]
    index.add(0, "v_t", entry(1, 1))
    index.remove(0, "v_t", [(UUID(int=9), UUID(int=9))])
    index.remove(0, "other_t", [(UUID(int=1), UUID(int=1))])
    assert pairs(index, "v_t") == [(1, 1)]


def test_partitions_are_separate() -> None:
    index = CorrelationIndex(MemoryTable(), max_entries=10)  # type: ignore[arg-type]
    index.add(1, "v_t", entry(1, 1))
    assert index.entries(0, "v_t") == []
    assert len(index.entries(1, "v_t")) == 1


def trigger(due: int, workflow: int, task: int) -> Trigger:
    return Trigger(trigger_time=due, workflow_id=UUID(int=workflow), id=UUID(int=task))


def test_due_triggers_come_earliest_first_up_to_the_limit() -> None:
    index = TriggerIndex(MemoryTable())  # type: ignore[arg-type]
    for due, task in [(300, 3), (100, 1), (200, 2), (1000, 4)]:
        index.add(0, trigger(due, 1, task))
    assert [found.id.int for found in index.due(0, now=300, limit=10)] == [1, 2, 3]  # type: ignore[union-attr]
    assert [found.id.int for found in index.due(0, now=300, limit=2)] == [1, 2]  # type: ignore[union-attr]
    assert index.due(0, now=99, limit=10) == []


def test_rescheduling_a_task_replaces_its_trigger() -> None:
    index = TriggerIndex(MemoryTable())  # type: ignore[arg-type]
    index.add(0, trigger(100, 1, 1))
    index.add(0, trigger(500, 1, 1))
    assert index.due(0, now=400, limit=10) == []
    assert index.get(0, UUID(int=1), UUID(int=1)).trigger_time == 500  # type: ignore[union-attr]


def test_removing_a_trigger() -> None:
    table = MemoryTable()
    index = TriggerIndex(table)  # type: ignore[arg-type]
    index.add(0, trigger(100, 1, 1))
    assert index.remove(0, UUID(int=1), UUID(int=1)) is True
    assert index.remove(0, UUID(int=1), UUID(int=1)) is False
    assert index.get(0, UUID(int=1), UUID(int=1)) is None
    assert table.partitions[0] == {}


class FailingTimers(Timers):
    """A tick over a store of timers in memory, whose firing fails for one task and records the others."""

    def __init__(self, failing: UUID) -> None:
        placement = OnePartition()
        context = StoreContext(faust_app=None, placement=placement, publish=None, tick=None, max_due_per_tick=10)  # type: ignore[arg-type]
        store = RocksDBStore(None, context=context)
        store.triggers = TriggerIndex(MemoryTable())  # type: ignore[arg-type]
        super().__init__(store, placement, persistence=None, in_transaction=nullcontext)  # type: ignore[arg-type]
        self.failing = failing
        self.fired: list[UUID] = []

    async def fire(self, trigger: Trigger) -> None:
        if trigger.id == self.failing:
            raise RuntimeError("this workflow cannot be read")
        self.fired.append(trigger.id)  # type: ignore[arg-type]


async def test_a_failing_timer_does_not_stop_the_tick_and_stays_scheduled() -> None:
    engine = FailingTimers(failing=UUID(int=1))
    store = engine.store
    for task in (1, 2, 3):
        store.triggers.add(0, Trigger(trigger_time=100 + task, id=UUID(int=task), workflow_id=UUID(int=9)))

    await engine.tick()

    assert engine.fired == [UUID(int=2), UUID(int=3)]
    assert store.triggers.get(0, UUID(int=9), UUID(int=1)) is not None
