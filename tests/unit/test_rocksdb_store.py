"""The RocksDB store over several partitions, some owned by this worker and some not: where workflows and timers
are written, found, listed and removed; the decoding of stored workflows; the timer tick entry points; flushing the
changelogs; the tables the engine declares; and writes made in an exactly-once transaction."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from itertools import islice
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from dagger import codec
from dagger.codec import RecordDecodeError
from dagger.service._partitions import workflow_key
from dagger.store._correlation_index import CorrelationIndex
from dagger.store._rocksdb_options import ROCKS_DB_OPTIONS
from dagger.store._trigger_index import TriggerIndex
from dagger.store.stores import RocksDBStore, StoreContext, trigger_of
from dagger.tasks.task import (
    CorreletableKeyTasks,
    CorreletableLookUpKey,
    DefaultTemplateDAGInstance,
    ITemplateDAGInstance,
    Trigger,
    TriggerTask,
)
from dagger.testing._memory_table import MemoryTable
from dagger.utils import clock

MiB = 2**20


class FourPartitions:
    """Four partitions, of which this worker owns ``owned``; a workflow's partition key is its partition number."""

    partitions = 4

    def __init__(self, owned: tuple[int, ...] = (1, 3)) -> None:
        self.owned = owned

    def owned_partitions(self) -> list[int]:
        return sorted(self.owned)

    def owns(self, partition: int) -> bool:
        return partition in self.owned

    def partition_of(self, workflow: ITemplateDAGInstance) -> int:
        return self.partition_of_key(workflow_key(workflow))

    def partition_of_key(self, key: str) -> int:
        return int(key)


class Published:
    def __init__(self) -> None:
        self.workflows: list[ITemplateDAGInstance] = []

    async def __call__(self, workflow: ITemplateDAGInstance, payload: bytes) -> None:
        self.workflows.append(workflow)


async def no_tick() -> None:
    raise AssertionError("no tick expected")


def memory_store(max_due_per_tick: int = 100, owned: tuple[int, ...] = (1, 3)) -> Any:
    context = StoreContext(
        faust_app=None,
        placement=FourPartitions(owned),
        publish=Published(),
        tick=no_tick,
        max_due_per_tick=max_due_per_tick,
    )
    store = RocksDBStore(app=None, context=context)
    store.workflows = MemoryTable()  # type: ignore[assignment]
    store.triggers = TriggerIndex(MemoryTable())  # type: ignore[arg-type]
    store.correlations = CorrelationIndex(MemoryTable(), max_entries=10)  # type: ignore[arg-type]
    return store


@pytest.fixture
def store() -> Any:
    return memory_store()


def workflow_in(partition: int, number: int = 1) -> DefaultTemplateDAGInstance:
    return DefaultTemplateDAGInstance(
        id=UUID(int=number), runtime_parameters={"shard": str(partition)}, partition_key_lookup="shard"
    )


async def save(store: Any, workflow: ITemplateDAGInstance) -> None:
    await store.write_workflows([(workflow, codec.dumps(workflow))])


def ids(payloads: list[bytes]) -> list[int]:
    return [codec.loads(payload).id.int for payload in payloads]


# workflows


async def test_a_saved_workflow_is_stored_in_the_partition_of_its_partition_key_and_loads_from_there(store) -> None:
    workflow = workflow_in(3)

    await store.insert_key_value(str(workflow.id), workflow)

    loaded = store.load_workflow(3, str(workflow.id))
    assert isinstance(loaded, DefaultTemplateDAGInstance)
    assert (loaded.id, loaded.runtime_parameters, loaded.update_count) == (workflow.id, {"shard": "3"}, 1)
    assert store.load_workflow(1, str(workflow.id)) is None
    assert store.read_workflow(2, str(workflow.id)) is None
    found = await store.get_value_for_key(str(workflow.id))
    assert found is not None and found.id == workflow.id


async def test_a_workflow_in_a_partition_this_worker_does_not_own_is_not_found_by_id(store) -> None:
    workflow = workflow_in(2)
    await save(store, workflow)

    assert store.find_workflow(str(workflow.id)) is None
    assert await store.get_value_for_key(str(workflow.id)) is None
    assert list(store.iter_workflows()) == []
    loaded = store.load_workflow(2, str(workflow.id))
    assert loaded is not None and loaded.id == workflow.id, "a partition named explicitly is read all the same"


