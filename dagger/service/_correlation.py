"""Correlation: which listener waits on which correlation value, kept in the correlation index.

A listener is registered under the value of its workflow's correlation attribute when its workflow is
first stored (or when the value changes later), and unregistered once the save that finished it is
durable. Entries are written on the owner of the value's partition (:meth:`EventRouter.update_index`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from functools import partial
from uuid import UUID

from dagger.modeler._creation import being_created
from dagger.service._partitions import workflow_key
from dagger.service._routing import EventRouter
from dagger.service._unit_of_work import after_commit
from dagger.store._correlation_index import CorrelationIndex, split_lookup_key
from dagger.tasks.task import (
    CorrelatableMapValue,
    CorreletableKeyTasks,
    CorreletableLookUpKey,
    ITask,
    ITemplateDAGInstance,
    TaskStatusEnum,
)
from dagger.types import Placement

logger = logging.getLogger("dagger.service.services")

ReadWorkflow = Callable[[str], Awaitable[ITemplateDAGInstance | None]]


class Correlation:
    """Registers listeners in the correlation ``index`` and reads it; ``read_workflow`` finds a workflow held here."""

    def __init__(
        self, index: CorrelationIndex, placement: Placement, router: EventRouter, read_workflow: ReadWorkflow
    ) -> None:
        self.index = index
        self.placement = placement
        self.router = router
        self.read_workflow = read_workflow

    async def register_new(self, task: ITask, workflow: ITemplateDAGInstance) -> None:
        """Register a new listener under the current value of its correlation attribute."""
        value = workflow.runtime_parameters.get(task.correlatable_key)  # type: ignore[arg-type]
        await self.register(task, None if value is None else str(value), new_task=True, workflow=workflow)

    async def register(
        self, task: ITask, value: str | None, new_task: bool, workflow: ITemplateDAGInstance | None
    ) -> None:
        """Register ``task`` under correlation ``value``, first removing its earlier value; None waits on nothing.

        The listeners of a workflow being created are written to the index when it is stored (:meth:`register_all`).
        """
        if workflow is None:
            logger.error("No workflow given; correlation of task %s not updated", task.id)
            return
        if not new_task:
            registered = workflow.sensor_tasks_to_correletable_map.get(task.id)
            if registered is not None and registered.correlatable_key_attr_value == value:
                return
            await self.unregister(task, workflow)
        workflow.sensor_tasks_to_correletable_map[task.id] = CorrelatableMapValue(
            correlatable_key_attr=task.correlatable_key, correlatable_key_attr_value=value
        )
        if value is not None and not being_created(workflow.id):
            await self._add(workflow, task.id, task.topic, value)

    async def register_all(self, workflow: ITemplateDAGInstance) -> None:
        """Register every listener of a workflow being stored for the first time."""
        for task_id, registered in workflow.sensor_tasks_to_correletable_map.items():
            task = workflow.get_task(task_id)
            if task is not None and registered.correlatable_key_attr_value is not None:
                await self._add(workflow, task_id, task.topic, registered.correlatable_key_attr_value)

    async def unregister(self, task: ITask, workflow: ITemplateDAGInstance) -> None:
        """Unregister ``task`` from the value it waits on, once the current unit of work is saved."""
        registered = workflow.sensor_tasks_to_correletable_map.get(task.id)
        if registered is None or registered.correlatable_key_attr_value is None:
            return
        entry = CorreletableLookUpKey(workflow_id=workflow.id, task_id=task.id)
        remove = partial(self.router.update_index, False, registered.correlatable_key_attr_value, task.topic, entry)
        if not after_commit(remove):
            await remove()

    async def _add(self, workflow: ITemplateDAGInstance, task_id: UUID, topic: str, value: str) -> None:
        entry = CorreletableLookUpKey(workflow_id=workflow.id, task_id=task_id, partition_key=workflow_key(workflow))
        await self.router.update_index(True, value, topic, entry)

    async def add_to_chain(self, head: CorreletableKeyTasks, task_id: UUID, workflow_id: UUID) -> None:
        """Register task ``task_id`` of workflow ``workflow_id`` in the chain of index chunks ``head`` is part of."""
        workflow = await self.read_workflow(str(workflow_id))
        partition_key = None if workflow is None else workflow_key(workflow)
        entry = CorreletableLookUpKey(workflow_id=workflow_id, task_id=task_id, partition_key=partition_key)
        await self._update_chain(True, head.key, [entry])

    async def replace_chain(
        self, lookup_keys: Iterable[CorreletableLookUpKey], chunks: list[CorreletableKeyTasks]
    ) -> None:
        """Make the chain of index ``chunks`` (head first) hold exactly the tasks of ``lookup_keys``."""
        if not chunks:
            logger.error("No correlation index chunks given; nothing persisted")
            return
        wanted = {(entry.workflow_id, entry.task_id): entry for entry in lookup_keys}
        held = {(entry.workflow_id, entry.task_id): entry for chunk in chunks for entry in chunk.lookup_keys}
        head = chunks[0].key
        await self._update_chain(False, head, [entry for task, entry in held.items() if task not in wanted])
        await self._update_chain(True, head, [entry for task, entry in wanted.items() if task not in held])

    async def _update_chain(self, add: bool, key: str | None, entries: list[CorreletableLookUpKey]) -> None:
        """Add or remove ``entries`` in the chain of index chunks stored under ``key``.

        A listener's key (``<value>_<topic>``) is updated on the owner of its value; any other key (an
        overflow chunk's) where this worker holds it.
        """
        located = split_lookup_key(key, self.router.listeners) if key else None
        if located is not None:
            for entry in entries:
                await self.router.update_index(add, located[0], located[1], entry)
            return
        partition = self.index.holder(self.placement.owned_partitions(), key) if key else None
        if key is None or partition is None:
            if entries:
                logger.error("No listener's index chain is stored under %r here; the index is unchanged", key)
            return
        for entry in entries:
            self.index.update(partition, key, add, entry)

    def chunks(self, key: str) -> list[CorreletableKeyTasks]:
        """The chunks stored under ``key`` in the partitions this worker owns."""
        return [chunk for partition in self.placement.owned_partitions() for chunk in self.index.chunks(partition, key)]

    async def waiting(self, key: str, get_completed: bool = False) -> AsyncIterator[tuple[ITemplateDAGInstance, ITask]]:
        """Yield the ``(workflow, task)`` pairs waiting on index key ``key`` on this worker."""
        for partition in self.placement.owned_partitions():
            for entry in self.index.entries(partition, key):
                workflow = await self.read_workflow(str(entry.workflow_id))
                task = None if workflow is None else workflow.get_task(entry.task_id)
                if (
                    workflow is not None
                    and task is not None
                    and (get_completed or workflow.status.code != TaskStatusEnum.COMPLETED.name)
                ):
                    yield workflow, task
