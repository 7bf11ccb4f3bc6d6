"""Timers: the one place a timer is scheduled, and the tick that fires the due ones.

A timer is a :class:`~dagger.tasks.task.Trigger` in the store's time-ordered index, in the partition of
its workflow, written only by the worker that owns that partition. The tick reads the due timers of
the partitions this worker owns and fires each on its workflow, under the workflow's lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from dagger import codec
from dagger.service._persistence import WorkflowPersistence
from dagger.service._placement import Placement
from dagger.service._unit_of_work import record_change
from dagger.store.stores import IStore, trigger_of
from dagger.tasks._status import is_terminal
from dagger.tasks.task import ITemplateDAGInstance, TaskStatusEnum, Trigger, TriggerTask

logger = logging.getLogger("dagger.service.services")


class Timers:
    """Schedules the timers of trigger tasks and fires them when due.

    ``in_transaction`` gives the context a tick's work runs in (a transaction under exactly-once).
    """

    def __init__(
        self,
        store: IStore,
        placement: Placement,
        persistence: WorkflowPersistence,
        in_transaction: Callable[[], AbstractAsyncContextManager[None]],
    ) -> None:
        self.store = store
        self.placement = placement
        self.persistence = persistence
        self.in_transaction = in_transaction
        self.ticking = asyncio.Lock()
        """Held while a tick runs: the engine waits for it before it stops."""

    def schedule(self, task: TriggerTask, workflow: ITemplateDAGInstance) -> None:
        """Schedule the timer of ``task`` in its workflow's partition, on the workflow's owner.

        Elsewhere (a workflow created on another worker) nothing is written: the owner schedules the
        workflow's timers when it stores the workflow.
        """
        partition = self.placement.partition_of(workflow)
        if self.placement.owns(partition):
            self.store.triggers.add(partition, trigger_of(task, workflow))

    def schedule_all(self, workflow: ITemplateDAGInstance) -> None:
        """Schedule the timer of every trigger task of a workflow being stored that has a time and has not ended."""
        for task in workflow.tasks.values():
            if isinstance(task, TriggerTask) and task.time_to_execute and not is_terminal(task.status.code):
                self.schedule(task, workflow)

    async def tick(self) -> None:
        """Fire the due timers of the partitions this worker owns; a timer that fails is logged and kept.

        Nothing fires while partitions move or the tables recover: their state is not complete yet.
        """
        async with self.ticking:
            if not self.placement.tables_ready():
                return
            async for trigger in self.store.get_valid_triggers():
                try:
                    await self.fire(trigger)
                except Exception:
                    logger.exception("Timer of task %s of workflow %s failed", trigger.id, trigger.workflow_id)

    async def tick_when_ready(self) -> None:
        """Tick once the tables are ready (after a rebalance), unless the engine stops first."""
        while not self.placement.tables_ready():
            if self.placement.stopping():
                return
            await asyncio.sleep(0.1)
        await self.tick()

    async def fire(self, trigger: Trigger) -> None:
        """Run the task of a due trigger on its workflow and save the workflow.

        A trigger whose task has not started yet is dropped: the task schedules it again when it starts.
        """
        workflow_id, task_id = trigger.workflow_id, trigger.id
        async with self.in_transaction(), self.persistence.lock(workflow_id):  # type: ignore[arg-type]
            found = self.store.find_workflow(str(workflow_id))
            if found is None:
                await self.store.remove_trigger(trigger)
                return
            partition, payload = found
            workflow = codec.loads(payload, expected=ITemplateDAGInstance, strict=True)
            task = workflow.get_task(task_id)
            if task is None or task.status.code != TaskStatusEnum.EXECUTING.name:
                self.store.triggers.remove(partition, workflow_id, task_id)  # type: ignore[arg-type]
                return
            async with self.persistence.unit():
                await task.start(workflow_instance=workflow)
                record_change(workflow)
            if is_terminal(task.status.code):
                self.store.triggers.remove(partition, workflow_id, task_id)  # type: ignore[arg-type]
