"""Where a Dagger engine keeps its state: workflows, timers and the correlation index.

``TERMINAL_STATUSES``, the status codes after which a task never runs again, can be imported from here
too, as from the reference's store.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from dagger import codec
from dagger.store._correlation_index import CorrelationIndex
from dagger.store._memory_budget import MemoryBudget, open_within
from dagger.store._partitioned_table import PartitionedTable, Transaction, no_transaction
from dagger.store._rocksdb_options import ROCKS_DB_OPTIONS
from dagger.store._trigger_index import TriggerIndex
from dagger.tasks._workflow import new_version
from dagger.tasks.task import TERMINAL_STATUSES, ITask, ITemplateDAGInstance, SystemTimerTask, Trigger, TriggerTask
from dagger.types import Placement
from dagger.utils import clock

__all__ = ["LISTING_BATCH", "TERMINAL_STATUSES", "IStore", "RocksDBStore", "StoreContext", "trigger_of"]

logger = logging.getLogger(__name__)

LISTING_BATCH = 256
"""How many workflows :meth:`RocksDBStore.workflow_batches` reads at a time."""


@dataclass(frozen=True)
class StoreContext:
    """What the engine hands a store: it never reaches back into the engine for these."""

    faust_app: Any
    """The faust app the store declares its tables with."""
    placement: Placement
    """The partitions, which of them this worker owns, and the partition of a workflow."""
    publish: Callable[[ITemplateDAGInstance, bytes], Awaitable[None]]
    """Publish a saved version of a workflow (its update topic and callbacks)."""
    tick: Callable[[], Awaitable[None]]
    """Run a timer tick: fire the due timers (what :meth:`IStore.execute_system_timer_task` runs)."""
    transaction: Callable[[], Transaction | None] = no_transaction
    """The transaction the write being made belongs to (exactly-once), or None."""
    max_due_per_tick: int = 2000
    """At most how many due timers one tick reads (``max_tasks_per_trigger``)."""
    max_entries_per_chunk: int = 15000
    """At most how many entries one correlation index chunk holds (``max_correletable_keys_in_values``)."""


class IStore(abc.ABC):
    """The contract of a Dagger store.

    Workflows are saved whole, one record per workflow keyed by its id, in the partition of the
    workflow's partition key; the time-ordered timers (``triggers``) and the correlation index
    (``correlations``) live beside them. What the store needs from outside is in its
    :class:`StoreContext`; ``app`` is the reference's name for the engine the store belongs to.
    """

    enable_changelog: bool = True
    triggers: TriggerIndex
    correlations: CorrelationIndex

    def __init__(self, app: Any, *, context: StoreContext) -> None:
        self.app = app
        self.context = context
        self.placement = context.placement

    async def insert_key_value(self, key: str, value: ITemplateDAGInstance) -> None:
        """Save workflow ``value`` (whose id is ``key``) as a new version: publish it, then write it."""
        await self.write_workflows([(value, await self.published_version(value))])

    async def published_version(self, workflow: ITemplateDAGInstance) -> bytes:
        """Count a new version of ``workflow``, publish it through the context and return its encoding."""
        payload = new_version(workflow)
        await self.context.publish(workflow, payload)
        return payload

    @abc.abstractmethod
    async def write_workflows(
        self, records: Sequence[tuple[ITemplateDAGInstance, bytes | None]]
    ) -> list[Awaitable[Any]]:
        """Write each ``(workflow, encoded workflow)``; None instead of an encoding deletes the workflow.

        Returns what to await for the writes to be durable (nothing where they already are)."""

    @abc.abstractmethod
    def read_workflow(self, partition: int, key: str) -> bytes | None:
        """Return the encoded workflow stored under ``key`` in ``partition``, or None."""

    @abc.abstractmethod
    def find_workflow(self, key: str) -> tuple[int, bytes] | None:
        """Look for workflow ``key`` in the partitions this worker owns; return its partition and bytes."""

    @abc.abstractmethod
    def workflow_batches(self, size: int = LISTING_BATCH) -> Iterator[list[bytes]]:
        """Yield the encoded workflows of every partition this worker owns, ``size`` at a time."""

    @abc.abstractmethod
    async def flush(self, timeout: float = 30.0) -> None:
        """Wait until every write made so far is durable (bounded by ``timeout`` seconds)."""

    @abc.abstractmethod
    async def remove_key_value(self, key: str) -> None:
        """Delete the workflow stored under ``key``."""

    def load_workflow(self, partition: int, key: str) -> ITemplateDAGInstance | None:
        """Return the workflow stored under ``key`` in ``partition``, decoded, or None."""
        payload = self.read_workflow(partition, key)
        return None if payload is None else codec.loads(payload, expected=ITemplateDAGInstance, strict=True)

    def iter_workflows(self) -> Iterator[bytes]:
        """Yield the encoded workflows of every partition this worker owns."""
        for batch in self.workflow_batches():
            yield from batch

    async def get_value_for_key(self, key: str) -> ITemplateDAGInstance | None:
        """Return the workflow with id ``key`` if a partition this worker owns holds it."""
        found = self.find_workflow(key)
        return None if found is None else codec.loads(found[1], expected=ITemplateDAGInstance, strict=True)

    @abc.abstractmethod
    async def insert_trigger(self, value: Trigger) -> None:
        """Schedule a timer."""

    @abc.abstractmethod
    async def remove_trigger(self, value: Trigger) -> None:
        """Unschedule a timer."""

    @abc.abstractmethod
    async def get_trigger(self, key: Any, use_partition: bool = False) -> Trigger | None:
        """Return the timer of ``key``, a ``(workflow id, task id)`` pair, or None."""

    if TYPE_CHECKING:  # what an implementation is, for type checkers: an async generator

        @abc.abstractmethod
        def get_valid_triggers(self) -> AsyncIterator[Trigger]: ...

    else:

        @abc.abstractmethod
        async def get_valid_triggers(self):
            """Yield the timers that are due, at most ``max_tasks_per_trigger`` per tick.

            Declared a coroutine, as in the reference; an implementation is an async generator.
            """

    @abc.abstractmethod
    def initialize(self, *args: Any, **kwargs: Any) -> None:
        """Declare the store's tables and timers with the engine's faust app."""

    @abc.abstractmethod
    def get_db_options(self) -> Mapping[str, Any]:
        """Return the options the store's databases are opened with."""

    async def store_trigger_instance(self, task_instance: TriggerTask, wokflow_instance: ITemplateDAGInstance) -> None:
        """Schedule the timer of trigger task ``task_instance``."""
        await self.insert_trigger(
            await self._create_trigger_instance_from_trigger_task(task_instance, wokflow_instance)
        )

    async def _create_trigger_instance_from_trigger_task(
        self, task_instance: TriggerTask, wokflow_instance: ITemplateDAGInstance
    ) -> Trigger:
        return trigger_of(task_instance, wokflow_instance)

    async def process_trigger_task_complete(self, task: ITask, wokflow_instance: ITemplateDAGInstance | None) -> None:
        """Unschedule the timer of a trigger task that has completed, on the owner of its workflow."""
        if wokflow_instance is not None:
            partition = self.placement.partition_of(wokflow_instance)
            if self.placement.owns(partition):
                self.triggers.remove(partition, wokflow_instance.id, task.id)

    async def process_system_timer_task(self, timer_task: SystemTimerTask) -> None:
        """Run one timer tick through ``timer_task``; a failing tick is logged."""
        try:
            await timer_task.execute({}, None)
        except Exception:
            logger.exception("Timer tick failed")

    async def execute_system_timer_task(self) -> None:
        """Fire the due timers: run the engine's timer tick."""
        await self.context.tick()


