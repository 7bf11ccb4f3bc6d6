"""The records of a worker's tables for workflows made offline by Dagger's own code, to seed its changelogs.

Pizza workflows waiting for their "ready" message, and timer workflows waiting for their due time, are
created and started from their templates on :class:`dagger.testing.InMemoryEngine`, as a worker would
create them; their table records are then taken from the same code the worker writes its tables with.
This relies on these internals of the engine, for one partition (partition 0):

- ``kv_table``: a workflow is stored under ``str(workflow.id)`` (``RocksDBStore.write_workflows``), as the
  encoding of a saved version, ``dagger.tasks._workflow.new_version`` (what ``IStore.published_version``
  writes);
- ``correletable_keys_table``: the in-memory engine registers a workflow's listeners with the engine's
  own ``Correlation.register_all`` into a ``dagger.store._correlation_index.CorrelationIndex`` over a
  ``dagger.testing._memory_table.MemoryTable``, whose keys and values are the ones the worker writes;
- ``triggers_table``: a trigger task that starts waiting asks ``Dagger.app._store_trigger_instance`` for
  its timer; here, as on the worker that owns the workflow (``Timers.schedule``), that adds
  ``dagger.store.stores.trigger_of`` of the task to a ``dagger.store._trigger_index.TriggerIndex``;
- the tables are named as ``RocksDBStore.initialize`` names them, and faust names a table's changelog
  ``<application name>-<table>-changelog``.

Commands the workflows send (the pizza order to the shop) go to a topic that only records them; they
are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks._timer_workflow import TIMER_TEMPLATE, create_timer, register_timer_template
from dagger.store._trigger_index import TriggerIndex
from dagger.store.stores import trigger_of
from dagger.tasks._workflow import new_version
from dagger.tasks.task import TriggerTask
from dagger.testing import InMemoryEngine, RecordedTopic, installed
from dagger.testing._memory_table import MemoryTable
from examples.pizza.settings import workflow_id
from examples.pizza.workflow import BUILDERS_TEMPLATE, PizzaTopics, register_pizza_templates

PARTITION = 0
WORKFLOWS_TABLE = "kv_table"
CORRELATIONS_TABLE = "correletable_keys_table"
TRIGGERS_TABLE = "triggers_table"
TABLES = (WORKFLOWS_TABLE, CORRELATIONS_TABLE, TRIGGERS_TABLE)

Record = tuple[bytes, bytes]


def changelog_topic(application_name: str, table: str) -> str:
    """The changelog topic of ``table`` in a worker of ``application_name``."""
    return f"{application_name}-{table}-changelog"


@dataclass
class TableRecords:
    """Keys and values to write to each table's changelog, by table name."""

    by_table: dict[str, list[Record]] = field(default_factory=lambda: {table: [] for table in TABLES})

    def __len__(self) -> int:
        return sum(len(records) for records in self.by_table.values())


class SeedingEngine(InMemoryEngine):
    """The in-memory engine, keeping timers in the engine's trigger index and dropping what is sent."""

    def __init__(self, command_topics: Iterable[str]) -> None:
        super().__init__()
        self.topics = {name: RecordedTopic(name) for name in command_topics}
        self.trigger_index = TriggerIndex(MemoryTable())  # type: ignore[arg-type]

    async def _store_trigger_instance(self, task_instance: Any, workflow_instance: Any = None, **_: Any) -> None:
        """Schedule the timer of a trigger task, as its workflow's owner does."""
        if isinstance(task_instance, TriggerTask) and workflow_instance is not None:
            self.trigger_index.add(PARTITION, trigger_of(task_instance, workflow_instance))

    def take_records(self) -> TableRecords:
        """The records of every workflow created since the last call, and forget them here."""
        records = TableRecords()
        records.by_table[WORKFLOWS_TABLE] = [
            (str(workflow.id).encode(), new_version(workflow)) for workflow in self.workflows.values()
        ]
        self.workflows.clear()
        for table, memory in ((CORRELATIONS_TABLE, self.index.table), (TRIGGERS_TABLE, self.trigger_index.table)):
            stored = memory.partitions.pop(PARTITION, {})  # type: ignore[attr-defined]
            records.by_table[table] = list(stored.items())
        for topic in self.topics.values():
            topic.sent.clear()
            topic.headers.clear()
        return records


class StateBuilder:
    """Creates waiting workflows on a :class:`SeedingEngine` and hands over their table records."""

    def __init__(self, engine: SeedingEngine) -> None:
        self.engine = engine

    async def waiting_pizzas(self, order_ids: Iterable[str]) -> TableRecords:
        """Pizza workflows, started (their order sent) and waiting for the shop's "ready" message."""
        template = self.engine.get_template(BUILDERS_TEMPLATE)
        for order_id in order_ids:
            await template.create_instance(
                workflow_id(order_id), "order_id", repartition=False, submit_task=True, order_id=order_id
            )
        return self.engine.take_records()

    async def future_timers(self, timer_ids: Iterable[str], due: int) -> TableRecords:
        """Timer workflows, started and waiting until ``due`` (epoch seconds)."""
        template = self.engine.get_template(TIMER_TEMPLATE)
        for timer_id in timer_ids:
            await create_timer(template, timer_id, due)
        return self.engine.take_records()


@contextmanager
def state_builder(topics: PizzaTopics) -> Iterator[StateBuilder]:
    """A :class:`StateBuilder` on a :class:`SeedingEngine` installed as ``Dagger.app`` for the block, with the
    pizza workflow (on ``topics``) and the timer workflow registered."""
    engine = SeedingEngine([topics.orders])
    with installed(engine):
        register_pizza_templates(topics)
        register_timer_template()
        yield StateBuilder(engine)