async def test_a_stored_workflow_whose_class_is_not_imported_is_refused_not_loaded_as_a_bare_workflow(store) -> None:
    workflow = workflow_in(1)
    data = json.loads(codec.dumps(workflow))
    data["__faust"]["ns"] = "shop.flows.NotImportedWorkflow"
    store.workflows.put(1, str(workflow.id).encode(), json.dumps(data).encode())

    with pytest.raises(RecordDecodeError):
        store.load_workflow(1, str(workflow.id))
    with pytest.raises(RecordDecodeError):
        await store.get_value_for_key(str(workflow.id))


async def test_writing_no_encoding_for_a_workflow_deletes_it_from_its_partition(store) -> None:
    deleted, kept = workflow_in(3, number=1), workflow_in(3, number=2)
    await store.write_workflows([(deleted, codec.dumps(deleted)), (kept, codec.dumps(kept))])

    acknowledgements = await store.write_workflows([(deleted, None)])

    assert len(acknowledgements) == 1
    assert store.read_workflow(3, str(deleted.id)) is None
    assert store.read_workflow(3, str(kept.id)) is not None


async def test_removing_a_workflow_deletes_it_from_the_owned_partition_that_holds_it(store) -> None:
    removed, neighbour, elsewhere = workflow_in(3, number=1), workflow_in(1, number=2), workflow_in(3, number=3)
    for workflow in (removed, neighbour, elsewhere):
        await save(store, workflow)

    await store.remove_key_value(str(removed.id))

    assert store.find_workflow(str(removed.id)) is None
    assert store.find_workflow(str(neighbour.id)) is not None
    assert store.find_workflow(str(elsewhere.id)) is not None


async def test_removing_an_unknown_workflow_or_one_this_worker_does_not_own_changes_nothing(store) -> None:
    not_owned = workflow_in(2)
    await save(store, not_owned)

    await store.remove_key_value(str(UUID(int=99)))
    await store.remove_key_value(str(not_owned.id))

    assert store.read_workflow(2, str(not_owned.id)) is not None


async def test_listing_yields_every_workflow_of_the_owned_partitions_once_in_batches_of_the_given_size(store) -> None:
    for number in range(1, 8):
        await save(store, workflow_in(1, number))
    for number in (8, 9):
        await save(store, workflow_in(3, number))
    await save(store, workflow_in(2, 10))

    batches = list(islice(store.workflow_batches(size=3), 10))

    assert [ids(batch) for batch in batches] == [[1, 2, 3], [4, 5, 6], [7], [8, 9]]
    assert ids(list(store.iter_workflows())) == list(range(1, 10))


async def test_listing_reads_each_batch_as_the_partition_is_then(store) -> None:
    for number in (1, 2, 3, 4):
        await save(store, workflow_in(1, number))
    batches = store.workflow_batches(size=2)

    first = next(batches)
    await store.remove_key_value(str(UUID(int=3)))
    await save(store, workflow_in(1, 5))

    assert ids(first) == [1, 2]
    assert [ids(batch) for batch in islice(batches, 10)] == [[4, 5]]


# timers


def reminder(workflow: ITemplateDAGInstance, number: int, due: int) -> TriggerTask:
    task = TriggerTask(id=UUID(int=1000 + number), time_to_execute=due)
    workflow.add_task(task)
    return task


def test_the_timer_of_a_trigger_task_is_due_at_the_tasks_time_for_that_task_of_that_workflow() -> None:
    workflow = workflow_in(1)
    due = clock.now() + 3600
    task = reminder(workflow, 1, due)

    assert trigger_of(task, workflow).asdict() == {"trigger_time": due, "id": task.id, "workflow_id": workflow.id}


async def test_a_trigger_task_is_scheduled_in_the_partition_that_holds_its_workflow(store) -> None:
    workflow = workflow_in(3)
    await save(store, workflow)
    due = clock.now() - 60
    task = reminder(workflow, 1, due)

    await store.store_trigger_instance(task, workflow)

    trigger = await store.get_trigger((workflow.id, task.id))
    assert trigger is not None
    assert (trigger.trigger_time, trigger.id, trigger.workflow_id) == (due, task.id, workflow.id)
    assert store.triggers.get(3, workflow.id, task.id) is not None
    assert store.triggers.get(1, workflow.id, task.id) is None
    assert [found.id async for found in store.get_valid_triggers()] == [task.id]


