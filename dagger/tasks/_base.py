"""``ITask``: the record every task, process and workflow extends, and the walk from task to task."""

from __future__ import annotations

import abc
import copy
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic
from uuid import UUID

from faust import Record

from dagger import codec
from dagger._record_fields import store_fields_directly
from dagger.tasks._engine import engine
from dagger.tasks._status import (
    KT,
    VT,
    TaskLookupKey,
    TaskStatus,
    TaskStatusEnum,
    TaskType,
    is_terminal,
    status_of,
)
from dagger.utils import clock

if TYPE_CHECKING:
    from dagger.tasks._workflow import ITemplateDAGInstance

logger = logging.getLogger("dagger.tasks.task")

_COMPLETED = TaskStatus(code=TaskStatusEnum.COMPLETED.name, value=TaskStatusEnum.COMPLETED.value)


@functools.cache
def _shared_defaults(record_type: type) -> tuple[tuple[str, Any, Callable[[Any], Any]], ...]:
    """The fields of ``record_type`` whose default is a mutable object faust would share between instances,
    each with the default and how to copy it."""
    defaults = record_type._options.defaults  # type: ignore[attr-defined]
    return tuple(
        (name, value, type(value).copy if isinstance(value, list | dict | set) else copy.copy)
        for name, value in defaults.items()
        if isinstance(value, list | dict | set | Record)
    )


