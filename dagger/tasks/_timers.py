"""Tasks driven by time: triggers, intervals and monitors."""

from __future__ import annotations

import abc
import logging
from typing import TYPE_CHECKING
from uuid import UUID

from dagger.tasks._base import _COMPLETED, ITask
from dagger.tasks._engine import engine
from dagger.tasks._executor import ExecutorTask
from dagger.tasks._status import KT, VT, WAITING, TaskStatus, TaskStatusEnum, is_terminal, status_of
from dagger.utils import clock

if TYPE_CHECKING:
    from dagger.tasks._workflow import ITemplateDAGInstance

logger = logging.getLogger("dagger.tasks.task")


class TriggerTask(ExecutorTask[KT, VT], namespace="dagger.tasks.task.TriggerTask"):
    """An executor that waits until ``time_to_execute`` (epoch seconds) before running."""

    time_to_execute: int | None = None

    def is_due(self) -> bool:
        """Tell whether the task's time has come."""
        return not self.time_to_execute or clock.now() >= self.time_to_execute

    async def start(self, workflow_instance: ITemplateDAGInstance | None, ignore_status: bool = True) -> None:
        """Become EXECUTING and run now if the time has come; otherwise wait for the timer."""
        if self.status.code == TaskStatusEnum.NOT_STARTED.name:
            self.status = status_of(TaskStatusEnum.EXECUTING)
            self.time_submitted = clock.now()
        if self.is_due():
            await super().start(workflow_instance=workflow_instance, ignore_status=True)
        else:
            await self._wait_for_timer(workflow_instance)

    async def _wait_for_timer(self, workflow_instance: ITemplateDAGInstance | None) -> None:
        """Schedule the task's timer: it runs when the timer fires on the owner of its workflow."""
        logger.debug("Trigger task %s waits until %s", self.id, self.time_to_execute)
        if workflow_instance is not None:
            await engine()._store_trigger_instance(task_instance=self, workflow_instance=workflow_instance)

    async def on_complete(
        self,
        workflow_instance: ITemplateDAGInstance | None,
        status: TaskStatus = _COMPLETED,
        iterate: bool = True,
    ) -> None:
        """Remove the task's timer, then complete it with ``status``."""
        await self._release(workflow_instance)
        await super().on_complete(workflow_instance=workflow_instance, status=status, iterate=iterate)

    async def _release(self, workflow_instance: ITemplateDAGInstance | None) -> None:
        await engine()._store.process_trigger_task_complete(self, wokflow_instance=workflow_instance)


class IntervalTask(TriggerTask[KT, VT], namespace="dagger.tasks.task.IntervalTask"):
    """A trigger task that runs ``interval_execute`` every ``interval_execute_period`` seconds until it
    returns True or ``time_to_force_complete`` passes; then it runs ``execute`` and completes."""

    time_to_force_complete: int | None = None
    interval_execute_period: int | None = None

    async def start(self, workflow_instance: ITemplateDAGInstance | None) -> bool:  # type: ignore[override]
        """Run one interval if it is due; return True once the task has completed."""
        if self.status.code == TaskStatusEnum.NOT_STARTED.name:
            self.status = status_of(TaskStatusEnum.EXECUTING)
            self.time_submitted = clock.now()
            await engine()._update_instance(task=workflow_instance)
        deadline_passed = bool(self.time_to_force_complete) and clock.now() >= self.time_to_force_complete  # type: ignore[operator]
        if not deadline_passed and not self.is_due():
            await self._wait_for_timer(workflow_instance)
            return False
        finished = False
        if workflow_instance is not None:
            try:
                finished = await self.interval_execute(workflow_instance.runtime_parameters)
            except Exception as error:
                await self._fail(error)
                await self.on_complete(workflow_instance=workflow_instance, status=self.status)
                return True
        if finished or deadline_passed:
            await ExecutorTask.start(self, workflow_instance=workflow_instance, ignore_status=True)
            return True
        await self._schedule_next(workflow_instance)
        return False

    async def _schedule_next(self, workflow_instance: ITemplateDAGInstance | None) -> None:
        candidates = [clock.now() + self.interval_execute_period] if self.interval_execute_period else []
        if self.time_to_force_complete:
            candidates.append(self.time_to_force_complete)
        if not candidates:
            logger.warning("Interval task %s has neither a period nor a deadline; it waits forever", self.id)
            return
        await self._release(workflow_instance)
        self.time_to_execute = min(candidates)
        await engine()._update_instance(task=workflow_instance)
        if workflow_instance is not None:
            await engine()._store_trigger_instance(task_instance=self, workflow_instance=workflow_instance)

    async def interval_execute(self, runtime_parameters: dict[str, VT]) -> bool:
        """Run one interval; return True to finish the task. The default finishes at once."""
        return True