async def test_no_timer_is_written_for_a_workflow_this_worker_does_not_hold(store) -> None:
    not_owned, unsaved = workflow_in(2, number=1), workflow_in(1, number=2)
    await save(store, not_owned)

    await store.store_trigger_instance(reminder(not_owned, 1, clock.now() - 60), not_owned)
    await store.store_trigger_instance(reminder(unsaved, 2, clock.now() - 60), unsaved)
    await store.insert_trigger(Trigger(trigger_time=clock.now() - 60, id=UUID(int=1003), workflow_id=None))

    assert store.triggers.table.partitions == {}


async def test_a_timer_is_found_in_any_owned_partition_but_not_in_one_this_worker_does_not_own(store) -> None:
    owned, not_owned = workflow_in(3, number=1), workflow_in(2, number=2)
    store.triggers.add(3, Trigger(trigger_time=500, id=UUID(int=11), workflow_id=owned.id))
    store.triggers.add(2, Trigger(trigger_time=500, id=UUID(int=12), workflow_id=not_owned.id))

    found = await store.get_trigger((owned.id, UUID(int=11)))

    assert found is not None and (found.trigger_time, found.id) == (500, UUID(int=11))
    assert await store.get_trigger((owned.id, UUID(int=12))) is None
    assert await store.get_trigger((not_owned.id, UUID(int=12))) is None


async def test_removing_a_timer_unschedules_it_in_whichever_owned_partition_holds_it(store) -> None:
    kept = Trigger(trigger_time=500, id=UUID(int=11), workflow_id=UUID(int=1))
    removed = Trigger(trigger_time=500, id=UUID(int=12), workflow_id=UUID(int=1))
    not_owned = Trigger(trigger_time=500, id=UUID(int=13), workflow_id=UUID(int=2))
    store.triggers.add(3, kept)
    store.triggers.add(3, removed)
    store.triggers.add(2, not_owned)

    for trigger in (removed, not_owned):
        await store.remove_trigger(trigger)

    assert await store.get_trigger((UUID(int=1), UUID(int=12))) is None
    assert await store.get_trigger((UUID(int=1), UUID(int=11))) is not None
    assert store.triggers.get(2, UUID(int=2), UUID(int=13)) is not None


async def test_a_completed_trigger_task_loses_its_timer_on_the_owner_of_its_workflow_only(store) -> None:
    owned, not_owned = workflow_in(3, number=1), workflow_in(2, number=2)
    done, other = reminder(owned, 1, 500), reminder(owned, 2, 500)
    elsewhere = reminder(not_owned, 3, 500)
    for partition, workflow, task in ((3, owned, done), (3, owned, other), (2, not_owned, elsewhere)):
        store.triggers.add(partition, trigger_of(task, workflow))

    await store.process_trigger_task_complete(done, owned)
    await store.process_trigger_task_complete(elsewhere, not_owned)
    await store.process_trigger_task_complete(other, None)

    assert store.triggers.get(3, owned.id, done.id) is None
    assert store.triggers.get(3, owned.id, other.id) is not None
    assert store.triggers.get(2, not_owned.id, elsewhere.id) is not None


async def test_a_tick_reads_at_most_max_due_per_tick_timers_across_the_owned_partitions() -> None:
    store = memory_store(max_due_per_tick=3, owned=(1, 2, 3))
    past = clock.now() - 100
    for partition in (0, 1, 2, 3):
        for task in (1, 2):
            store.triggers.add(partition, Trigger(trigger_time=past + task, id=UUID(int=10 * partition + task)))
    store.triggers.add(1, Trigger(trigger_time=clock.now() + 3600, id=UUID(int=19)))

    due = [trigger.id.int async for trigger in store.get_valid_triggers()]

    assert due == [11, 12, 21]


async def test_a_tick_with_room_left_reads_every_due_timer_of_the_owned_partitions() -> None:
    store = memory_store(max_due_per_tick=5)
    past = clock.now() - 100
    for partition in (0, 1, 2, 3):
        for task in (1, 2):
            store.triggers.add(partition, Trigger(trigger_time=past + task, id=UUID(int=10 * partition + task)))

    assert [trigger.id.int async for trigger in store.get_valid_triggers()] == [11, 12, 31, 32]


