"""Tasks that contain other tasks: processes and parallel composites."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any
from uuid import UUID

from dagger.tasks._base import _COMPLETED, ITask
from dagger.tasks._engine import engine
from dagger.tasks._status import (
    COMPLETE_BY_KEY,
    ENDED_WELL,
    KT,
    VT,
    TaskLookupKey,
    TaskOperator,
    TaskStatus,
    TaskStatusEnum,
    TaskType,
    is_terminal,
    status_of,
)
from dagger.tasks._timers import IMonitoredTask, SkipOnMaxDurationTask
from dagger.utils import clock

if TYPE_CHECKING:
    from dagger.tasks._workflow import ITemplateDAGInstance

logger = logging.getLogger("dagger.tasks.task")

_STARTABLE = (TaskStatusEnum.NOT_STARTED.name, TaskStatusEnum.SUBMITTED.name)


class INonLeafNodeTask(ITask[KT, VT], namespace="dagger.tasks.task.INonLeafNodeTask"):
    """A task that runs a chain of child tasks, starting with ``root_dag``; processes and workflows."""

    task_type: str = TaskType.SUB_DAG.name

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        """Mark the task STOPPED."""
        self.status = status_of(TaskStatusEnum.STOPPED)

    async def start(self, workflow_instance: ITemplateDAGInstance | None) -> None:
        """Become EXECUTING and start the first child."""
        if self.status.code in ENDED_WELL and not self.reprocess_on_message:
            return await self.on_complete(status=self.status, workflow_instance=workflow_instance)
        if is_terminal(self.status.code):
            return None
        if self.status.code in _STARTABLE and workflow_instance is not None:
            await self.execute(
                runtime_parameters=workflow_instance.runtime_parameters, workflow_instance=workflow_instance
            )
            await engine()._update_instance(task=workflow_instance)
        first = workflow_instance.get_task(self.root_dag) if workflow_instance is not None else None
        if first is None:
            logger.error("First task %s of %s is not part of the workflow", self.root_dag, self.id)
            return None
        await first.start(workflow_instance=workflow_instance)

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        """Mark the task EXECUTING."""
        self.status = status_of(TaskStatusEnum.EXECUTING)
        self.time_submitted = clock.now()


class ParallelCompositeTask(ITask[KT, VT], namespace="dagger.tasks.task.ParallelCompositeTask"):
    """Starts all its children together and completes when they join (``operator_type``).

    With JOIN_ALL it completes once every child has ended, and fails as soon as one fails. With
    ATLEAST_ONE it completes once one child has ended well, and fails when all have ended and none did.
    """

    task_type: str = TaskType.PARALLEL_COMPOSITE.name
    parallel_child_task_list: set[UUID] = set()
    operator_type: str = TaskOperator.JOIN_ALL.name
    process_name: str | None = None

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        """Nothing to stop: the workflow stops the children."""

    async def start(self, workflow_instance: ITemplateDAGInstance | None) -> None:
        """Become EXECUTING and start every child."""
        if self.status.code in ENDED_WELL:
            return await self.on_complete(workflow_instance=workflow_instance, status=self.status)
        if is_terminal(self.status.code) or workflow_instance is None:
            return None
        if self.status.code in _STARTABLE:
            self.status = status_of(TaskStatusEnum.EXECUTING)
            self.time_submitted = clock.now()
            await self.execute(
                runtime_parameters=workflow_instance.runtime_parameters, workflow_instance=workflow_instance
            )
            await engine()._update_instance(task=workflow_instance)
        for child_id in list(self.parallel_child_task_list):
            if is_terminal(workflow_instance.status.code):
                break
            child = workflow_instance.get_task(child_id)
            if child is None:
                logger.error("Parallel child %s of %s is not part of the workflow", child_id, self.id)
            else:
                await child.start(workflow_instance)

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        """Mark the task EXECUTING."""
        self.status = status_of(TaskStatusEnum.EXECUTING)
        self.time_submitted = clock.now()

    async def notify(self, status: TaskStatus, workflow_instance: ITemplateDAGInstance | None = None) -> None:
        """Complete or fail the composite once its children join."""
        if self.status.code == status.code or is_terminal(self.status.code) or workflow_instance is None:
            return
        outcome = self._join(workflow_instance, status)
        if outcome is not None:
            await self.on_complete(workflow_instance=workflow_instance, status=outcome)

    def _join(self, workflow_instance: ITemplateDAGInstance, status: TaskStatus) -> TaskStatus | None:
        codes = []
        for child_id in self.parallel_child_task_list:
            child = workflow_instance.get_task(child_id)
            if child is None:
                logger.error("Parallel child %s of %s is not part of the workflow", child_id, self.id)
            else:
                codes.append(child.status.code)
        failed = status_of(TaskStatusEnum.FAILURE)
        all_ended = all(is_terminal(code) for code in codes)
        if self.operator_type == TaskOperator.ATLEAST_ONE.name:
            if any(code in ENDED_WELL for code in codes):
                return status if status.code in ENDED_WELL else _COMPLETED
            return failed if all_ended else None
        if TaskStatusEnum.FAILURE.name in codes:
            return failed
        return status if all_ended else None

    async def on_message(self, runtime_parameters: dict[str, str], *args: Any, **kwargs: Any) -> bool:
        """Composites do not receive messages."""
        raise NotImplementedError("ParallelCompositeTask does not process on_message")

    async def evaluate(self, **kwargs: Any) -> UUID | None:
        """Composites do not choose successors."""
        raise NotImplementedError("ParallelCompositeTask does not evaluate")

    def get_correlatable_key(self, payload: Any) -> TaskLookupKey:
        """Composites are not correlated to messages."""
        raise NotImplementedError("ParallelCompositeTask does not process get_correlatable_key")


class IProcessTemplateDAGInstance(INonLeafNodeTask[KT, VT], namespace="dagger.tasks.task.IProcessTemplateDAGInstance"):
    """A process: a named chain of tasks inside a workflow."""

    process_name: str | None = None
    max_run_duration_monitor_task_id: UUID | None = None
    max_run_duration: int = 0


class DefaultProcessTemplateDAGInstance(
    IProcessTemplateDAGInstance[str, str], namespace="dagger.tasks.task.DefaultProcessTemplateDAGInstance"
):
    """The default process. With ``max_run_duration`` seconds set, a process still running after that
    long is skipped and the workflow moves on."""

    async def on_complete(
        self,
        workflow_instance: ITemplateDAGInstance | None,
        status: TaskStatus = _COMPLETED,
        iterate: bool = True,
    ) -> None:
        """Complete the maximum-duration monitor, then the process."""
        await _complete_monitor(self.max_run_duration_monitor_task_id, workflow_instance, iterate)
        await super().on_complete(workflow_instance=workflow_instance, status=status, iterate=iterate)

    async def execute(
        self, runtime_parameters: dict[str, str], workflow_instance: ITemplateDAGInstance | None = None
    ) -> None:
        """Mark the process EXECUTING and schedule its maximum-duration monitor."""
        await super().execute(runtime_parameters=runtime_parameters, workflow_instance=workflow_instance)
        await self.setup_max_run_duration(wokflow_instance=workflow_instance)

    async def setup_max_run_duration(self, wokflow_instance: ITemplateDAGInstance | None) -> None:
        """Create and schedule the :class:`SkipOnMaxDurationTask` watching this process."""
        if not self.max_run_duration or wokflow_instance is None:
            return
        monitor = SkipOnMaxDurationTask(
            id=uuid.uuid1(), monitored_task_id=self.id, time_to_execute=clock.now() + self.max_run_duration
        )
        monitor.status = status_of(TaskStatusEnum.EXECUTING)
        wokflow_instance.add_task(task=monitor)
        self.max_run_duration_monitor_task_id = monitor.id
        await engine()._store_trigger_instance(task_instance=monitor, workflow_instance=wokflow_instance)

    async def on_message(self, runtime_parameters: dict[str, VT], *args: Any, **kwargs: Any) -> bool:
        """Processes do not receive messages."""
        raise NotImplementedError("ProcessInstance does not process on_message")

    async def evaluate(self, **kwargs: Any) -> UUID | None:
        """Processes do not choose successors."""
        raise NotImplementedError("ProcessInstance does not evaluate")

    def get_correlatable_key(self, payload: Any) -> TaskLookupKey:
        """Processes are not correlated to messages."""
        raise NotImplementedError("ProcessInstance does not process get_correlatable_key")


class MonitoredProcessTemplateDAGInstance(
    DefaultProcessTemplateDAGInstance,
    IMonitoredTask,
    namespace="dagger.tasks.task.MonitoredProcessTemplateDAGInstance",
):
    """A process watched by a monitor that fires at the runtime parameter ``complete_by_time``."""

    monitoring_task_id: UUID | None = None

    def get_monitoring_task_type(self) -> type:
        """Return the monitoring task class to create; subclasses must override it.

        Raises:
            NotImplementedError: always, in this class.
        """
        raise NotImplementedError("Monitored processes name their monitoring task type")

    async def on_complete(
        self,
        workflow_instance: ITemplateDAGInstance | None,
        status: TaskStatus = _COMPLETED,
        iterate: bool = True,
    ) -> None:
        """Complete the monitor, then the process."""
        await _complete_monitor(self.monitoring_task_id, workflow_instance, iterate)
        await super().on_complete(workflow_instance=workflow_instance, status=status, iterate=iterate)

    async def execute(
        self, runtime_parameters: dict[str, str], workflow_instance: ITemplateDAGInstance | None = None
    ) -> None:
        """Mark the process EXECUTING and schedule its monitor."""
        await super().execute(runtime_parameters=runtime_parameters, workflow_instance=workflow_instance)
        await self.setup_monitoring_task(workflow_instance=workflow_instance)

    async def setup_monitoring_task(self, workflow_instance: ITemplateDAGInstance | None) -> None:
        """Create and schedule the monitor when ``complete_by_time`` is set and none exists yet."""
        due = workflow_instance.runtime_parameters.get(COMPLETE_BY_KEY) if workflow_instance else None
        if not due or self.monitoring_task_id is not None or workflow_instance is None:
            return
        monitor = self.get_monitoring_task_type()(id=uuid.uuid1(), monitored_task_id=self.id, time_to_execute=int(due))
        monitor.status = status_of(TaskStatusEnum.EXECUTING)
        workflow_instance.add_task(task=monitor)
        self.monitoring_task_id = monitor.id
        await engine()._store_trigger_instance(task_instance=monitor, workflow_instance=workflow_instance)


async def _complete_monitor(
    monitor_id: UUID | None, workflow_instance: ITemplateDAGInstance | None, iterate: bool
) -> None:
    if monitor_id is None or workflow_instance is None:
        return
    monitor = workflow_instance.get_task(monitor_id)
    if monitor is not None and not is_terminal(monitor.status.code):
        await monitor.on_complete(workflow_instance=workflow_instance, iterate=iterate)