class MonitoringTask(TriggerTask[KT, VT], namespace="dagger.tasks.task.MonitoringTask"):
    """A trigger task that, at its time, looks at the task it monitors."""

    monitored_task_id: UUID | None = None

    @abc.abstractmethod
    async def process_monitored_task(
        self, monitored_task: ITask, workflow_instance: ITemplateDAGInstance | None
    ) -> None:
        """Act on the monitored task, which has not finished in time."""

    async def on_complete(
        self,
        workflow_instance: ITemplateDAGInstance | None,
        status: TaskStatus = _COMPLETED,
        iterate: bool = True,
    ) -> None:
        """Remove the monitor's timer and complete it with ``status``."""
        await super().on_complete(workflow_instance=workflow_instance, status=status, iterate=iterate)


class DefaultMonitoringTask(MonitoringTask[str, str], namespace="dagger.tasks.task.DefaultMonitoringTask"):
    """A monitor that calls ``process_monitored_task`` when the monitored task has not finished in time."""

    async def execute(
        self, runtime_parameters: dict[str, str], workflow_instance: ITemplateDAGInstance | None = None
    ) -> None:
        """Call ``process_monitored_task`` if the monitored task is still unfinished."""
        monitored = workflow_instance.get_task(self.monitored_task_id) if workflow_instance else None
        if monitored is not None and not is_terminal(monitored.status.code):
            logger.info("Task %s is overdue; monitor %s processes it", self.monitored_task_id, self.id)
            await self.process_monitored_task(monitored_task=monitored, workflow_instance=workflow_instance)


class SkipOnMaxDurationTask(DefaultMonitoringTask, namespace="dagger.tasks.task.SkipOnMaxDurationTask"):
    """The monitor of a process's ``max_run_duration``: skips a process that runs too long and moves on."""

    async def process_monitored_task(
        self, monitored_task: ITask, workflow_instance: ITemplateDAGInstance | None
    ) -> None:
        """Skip the still-executing process, its unfinished tasks and whatever was pending before it.

        The walk from the workflow's start does not enter parallel steps: a process inside one has only its
        own tasks skipped, and then its parallel step is told it has ended.
        """
        if workflow_instance is None or monitored_task.status.code != TaskStatusEnum.EXECUTING.name:
            return
        logger.info("Process %s ran past its maximum duration; skipping it", monitored_task.id)
        earlier = await self.get_remaining_tasks(
            workflow_instance.get_id(), workflow_instance, [], end_task_id=monitored_task.get_id()
        )
        if not earlier or earlier[-1].get_id() != monitored_task.get_id():
            earlier = [*await self._own_tasks(monitored_task, workflow_instance), monitored_task]
        skipped = status_of(TaskStatusEnum.SKIPPED)
        for task in earlier[:-1]:
            if task.status.code in WAITING:
                await task.on_complete(status=skipped, workflow_instance=workflow_instance, iterate=False)
        await monitored_task.on_complete(workflow_instance=workflow_instance, status=skipped)

    async def _own_tasks(self, process: ITask, workflow_instance: ITemplateDAGInstance) -> list[ITask]:
        """The tasks inside ``process``, in the order they run."""
        if process.root_dag is None:
            return []
        return await self.get_remaining_tasks(process.root_dag, workflow_instance, []) or []


class IMonitoredTask:
    """A task that is watched by a :class:`MonitoringTask`."""

    @abc.abstractmethod
    def get_monitoring_task_type(self) -> type[MonitoringTask]:
        """Return the monitoring task class to instantiate."""

    @abc.abstractmethod
    async def setup_monitoring_task(self, workflow_instance: ITask) -> None:
        """Create and schedule the monitoring task."""
