"""Workflow requests: creating, starting and stopping workflows, each on the worker that owns it.

A request made on another worker travels on the tasks topic, keyed by the workflow's partition key:
a created or submitted workflow as its record (a submission marked ``dagger-kind: submit``), a stop as
:func:`dagger.wire.encode_stop`'s body marked ``dagger-kind: stop``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dagger import codec
from dagger.modeler._creation import mark_found_stored
from dagger.service._correlation import Correlation
from dagger.service._dead_letters import DeadLetters
from dagger.service._partitions import workflow_key
from dagger.service._persistence import WorkflowPersistence
from dagger.service._placement import Placement
from dagger.service._routing import where
from dagger.service._timers import Timers
from dagger.service._unit_of_work import in_unit_of_work, record_change
from dagger.tasks.task import ITask, ITemplateDAGInstance, TaskStatusEnum
from dagger.wire import KIND, MALFORMED, STOP, SUBMIT, UNDECODABLE, decode_stop, encode_stop, headers_of

logger = logging.getLogger("dagger.service.services")


@dataclass
class WorkflowRequests:
    """Stores created workflows, starts submitted ones and stops them, on their owner."""

    tasks_topic: Any
    placement: Placement
    persistence: WorkflowPersistence
    timers: Timers
    correlation: Correlation
    dead_letters: DeadLetters

    async def on_tasks_message(self, message: Any) -> None:
        """A message on the tasks topic: store a created workflow, start a submitted one, or stop one."""
        kind = headers_of(message).get(KIND)
        if kind == STOP:
            await self._stop_requested(message)
            return
        try:
            workflow = codec.loads(message.value, expected=ITask, strict=True)
        except Exception as error:
            await self.dead_letters.send(message, UNDECODABLE, f"not a workflow: {type(error).__name__}: {error}")
            return
        if not isinstance(workflow, ITemplateDAGInstance):
            await self.dead_letters.send(message, MALFORMED, f"a {type(workflow).__name__}, not a workflow")
            return
        try:
            await self.store_and_start(workflow, submission=kind == SUBMIT)
        except Exception:
            logger.exception("Creating workflow %s from %s failed", workflow.id, where(message))

    async def store_and_start(
        self, task: ITemplateDAGInstance, *, submission: bool = False
    ) -> ITemplateDAGInstance | None:
        """Store a created workflow unless one with its id exists, and start it when SUBMITTED.

        A stored NOT_STARTED workflow starts when it arrives again SUBMITTED; any other stored workflow
        is returned unchanged, marked as found by a repeated creation, which is logged at INFO (a
        ``submission`` of it, which follows a creation, at DEBUG). On a worker that does not own the
        workflow it is sent to its owner instead.
        """
        partition = self.placement.partition_of(task)
        if not self.placement.owns(partition):
            headers = {KIND: SUBMIT} if submission else None
            await self.tasks_topic.send(key=workflow_key(task), value=task, headers=headers)
            return None
        async with self.persistence.lock(task.id):
            stored = self.persistence.load(partition, task.id)
            workflow = task
            if stored is not None:
                workflow = stored
                if not (_is(workflow, TaskStatusEnum.NOT_STARTED) and _is(task, TaskStatusEnum.SUBMITTED)):
                    _log_repeated(workflow, submission)
                    mark_found_stored(workflow)
                    return workflow
                workflow.status = task.status
            async with self.persistence.unit():
                if stored is None:
                    await self.correlation.register_all(workflow)
                self.timers.schedule_all(workflow)
                if _is(workflow, TaskStatusEnum.SUBMITTED):
                    await workflow.start(workflow_instance=workflow)
                record_change(workflow)
            return workflow

    async def stop(self, workflow: ITemplateDAGInstance, runtime_parameters: dict[str, str] | None = None) -> None:
        """Stop ``workflow``: in place while one of its events is handled, else on its owner, on its stored state.

        On the owner, ``workflow`` is brought up to the stopped state; elsewhere the stop is sent to the owner.
        """
        if in_unit_of_work():
            await workflow._halt(runtime_parameters)
            return
        partition = self.placement.partition_of(workflow)
        if not self.placement.owns(partition):
            await self.tasks_topic.send(
                key=workflow_key(workflow), value=encode_stop(workflow.id, runtime_parameters), headers={KIND: STOP}
            )
            return
        stopped = await self._stop_stored(partition, workflow.id, runtime_parameters)
        if stopped is not None:
            for name in type(stopped)._options.fields:
                setattr(workflow, name, getattr(stopped, name))

    async def _stop_requested(self, message: Any) -> None:
        """Stop the workflow named by a stop request on the tasks topic."""
        try:
            workflow_id, runtime_parameters = decode_stop(message.value)
        except ValueError as error:
            await self.dead_letters.send(message, MALFORMED, f"stop request: {error}")
            return
        await self._stop_stored(message.partition, workflow_id, runtime_parameters)

    async def _stop_stored(
        self, partition: int, workflow_id: UUID, runtime_parameters: dict[str, str] | None = None
    ) -> ITemplateDAGInstance | None:
        """Stop the stored workflow ``workflow_id`` of ``partition`` under its lock; return it, or None if absent."""
        async with self.persistence.lock(workflow_id):
            workflow = self.persistence.load(partition, workflow_id)
            if workflow is None:
                logger.warning("Workflow %s to stop is not stored", workflow_id)
                return None
            async with self.persistence.unit():
                await workflow._halt(runtime_parameters)
            return workflow


def _is(task: ITask, status: TaskStatusEnum) -> bool:
    return task.status.code == status.name


def _log_repeated(workflow: ITemplateDAGInstance, submission: bool) -> None:
    """Log that a workflow arrived again: a repeated creation at INFO, the submission after it at DEBUG."""
    if submission:
        logger.debug(
            "Workflow %s is already %s; submitting it again changes nothing", workflow.id, workflow.status.code
        )
    else:
        logger.info(
            "Workflow %s is already stored (%s); the repeated creation changes nothing",
            workflow.id,
            workflow.status.code,
        )