class ITask(Record, Generic[KT, VT], serializer="raw", namespace="dagger.tasks.task.ITask"):
    """The record every task, process and workflow extends.

    Defaults are evaluated per instance: each task gets its own status, lists and dicts, and its
    creation time is taken when it is created.
    """

    id: UUID
    time_submitted: int = 0
    time_completed: int = 0
    lastupdated: int = 0
    task_name: str | None = None
    task_type: str = TaskType.LEAF.name
    parent_id: UUID | None = None
    status: TaskStatus = TaskStatus()
    time_created: int = 0
    next_dags: list[UUID] = []
    root_dag: UUID | None = None
    message: str | None = None
    allow_skip_to: bool = False
    reprocess_on_message: bool = False
    correlatable_key: KT | None = None

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        store_fields_directly(cls)

    def __post_init__(self) -> None:
        values = self.__dict__
        record_type: type = type(self)  # plain ``type``: mypy does not take a Record class for Hashable
        for name, default, copy_of in _shared_defaults(record_type):
            if values.get(name) is default:
                values[name] = copy_of(default)
        if not self.time_created:
            self.time_created = clock.now()
        if not self.lastupdated:
            self.lastupdated = self.time_created

    def dumps(self, *, serializer: Any = None) -> bytes:
        """Encode the task, and every task it holds, as compact JSON bytes (see :mod:`dagger.codec`)."""
        return codec.dumps(self)

    @classmethod
    def loads(cls, s: bytes, *, default_serializer: Any = None, serializer: Any = None) -> Any:
        """Decode bytes written by :meth:`dumps` into the concrete task class they name.

        A class not imported in this process decodes as ``cls``, as does a task of such a class nested
        where an ``ITask`` is declared (see :mod:`dagger.codec`).
        """
        return codec.loads(s, expected=cls)

    @classmethod
    def from_data(cls, data: Any, *, preferred_type: Any = None) -> Any:
        """Rebuild a task from :func:`dagger.codec.to_data` data, as the concrete class it names.

        A class not imported in this process is rebuilt as ``cls`` (see :meth:`loads`).
        """
        return codec.from_data(data, expected=cls)

    def get_id(self) -> UUID:
        """Return the task's id."""
        return self.id

    @abc.abstractmethod
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        """Run the task's own work."""

    @abc.abstractmethod
    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        """Stop the task's work; called on tasks that are EXECUTING when their workflow is stopped."""

    @abc.abstractmethod
    async def on_message(self, runtime_parameters: dict[str, str], *args: Any, **kwargs: Any) -> bool:
        """Handle a message correlated to this task; return True when the task is complete."""

    @abc.abstractmethod
    async def evaluate(self, **kwargs: Any) -> UUID | None:
        """Choose the id of the successor to run next (decision tasks)."""

    @abc.abstractmethod
    def get_correlatable_key(self, payload: Any) -> TaskLookupKey:
        """Return the ``(attribute, value)`` a payload is correlated by (deprecated, synchronous form)."""

    @abc.abstractmethod
    async def start(self, workflow_instance: ITemplateDAGInstance | None) -> None:
        """Start the task within ``workflow_instance``."""

    async def notify(self, status: TaskStatus, workflow_instance: ITemplateDAGInstance | None) -> None:
        """Tell this task that a child ended with ``status``; completes the task unless it has already ended."""
        if self.status.code != status.code and not is_terminal(self.status.code):
            await self.on_complete(status=status, workflow_instance=workflow_instance)

    async def get_correlatable_key_from_payload(self, payload: Any) -> TaskLookupKey:
        """Return the ``(attribute, value)`` a payload is correlated by (deprecated)."""
        return self.get_correlatable_key(payload=payload)

    async def get_correlatable_keys_from_payload(self, payload: Any) -> list[TaskLookupKey]:
        """Return every ``(attribute, value)`` a payload is correlated by; one payload may match many tasks."""
        return [await self.get_correlatable_key_from_payload(payload=payload)]

    async def get_remaining_tasks(
        self,
        next_dag_id: UUID,
        workflow_instance: ITemplateDAGInstance,
        tasks: list[ITask] | None = None,
        end_task_id: UUID | None = None,
    ) -> list[ITask] | None:
        """List the tasks from ``next_dag_id`` on, depth first, children before their container.

        Appends to ``tasks`` and stops once the task whose ``get_id()`` is ``end_task_id`` is listed.
        """
        found: list[ITask] = [] if tasks is None else tasks
        node = workflow_instance if next_dag_id == workflow_instance.id else workflow_instance.get_task(next_dag_id)
        if node is None:
            logger.warning("Task %s is not part of workflow %s", next_dag_id, workflow_instance.id)
            return found
        if node.root_dag:
            await self.get_remaining_tasks(node.root_dag, workflow_instance, found, end_task_id)
            if _ends_with(found, end_task_id):
                return found
        found.append(node)
        for successor_id in node.next_dags:
            if _ends_with(found, end_task_id):
                break
            await self.get_remaining_tasks(successor_id, workflow_instance, found, end_task_id)
        return found

    async def on_complete(
        self,
        workflow_instance: ITemplateDAGInstance | None,
        status: TaskStatus = _COMPLETED,
        *,
        iterate: bool = True,
    ) -> None:
        """End the task with ``status`` and move the workflow on.

        With ``iterate`` the first successor that is not SKIPPED starts; when none does, the parent is
        notified, or, for the ROOT task, the workflow finishes. A FAILURE starts nothing after the task:
        the parent is notified of it instead.
        """
        if self.status.code != status.code:
            self.status = TaskStatus(code=status.code, value=status.value)
            if self.time_completed <= 0:
                self.time_completed = clock.now()
            await engine()._update_instance(task=workflow_instance)
        if not iterate or workflow_instance is None:
            return
        if status.code != TaskStatusEnum.FAILURE.name:
            for successor_id in self.next_dags:
                successor = workflow_instance.get_task(successor_id)
                if successor is None:
                    logger.error("Successor %s of task %s is not part of the workflow", successor_id, self.id)
                elif successor.status.code != TaskStatusEnum.SKIPPED.name:
                    return await successor.start(workflow_instance=workflow_instance)
        if self.parent_id:
            parent = workflow_instance.get_task(self.parent_id)
            if parent is None:
                logger.error("Parent %s of task %s is not part of the workflow", self.parent_id, self.id)
                return
            parent.time_completed = self.time_completed
            await parent.notify(status=status, workflow_instance=workflow_instance)
        elif self.task_type == TaskType.ROOT.name:
            await workflow_instance._finish()

    async def _release(self, workflow_instance: ITemplateDAGInstance) -> None:
        """Give back what the engine holds for this task (correlation entries, timers)."""

    async def _fail(self, error: BaseException) -> None:
        """Record ``error`` on the task and mark it FAILURE."""
        logger.error("Task %s (%s) failed: %r", self.id, self.task_name, error, exc_info=error)
        self.message = f"{type(error).__name__}: {error}"
        self.status = status_of(TaskStatusEnum.FAILURE)


def _ends_with(tasks: list[ITask], end_task_id: UUID | None) -> bool:
    return end_task_id is not None and bool(tasks) and tasks[-1].get_id() == end_task_id