class TimerTask:
    """Stands in for the engine's SystemTimerTask: records what it is run with, or fails."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[tuple[Any, Any]] = []

    async def execute(self, runtime_parameters: Any, workflow_instance: Any = None) -> None:
        self.calls.append((runtime_parameters, workflow_instance))
        if self.error is not None:
            raise self.error


async def test_the_system_timer_task_runs_with_no_runtime_parameters_and_no_workflow(store) -> None:
    timer = TimerTask()
    await store.process_system_timer_task(timer)
    assert timer.calls == [({}, None)]


async def test_a_failing_timer_tick_is_logged_with_its_error_and_not_raised(store, caplog) -> None:
    error = RuntimeError("tick broke")
    with caplog.at_level(logging.ERROR, logger="dagger.store.stores"):
        await store.process_system_timer_task(TimerTask(error))
    assert [(record.levelno, record.exc_info[1]) for record in caplog.records] == [(logging.ERROR, error)]  # type: ignore[index]


# flushing


class FlushedTable(MemoryTable):
    """A table whose changelog still misses ``missing`` writes when flushed; records the timeouts it was given."""

    def __init__(self, name: str, missing: int) -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]
        self.missing = missing
        self.timeouts: list[float] = []

    async def flush(self, timeout: float) -> int:
        self.timeouts.append(timeout)
        return self.missing


async def test_flushing_waits_on_every_table_and_reports_the_writes_a_changelog_did_not_acknowledge(caplog) -> None:
    store = memory_store()
    tables = [FlushedTable("kv_table", 0), FlushedTable("triggers_table", 3), FlushedTable("correlations", 0)]
    store.workflows = tables[0]
    store.triggers = TriggerIndex(tables[1])  # type: ignore[arg-type]
    store.correlations = CorrelationIndex(tables[2], max_entries=10)  # type: ignore[arg-type]

    with caplog.at_level(logging.ERROR, logger="dagger.store.stores"):
        await store.flush(5.0)
        await store.flush()

    assert [table.timeouts for table in tables] == [[5.0, 30.0]] * 3
    reports = [(record.levelno, record.getMessage()) for record in caplog.records]
    assert len(reports) == 2
    for level, message in reports:
        assert level == logging.ERROR and "3" in message and "triggers_table" in message
        assert "kv_table" not in message and "correlations" not in message


class SlowTable(MemoryTable):
    """A table whose flush takes a turn of the event loop, noting when it starts and ends in ``events``."""

    def __init__(self, name: str, events: list[str]) -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]
        self.events = events

    async def flush(self, timeout: float) -> int:
        self.events.append(f"start {self.name}")
        await asyncio.sleep(0)
        self.events.append(f"end {self.name}")
        return 0


async def test_flushing_waits_on_the_tables_together_so_it_is_bounded_by_one_timeout() -> None:
    events: list[str] = []
    store = memory_store()
    store.workflows = SlowTable("kv_table", events)
    store.triggers = TriggerIndex(SlowTable("triggers_table", events))  # type: ignore[arg-type]
    store.correlations = CorrelationIndex(SlowTable("correlations", events), max_entries=10)  # type: ignore[arg-type]

    await store.flush(1.0)

    assert [event.split()[0] for event in events] == ["start"] * 3 + ["end"] * 3


# the correlation index


def test_the_holder_of_an_index_key_is_the_first_given_partition_that_stores_a_chunk_under_it() -> None:
    index = CorrelationIndex(MemoryTable(), max_entries=10)  # type: ignore[arg-type]
    entry = CorreletableLookUpKey(workflow_id=UUID(int=1), task_id=UUID(int=2))
    for partition in (2, 3):
        index.add(partition, "chunk-key", entry)

    assert index.holder([0, 1, 2, 3], "chunk-key") == 2
    assert index.holder([3, 2], "chunk-key") == 3
    assert index.holder([0, 1], "chunk-key") is None
    assert index.holder([], "chunk-key") is None
    assert index.holder([0, 1, 2, 3], "other-key") is None


# the engine's tables


def test_the_engine_declares_the_stores_three_tables_on_raw_bytes_with_the_store_options(offline_engine) -> None:
    engine = offline_engine(kafka_partitions=3, max_correletable_keys_in_values=7)
    store = engine._store
    tables = [store.kv_table, store.triggers_table, store.correletable_keys_table]

    assert [table.name for table in tables] == ["kv_table", "triggers_table", "correletable_keys_table"]
    assert [table.changelog_topic.get_topic_name() for table in tables] == [
        f"{engine.faust_app.conf.id}-{table.name}-changelog" for table in tables
    ]
    for table in tables:
        assert (table.partitions, table.key_type, table.value_type) == (3, bytes, bytes)
        assert table.options == ROCKS_DB_OPTIONS
    assert store.workflows.table is tables[0]
    assert store.triggers.table.table is tables[1]
    assert store.correlations.table.table is tables[2] and store.correlations.max_entries == 7
    assert store.app is engine


def test_the_engine_opens_every_table_with_the_store_options_within_one_memory_budget_they_size(offline_engine) -> None:
    store = offline_engine()._store
    budget = store.memory_budget

    assert budget is not None
    usage = budget.usage()
    assert (usage["memtables_limit_bytes"], usage["block_cache_limit_bytes"]) == (32 * MiB, 64 * MiB)
    for table in (store.kv_table, store.triggers_table, store.correletable_keys_table):
        options = table.data.rocksdb_options
        assert options.budget is budget and options.use_rocksdict is True
        assert (options.max_open_files, options.write_buffer_size) == (20000, 16 * MiB)
        assert options.extra_options["compression"] == ROCKS_DB_OPTIONS["compression"]


class Database(dict):
    """A partition's RocksDB database."""

    def put(self, key: bytes, value: bytes) -> None:
        self[key] = value

    def delete(self, key: bytes) -> None:
        self.pop(key, None)

    def items(self, from_key: bytes = b"") -> Iterator[tuple[bytes, bytes]]:  # type: ignore[override]
        return iter([(key, self[key]) for key in sorted(self) if key >= from_key])


