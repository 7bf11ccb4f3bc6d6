"""Tasks that run their own work when reached: executors, Kafka commands and system tasks."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from uuid import UUID

from dagger.tasks._base import _COMPLETED, ITask
from dagger.tasks._engine import engine
from dagger.tasks._status import ENDED_WELL, KT, VT, TaskLookupKey, TaskStatus, TaskStatusEnum, is_terminal, status_of
from dagger.utils import clock

if TYPE_CHECKING:
    from dagger.tasks._workflow import ITemplateDAGInstance

logger = logging.getLogger("dagger.tasks.task")

_running: ContextVar[UUID | None] = ContextVar("dagger_running_task", default=None)


def running_task_id() -> UUID | None:
    """The id of the executor whose ``execute`` is running in this context, or None."""
    return _running.get()


class ExecutorTask(ITask[KT, VT], namespace="dagger.tasks.task.ExecutorTask"):
    """A task that runs ``execute`` when the workflow reaches it, then moves on.

    An exception raised by ``execute`` fails the task (its message is kept in ``message``), and with it
    the process and the workflow; so does ``execute`` setting the status to FAILURE.
    """

    async def start(self, workflow_instance: ITemplateDAGInstance | None, ignore_status: bool = False) -> None:
        """Run the task (once) and complete it; a task that failed or was stopped stays as it is."""
        if self.status.code in ENDED_WELL and not self.reprocess_on_message:
            return await self.on_complete(status=self.status, workflow_instance=workflow_instance)
        if is_terminal(self.status.code) and not ignore_status:
            return None
        runnable = ignore_status or self.reprocess_on_message or self.status.code == TaskStatusEnum.NOT_STARTED.name
        if runnable and workflow_instance is not None:
            self.status = status_of(TaskStatusEnum.EXECUTING)
            self.time_submitted = clock.now()
            await self._run(workflow_instance)
            await engine()._update_instance(task=workflow_instance)
        if self.status.code == TaskStatusEnum.FAILURE.name:
            await self.on_complete(status=self.status, workflow_instance=workflow_instance)
        else:
            await self.on_complete(workflow_instance=workflow_instance)

    async def _run(self, workflow_instance: ITemplateDAGInstance) -> None:
        running = _running.set(self.id)
        try:
            await self.execute(
                runtime_parameters=workflow_instance.runtime_parameters, workflow_instance=workflow_instance
            )
        except Exception as error:
            await self._fail(error)
        finally:
            _running.reset(running)

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        """Nothing to stop by default: an executor's work ends within ``execute``."""

    async def evaluate(self, **kwargs: Any) -> UUID | None:
        """Executors do not choose successors."""
        raise NotImplementedError("Executor does not evaluate")

    async def on_message(self, runtime_parameters: dict[str, str], *args: Any, **kwargs: Any) -> bool:
        """Executors do not receive messages."""
        raise NotImplementedError("Executor does not process on_message")

    def get_correlatable_key(self, payload: Any) -> TaskLookupKey:
        """Executors are not correlated to messages."""
        raise NotImplementedError("Executor does not correlate messages")


class KafkaCommandTask(ExecutorTask[KT, VT], namespace="dagger.tasks.task.KafkaCommandTask"):
    """An executor that sends a command on a Kafka topic.

    ``execute`` sends, typically with ``Dagger.app.topics[self.topic].send(...)``; ``topic`` is the
    topic's name.
    """

    topic: str | None = None


class SystemTask(ExecutorTask[str, str], namespace="dagger.tasks.task.SystemTask"):
    """An internal task for the engine's own bookkeeping; it is never part of a workflow's walk."""

    async def on_message(self, *args: Any, **kwargs: Any) -> bool:
        """System tasks do not receive messages."""
        raise NotImplementedError("SystemTask task does not process on_message")

    async def evaluate(self, **kwargs: Any) -> UUID | None:
        """System tasks do not choose successors."""
        raise NotImplementedError("SystemTask task does not evaluate")

    def get_correlatable_key(self, payload: Any) -> TaskLookupKey:
        """System tasks are not correlated to messages."""
        raise NotImplementedError("SystemTask task does not process get_correlatable_key")

    async def on_complete(
        self,
        workflow_instance: ITemplateDAGInstance | None,
        status: TaskStatus = _COMPLETED,
        iterate: bool = True,
    ) -> None:
        """System tasks are not part of a workflow and never complete one."""
        raise NotImplementedError("SystemTask task does not process on_complete")

    async def start(self, workflow_instance: ITemplateDAGInstance | None, ignore_status: bool = True) -> None:
        """Run ``execute`` when a workflow is given."""
        if (ignore_status or self.status.code == TaskStatusEnum.NOT_STARTED.name) and workflow_instance:
            self.status = status_of(TaskStatusEnum.EXECUTING)
            self.time_submitted = clock.now()
            await self.execute(
                runtime_parameters=workflow_instance.runtime_parameters, workflow_instance=workflow_instance
            )


class SystemTimerTask(SystemTask, namespace="dagger.tasks.task.SystemTimerTask"):
    """The engine's timer tick: fires the triggers that are due."""

    async def execute(self, runtime_parameters: dict[str, VT], workflow_instance: ITask | None = None) -> None:
        """Fire the due triggers through the store, logging (never raising) what goes wrong."""
        started = time.monotonic()
        try:
            await engine()._store.execute_system_timer_task()
        except Exception:
            logger.exception("The timer tick failed")
        logger.debug("Timer tick took %.3f s", time.monotonic() - started)
