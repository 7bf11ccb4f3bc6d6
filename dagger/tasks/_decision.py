"""``DecisionTask``: the branch point of a workflow."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

from dagger.tasks._base import ITask
from dagger.tasks._engine import engine
from dagger.tasks._status import ENDED_WELL, KT, VT, TaskLookupKey, TaskStatusEnum, is_terminal, status_of
from dagger.utils import clock

if TYPE_CHECKING:
    from dagger.tasks._workflow import ITemplateDAGInstance

logger = logging.getLogger("dagger.tasks.task")


class DecisionTask(ITask[KT, VT], namespace="dagger.tasks.task.DecisionTask"):
    """Chooses which of its successors runs, like a ``switch``; every other branch is SKIPPED.

    ``evaluate`` receives the runtime parameters as keyword arguments and returns the id of the
    successor to run, or None to run none (the decision's process then completes).
    """

    async def start(self, workflow_instance: ITemplateDAGInstance | None) -> None:
        """Evaluate, skip the branches not taken and move on to the chosen one; a decision that failed or was
        stopped stays as it is."""
        if self.status.code in ENDED_WELL:
            return await self.on_complete(workflow_instance=workflow_instance, status=self.status)
        if is_terminal(self.status.code):
            return None
        if self.status.code == TaskStatusEnum.NOT_STARTED.name and workflow_instance is not None:
            self.status = status_of(TaskStatusEnum.EXECUTING)
            self.time_submitted = clock.now()
            try:
                chosen = await self.evaluate(**workflow_instance.runtime_parameters)
            except Exception as error:
                await self._fail(error)
                await engine()._update_instance(task=workflow_instance)
                return await self.on_complete(workflow_instance=workflow_instance, status=self.status)
            for branch_id in self.next_dags:
                if branch_id != chosen:
                    await _skip_branch(branch_id, workflow_instance)
        await engine()._update_instance(task=workflow_instance)
        await self.on_complete(workflow_instance=workflow_instance)

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        """Decisions do not execute."""
        raise NotImplementedError("Decision task does not process execute")

    async def on_message(self, runtime_parameters: dict[str, str], *args: Any, **kwargs: Any) -> bool:
        """Decisions do not receive messages."""
        raise NotImplementedError("Decision task does not process on_message")

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        """Nothing to stop: a decision ends within ``start``."""

    def get_correlatable_key(self, payload: Any) -> TaskLookupKey:
        """Decisions are not correlated to messages."""
        raise NotImplementedError("Decision task does not correlate messages")

    async def evaluate(self, **kwargs: Any) -> UUID | None:
        """Choose the first successor or none, at random. Subclasses decide for real."""
        if self.next_dags and random.randint(0, 1):
            return self.next_dags[0]
        return None


async def _skip_branch(branch_id: UUID, workflow_instance: ITemplateDAGInstance) -> None:
    """Mark a branch not taken, and everything it holds or leads to, SKIPPED."""
    skipped = status_of(TaskStatusEnum.SKIPPED)
    for task in _branch(branch_id, workflow_instance):
        if not is_terminal(task.status.code):
            await task.on_complete(workflow_instance=workflow_instance, status=skipped, iterate=False)


def _branch(task_id: UUID, workflow_instance: ITemplateDAGInstance) -> Iterator[ITask]:
    task = workflow_instance.get_task(task_id)
    if task is None:
        logger.warning("Branch %s is not part of workflow %s", task_id, workflow_instance.id)
        return
    yield task
    contained = [task.root_dag] if task.root_dag else []
    contained += list(getattr(task, "parallel_child_task_list", None) or [])
    for child_id in [*contained, *task.next_dags]:
        yield from _branch(child_id, workflow_instance)