class FaustTable:
    """The parts of a faust table the store uses; none of its databases is a rocksdict one."""

    use_rocksdict = False

    def __init__(self, name: str, **declared: Any) -> None:
        self.name = name
        self.declared = declared
        self.databases: dict[int, Database] = {}
        self.persisted: dict[Any, int] = {}
        self.data = self.changelog_topic = self

    def get_topic_name(self) -> str:
        return f"{self.name}-changelog"

    def _db_for_partition(self, partition: int) -> Database:
        return self.databases.setdefault(partition, Database())

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.persisted[tuple(tp)] = offset

    def send_soon(self, **_: Any) -> Any:
        raise AssertionError("a write in a transaction is sent in it")


class FaustApp:
    def __init__(self) -> None:
        self.tables: dict[str, FaustTable] = {}

    def Table(self, name: str, **declared: Any) -> FaustTable:
        self.tables[name] = FaustTable(name, **declared)
        return self.tables[name]


class Transaction:
    """An exactly-once transaction: records what is sent in it, acknowledges and commits when told."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None, asyncio.Future[Any]]] = []
        self.on_commit_actions: list[Callable[[], None]] = []

    def send(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None) -> asyncio.Future[Any]:
        sent: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, key, value, partition, sent))
        return sent

    def on_commit(self, action: Callable[[], None]) -> None:
        self.on_commit_actions.append(action)

    def acknowledge_all(self) -> None:
        for offset, (*_, sent) in enumerate(self.sent):
            sent.set_result(SimpleNamespace(offset=offset))

    def commit(self) -> None:
        for action in self.on_commit_actions:
            action()


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_under_exactly_once_the_stores_writes_go_out_in_the_transaction_and_reach_the_database_on_commit():
    app, transaction = FaustApp(), Transaction()
    context = StoreContext(
        faust_app=app, placement=FourPartitions(), publish=Published(), tick=no_tick, transaction=lambda: transaction
    )
    store = RocksDBStore(app=None, context=context)
    store.initialize()
    workflow = workflow_in(3)
    key = str(workflow.id).encode()

    await store.insert_key_value(str(workflow.id), workflow)
    store.triggers.add(3, Trigger(trigger_time=500, id=UUID(int=11), workflow_id=workflow.id))
    store.correlations.add(3, "v_topic", CorreletableLookUpKey(workflow_id=workflow.id, task_id=UUID(int=11)))

    assert [(topic, partition) for topic, _, _, partition, _ in transaction.sent] == [
        ("kv_table-changelog", 3),
        ("triggers_table-changelog", 3),
        ("triggers_table-changelog", 3),
        ("correletable_keys_table-changelog", 3),
    ]
    assert transaction.sent[0][1:3] == (key, store.read_workflow(3, str(workflow.id)))
    transaction.acknowledge_all()
    await settle()
    assert app.tables["kv_table"].databases.get(3, {}) == {}, "acknowledged, but not committed yet"
    assert (await store.get_value_for_key(str(workflow.id))).id == workflow.id  # type: ignore[union-attr]

    transaction.commit()
    await settle()

    assert set(app.tables["kv_table"].databases[3]) == {key}
    assert len(app.tables["triggers_table"].databases[3]) == 2
    assert codec.loads(app.tables["correletable_keys_table"].databases[3][b"v_topic"], expected=CorreletableKeyTasks)
    assert app.tables["kv_table"].persisted == {("kv_table-changelog", 3): 0}
