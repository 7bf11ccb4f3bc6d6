"""How a created workflow is submitted for execution."""

from __future__ import annotations

import abc
import logging
from typing import Any

from dagger.exceptions.exceptions import TaskInvalidState
from dagger.modeler._creation import found_stored
from dagger.tasks._status import status_of
from dagger.tasks.task import ITemplateDAGInstance, TaskStatusEnum
from dagger.wire import KIND, SUBMIT

logger = logging.getLogger(__name__)


class ExecutorStrategy:
    """Submits workflows for execution."""

    @abc.abstractmethod
    async def submit(self, task_template: ITemplateDAGInstance, *, repartition: bool = True) -> None:
        """Submit ``task_template`` for execution."""


class SerialExecutorStrategy(ExecutorStrategy):
    """Submits a workflow to the worker that owns its partition key, or runs it here."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def submit(self, task_template: ITemplateDAGInstance, *, repartition: bool = True) -> None:
        """Mark the workflow SUBMITTED and send it to its owner (``repartition``), or store and start it here.

        A workflow that a repeated creation found stored and started is left as it is: the create and submit
        of a request delivered twice run nothing twice.

        Raises:
            TaskInvalidState: the workflow has already completed (its ``on_complete`` is called first).
        """
        if found_stored(task_template) and task_template.status.code != TaskStatusEnum.NOT_STARTED.name:
            logger.debug("Workflow %s was created before; submitting it again changes nothing", task_template.id)
            return
        if task_template.status.code == TaskStatusEnum.COMPLETED.name:
            await task_template.on_complete(workflow_instance=task_template)
            raise TaskInvalidState(f"workflow {task_template.id} has already completed")
        task_template.status = status_of(TaskStatusEnum.SUBMITTED)
        if repartition:
            key = task_template.runtime_parameters.get(task_template.partition_key_lookup)  # type: ignore[arg-type]
            await self.app.tasks_topic.send(key=key, value=task_template, headers={KIND: SUBMIT})
        else:
            await self.app._store_and_create_task(task_template, submission=True)
