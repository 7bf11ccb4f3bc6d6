"""Tasks that wait for messages: sensors and Kafka listeners, and how a message reaches them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from uuid import UUID

from dagger.tasks._base import _COMPLETED, ITask
from dagger.tasks._engine import engine
from dagger.tasks._status import ENDED_WELL, KT, VT, WAITING, TaskLookupKey, TaskStatus, TaskStatusEnum, status_of
from dagger.utils import clock

if TYPE_CHECKING:
    from dagger.tasks._workflow import ITemplateDAGInstance

logger = logging.getLogger("dagger.tasks.task")


class SensorTask(ITask[KT, VT], namespace="dagger.tasks.task.SensorTask"):
    """A task that halts its workflow until a message correlated to it makes ``on_message`` return True."""

    match_only_one: bool = False

    async def start(self, workflow_instance: ITemplateDAGInstance | None) -> None:
        """Become EXECUTING and wait for a message."""
        if self.status.code in ENDED_WELL:
            return await self.on_complete(status=self.status, workflow_instance=workflow_instance)
        if self.status.code == TaskStatusEnum.NOT_STARTED.name:
            self.status = status_of(TaskStatusEnum.EXECUTING)
            self.time_submitted = clock.now()
            await engine()._update_instance(task=workflow_instance)

    async def on_complete(
        self,
        workflow_instance: ITemplateDAGInstance | None,
        status: TaskStatus = _COMPLETED,
        *,
        iterate: bool = True,
    ) -> None:
        """End the task, give back its correlation entry unless it may still receive messages, and move on."""
        if workflow_instance is not None and not self._still_receives(status):
            await self._release(workflow_instance)
        await super().on_complete(workflow_instance=workflow_instance, status=status, iterate=iterate)

    def _still_receives(self, status: TaskStatus) -> bool:
        """A completed task that reprocesses messages, or a skipped one that may be skipped to, keeps listening."""
        if status.code == TaskStatusEnum.COMPLETED.name:
            return self.reprocess_on_message
        return status.code == TaskStatusEnum.SKIPPED.name and self.allow_skip_to

    async def _release(self, workflow_instance: ITemplateDAGInstance) -> None:
        if self.id in workflow_instance.sensor_tasks_to_correletable_map:
            await engine().remove_task_from_correletable_keys_table(self, workflow_instance=workflow_instance)

    async def _update_correletable_key(self, workflow_instance: ITask) -> None:
        """Register the task under the current value of its correlation attribute.

        A value missing from the runtime parameters registers nothing (the old key is still removed).
        """
        parameters = getattr(workflow_instance, "runtime_parameters", None)
        if not workflow_instance or parameters is None:
            logger.error("No workflow given; correlation key of task %s not updated", self.id)
            return
        if self.status.code in WAITING:
            value = parameters.get(self.correlatable_key)
            await engine().update_correletable_key_for_task(
                self, None if value is None else str(value), workflow_instance=workflow_instance
            )

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        """Nothing to stop by default: the engine removes the task's correlation entry."""

    async def evaluate(self, **kwargs: Any) -> UUID | None:
        """Sensors do not choose successors."""
        raise NotImplementedError("Sensor does not evaluate")

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        """Sensors do not execute; they receive messages."""
        raise NotImplementedError("Sensor does not execute")


class KafkaListenerTask(SensorTask[KT, VT], namespace="dagger.tasks.task.KafkaListenerTask"):
    """A sensor that waits for a message on the Kafka topic named ``topic``.

    Subclasses set ``correlatable_key`` (the runtime parameter to correlate by) and extract the value
    from a payload with ``get_correlatable_key(s)_from_payload``.
    """

    topic: str | None = None

    def get_correlatable_key(self, payload: Any) -> TaskLookupKey:
        """Return the payload itself; subclasses extract the ``(attribute, value)`` pair."""
        return payload


async def deliver_message(topic_name: str, workflow_instance: ITemplateDAGInstance, task: ITask, event: Any) -> bool:
    """Hand a message from ``topic_name`` to a listener that is waiting on it; return True if it was taken.

    An EXECUTING listener, or a SKIPPED one that allows skipping to it, handles the message with
    ``on_message`` and completes when that returns True. A NOT_STARTED listener that allows skipping to
    it first skips the unfinished tasks before it, then does the same. A COMPLETED listener reprocesses
    the message if it asks to (else its workflow is walked on); any other listener ignores the message.
    """
    if task is None or not getattr(task, "topic", None) or task.topic != topic_name:
        return False
    code = task.status.code
    if code == TaskStatusEnum.NOT_STARTED.name and task.allow_skip_to:
        await _skip_to(task, workflow_instance)
    elif code == TaskStatusEnum.COMPLETED.name:
        if task.reprocess_on_message:
            await task.on_message(workflow_instance.runtime_parameters, event)
            await workflow_instance._update_global_runtime_parameters()
        else:
            await task.start(workflow_instance)
        await engine()._update_instance(task=workflow_instance)
        return True
    elif code != TaskStatusEnum.EXECUTING.name and not (code == TaskStatusEnum.SKIPPED.name and task.allow_skip_to):
        logger.info("Task %s is %s; message on %s ignored", task.id, code, topic_name)
        return False
    completed = await task.on_message(workflow_instance.runtime_parameters, event)
    await workflow_instance._update_global_runtime_parameters()
    if completed:
        await task.on_complete(workflow_instance=workflow_instance)
    await engine()._update_instance(task=workflow_instance)
    return True


async def _skip_to(task: ITask, workflow_instance: ITemplateDAGInstance) -> None:
    earlier = await workflow_instance.get_remaining_tasks(
        workflow_instance.root_dag,  # type: ignore[arg-type]
        workflow_instance=workflow_instance,
        tasks=[],
        end_task_id=task.get_id(),
    )
    task.status = status_of(TaskStatusEnum.EXECUTING)
    task.time_submitted = clock.now()
    skipped = status_of(TaskStatusEnum.SKIPPED)
    for previous in (earlier or [])[:-1]:
        if previous.status.code in WAITING:
            await previous.on_complete(workflow_instance=workflow_instance, status=skipped, iterate=False)
