"""A store is handed what it needs from the engine (``StoreContext``) and never reaches back for it: it publishes a
saved version through the context, counts versions as the model does, and runs the tick the context gives it."""

from __future__ import annotations

import uuid
from typing import Any

from dagger import codec
from dagger.store.stores import RocksDBStore, StoreContext
from dagger.tasks.task import DefaultTemplateDAGInstance, ITemplateDAGInstance
from dagger.testing._in_memory_engine import OnePartition
from dagger.testing._memory_table import MemoryTable


class Recorder:
    def __init__(self) -> None:
        self.published: list[tuple[ITemplateDAGInstance, bytes]] = []
        self.ticks = 0

    async def publish(self, workflow: ITemplateDAGInstance, payload: bytes) -> None:
        self.published.append((workflow, payload))

    async def tick(self) -> None:
        self.ticks += 1


def store_with(recorder: Recorder) -> Any:
    context = StoreContext(faust_app=None, placement=OnePartition(), publish=recorder.publish, tick=recorder.tick)
    store = RocksDBStore(app=None, context=context)
    store.workflows = MemoryTable()  # type: ignore[assignment]
    return store


async def test_a_saved_workflow_is_a_new_version_published_through_the_context_then_stored():
    recorder = Recorder()
    store = store_with(recorder)
    workflow = DefaultTemplateDAGInstance(id=uuid.uuid1(), runtime_parameters={"order": "A1"})

    await store.insert_key_value(str(workflow.id), workflow)
    await store.insert_key_value(str(workflow.id), workflow)

    assert [codec.loads(payload).update_count for _, payload in recorder.published] == [1, 2]
    assert recorder.published[-1] == (workflow, store.read_workflow(0, str(workflow.id)))
    stored = await store.get_value_for_key(str(workflow.id))
    assert stored is not None and stored.update_count == 2 and stored.lastupdated > 0


async def test_the_references_timer_entry_point_runs_the_tick_the_engine_handed_over():
    recorder = Recorder()
    await store_with(recorder).execute_system_timer_task()
    assert recorder.ticks == 1