class RocksDBStore(IStore):
    """The embedded store: faust tables on RocksDB (rocksdict), backed by Kafka changelog topics.

    Every record lives in the partition of its owner's key (a workflow's partition key, a correlation
    value), so the worker that owns that partition is the only one that reads and writes it.
    """

    DELIM_VAUE = "|"

    def __init__(self, app: Any, *, context: StoreContext) -> None:
        super().__init__(app, context=context)
        self.kv_table: Any = None
        self.triggers_table: Any = None
        self.correletable_keys_table: Any = None
        self.memory_budget: MemoryBudget | None = None

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        """Declare the workflow, trigger and correlation tables with the engine's faust app."""
        self.kv_table = self._table("kv_table")
        self.triggers_table = self._table("triggers_table")
        self.correletable_keys_table = self._table("correletable_keys_table")
        options = self.get_db_options()
        self.memory_budget = MemoryBudget.from_options(options)
        for table in (self.kv_table, self.triggers_table, self.correletable_keys_table):
            open_within(self.memory_budget, table, options)
        transaction = self.context.transaction
        self.workflows = PartitionedTable(self.kv_table, transaction)
        self.triggers = TriggerIndex(PartitionedTable(self.triggers_table, transaction))
        self.correlations = CorrelationIndex(
            PartitionedTable(self.correletable_keys_table, transaction), self.context.max_entries_per_chunk
        )

    async def flush(self, timeout: float = 30.0) -> None:
        """Wait until the broker has acknowledged every write of the tables' changelogs, for all the tables at
        once, at most ``timeout`` seconds."""
        tables = (self.workflows, self.triggers.table, self.correlations.table)
        missing = await asyncio.gather(*(table.flush(timeout) for table in tables))
        for table, count in zip(tables, missing, strict=True):
            if count:
                logger.error("%d writes to the %s changelog were not acknowledged", count, table.name)

    def _table(self, name: str) -> Any:
        return self.context.faust_app.Table(
            name,
            partitions=self.placement.partitions,
            key_type=bytes,
            value_type=bytes,
            options=dict(self.get_db_options()),
        )

    def get_db_options(self) -> Mapping[str, Any]:
        """Return :data:`~dagger.service.engineconfig.ROCKS_DB_OPTIONS`."""
        return ROCKS_DB_OPTIONS

    async def write_workflows(
        self, records: Sequence[tuple[ITemplateDAGInstance, bytes | None]]
    ) -> list[Awaitable[Any]]:
        """Write the workflows to the partitions of their partition keys; return the changelog's acknowledgements."""
        acknowledgements: list[Awaitable[Any]] = []
        for workflow, payload in records:
            partition, key = self.placement.partition_of(workflow), str(workflow.id).encode()
            if payload is None:
                acknowledgements.append(self.workflows.delete(partition, key))
            else:
                acknowledgements.append(self.workflows.put(partition, key, payload))
        return acknowledgements

    def read_workflow(self, partition: int, key: str) -> bytes | None:
        """Return the encoded workflow stored under ``key`` in ``partition``, or None."""
        return self.workflows.get(partition, key.encode())

    def find_workflow(self, key: str) -> tuple[int, bytes] | None:
        """Look for workflow ``key`` in the partitions this worker owns; return its partition and bytes."""
        for partition in self.placement.owned_partitions():
            payload = self.workflows.get(partition, key.encode())
            if payload is not None:
                return partition, payload
        return None

    def workflow_batches(self, size: int = LISTING_BATCH) -> Iterator[list[bytes]]:
        """Yield the encoded workflows of every partition this worker owns, ``size`` at a time.

        No read of the store stays open from one batch to the next, so the caller may await in between:
        each batch reads on from the key after the last one, as the partition is then.
        """
        for partition in self.placement.owned_partitions():
            start = b""
            while batch := list(islice(self.workflows.items(partition, start), size)):
                yield [payload for _, payload in batch]
                start = batch[-1][0] + b"\x00"

    async def remove_key_value(self, key: str) -> None:
        """Delete workflow ``key`` from the partition that holds it."""
        found = self.find_workflow(key)
        if found is not None:
            self.workflows.delete(found[0], key.encode())

    async def insert_trigger(self, value: Trigger) -> None:
        """Schedule ``value`` in its workflow's partition, if this worker holds the workflow."""
        found = None if value.workflow_id is None else self.find_workflow(str(value.workflow_id))
        if found is not None:
            self.triggers.add(found[0], value)

    async def remove_trigger(self, key: Trigger) -> None:
        """Unschedule the timer ``key`` in whichever owned partition holds it."""
        for partition in self.placement.owned_partitions():
            if self.triggers.remove(partition, key.workflow_id, key.id):  # type: ignore[arg-type]
                return

    async def get_trigger(self, key: Any, use_partition: bool = False) -> Trigger | None:
        """Return the timer of ``key``, a ``(workflow id, task id)`` pair, or None."""
        workflow_id, task_id = key
        for partition in self.placement.owned_partitions():
            trigger = self.triggers.get(partition, workflow_id, task_id)
            if trigger is not None:
                return trigger
        return None

    async def get_valid_triggers(self) -> AsyncIterator[Trigger]:
        """Yield due timers of the partitions this worker owns, at most ``max_tasks_per_trigger`` in all."""
        budget = self.context.max_due_per_tick
        now = clock.now()
        for partition in self.placement.owned_partitions():
            if budget <= 0:
                return
            for trigger in self.triggers.due(partition, now, budget):
                budget -= 1
                yield trigger


def trigger_of(task: TriggerTask, workflow: ITemplateDAGInstance) -> Trigger:
    """The timer of trigger task ``task`` of ``workflow``, due at the task's ``time_to_execute``."""
    return Trigger(trigger_time=task.time_to_execute, id=task.id, workflow_id=workflow.id)
