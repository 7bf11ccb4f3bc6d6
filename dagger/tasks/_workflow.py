"""The workflow: the root task that holds every task of one run, its parameters and its correlations."""

from __future__ import annotations

import inspect
import logging
from typing import Any
from uuid import UUID

from dagger import codec
from dagger.tasks._base import ITask
from dagger.tasks._composite import INonLeafNodeTask
from dagger.tasks._engine import engine
from dagger.tasks._records import CorrelatableMapValue
from dagger.tasks._sensor import SensorTask
from dagger.tasks._status import KT, VT, WAITING, TaskLookupKey, TaskStatusEnum, TaskType, is_terminal, status_of
from dagger.tasks._timers import MonitoringTask
from dagger.utils import clock

logger = logging.getLogger("dagger.tasks.task")


class ITemplateDAGInstance(INonLeafNodeTask[KT, VT], namespace="dagger.tasks.task.ITemplateDAGInstance"):
    """A workflow: the ROOT task. It holds every task in ``tasks`` and the ``runtime_parameters`` they share."""

    template_name: str | None = None
    partition_key_lookup: str | None = None
    task_type = TaskType.ROOT.name
    tasks: dict[UUID, ITask] = {}
    sensor_tasks_to_correletable_map: dict[UUID, CorrelatableMapValue] = {}
    runtime_parameters: dict[str, VT] = {}
    update_count: int = 0

    def add_task(self, task: ITask) -> None:
        """Make ``task`` part of the workflow."""
        self.tasks[task.id] = task

    def get_task(self, id: UUID | None) -> ITask | None:
        """Return the task with ``id`` (the workflow itself for its own id), or None."""
        if id == self.id:
            return self
        return self.tasks.get(id) if id else None

    async def _update_global_runtime_parameters(self) -> None:
        """Re-key every waiting listener whose correlation attribute changed value."""
        for task_id, correlation in self.sensor_tasks_to_correletable_map.items():
            current = self.runtime_parameters.get(correlation.correlatable_key_attr)
            current_value = None if current is None else str(current)
            sensor = self.get_task(task_id)
            if (
                sensor is not None
                and sensor.status.code in WAITING
                and current_value != correlation.correlatable_key_attr_value
            ):
                await sensor._update_correletable_key(self)
                correlation.correlatable_key_attr_value = current_value  # type: ignore[assignment]

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        """Stop the workflow: call ``stop`` on every EXECUTING task and mark every unfinished task STOPPED.

        The tasks' ``stop`` hooks get the stored workflow's runtime parameters, with ``runtime_parameters``
        applied to them first, so what a hook writes there is saved with the stopped workflow. A finished
        workflow is left unchanged. Called from outside the engine (an application's own
        code), the stop happens on the worker that owns the workflow, on its stored state; when that
        is this worker, this object shows the stopped state once the call returns.
        """
        if is_terminal(self.status.code):
            return
        await engine()._stop_instance(self, runtime_parameters)

    async def _halt(self, runtime_parameters: dict[str, Any] | None = None) -> None:
        """Stop this workflow object in place, ``runtime_parameters`` applied to its own, and ask for it to be saved."""
        if is_terminal(self.status.code):
            return
        if runtime_parameters is not None and runtime_parameters is not self.runtime_parameters:
            self.runtime_parameters.update(runtime_parameters)
        parameters: dict[str, Any] = self.runtime_parameters
        for task in list(self.tasks.values()):
            if task.status.code == TaskStatusEnum.EXECUTING.name:
                await _stop_task(task, parameters, self)
            if not is_terminal(task.status.code):
                task.status = status_of(TaskStatusEnum.STOPPED)
                await task._release(self)
        await super().stop(runtime_parameters=parameters, workflow_instance=self)
        await self.on_complete(workflow_instance=self, status=self.status)
        await engine()._update_instance(task=self)

    async def _finish(self) -> None:
        """Clean up after the workflow ended: complete monitors, give back what unfinished tasks hold."""
        for task in list(self.tasks.values()):
            if isinstance(task, MonitoringTask) and not is_terminal(task.status.code):
                await task.on_complete(workflow_instance=self, iterate=False)
            elif not is_terminal(task.status.code) or (
                isinstance(task, SensorTask) and task._still_receives(task.status)
            ):
                await task._release(self)
        if getattr(engine(), "delete_workflow_on_complete", False) is True:
            await engine()._remove_root_template_instance(self)


async def _stop_task(task: ITask, runtime_parameters: dict[str, str], workflow_instance: ITemplateDAGInstance) -> None:
    """Call a task's ``stop``, accepting the older signature without parameters; log what it raises."""
    try:
        if inspect.signature(task.stop).parameters:
            await task.stop(runtime_parameters=runtime_parameters, workflow_instance=workflow_instance)
        else:
            await task.stop()
    except Exception:
        logger.exception("Stopping task %s of workflow %s failed", task.id, workflow_instance.id)


class DefaultTemplateDAGInstance(
    ITemplateDAGInstance[str, str], namespace="dagger.tasks.task.DefaultTemplateDAGInstance"
):
    """The default workflow."""

    def get_correlatable_key(self, payload: Any) -> TaskLookupKey:
        """Workflows are not correlated to messages."""
        raise NotImplementedError("DefaultTemplateDAGInstance does not process get_correlatable_key")

    async def evaluate(self, **kwargs: Any) -> UUID | None:
        """Workflows do not choose successors."""
        raise NotImplementedError("DefaultTemplateDAGInstance does not evaluate")

    async def on_message(self, runtime_parameters: dict[str, VT], *args: Any, **kwargs: Any) -> bool:
        """Workflows do not receive messages."""
        raise NotImplementedError("DefaultTemplateDAGInstance does not process on_message")


def new_version(workflow: ITemplateDAGInstance) -> bytes:
    """Count a new saved version of ``workflow`` (its ``update_count`` and ``lastupdated``) and return its
    encoding, as it is stored and published."""
    workflow.lastupdated = clock.now()
    workflow.update_count += 1
    return codec.dumps(workflow)
