"""Task states, kinds and join operators, and the status record every task carries."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from faust import Record

from dagger._record_fields import store_fields_directly

KT = TypeVar("KT", str, int, bytes)
VT = TypeVar("VT", str, Record, bytes)

TaskLookupKey = tuple[KT, VT]
"""A correlation ``(attribute, value)`` pair extracted from a listener payload."""

COMPLETE_BY_KEY = "complete_by_time"
"""Runtime parameter holding the epoch second by which a monitored process must complete."""


class TaskStatusEnum(Enum):
    """The states of a task; every member's value equals its name."""

    NOT_STARTED = "NOT_STARTED"
    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    FAILURE = "FAILURE"
    SKIPPED = "SKIPPED"
    SUBMITTED = "SUBMITTED"
    STOPPED = "STOPPED"


TERMINAL_STATUSES = [
    TaskStatusEnum.COMPLETED.name,
    TaskStatusEnum.SKIPPED.name,
    TaskStatusEnum.FAILURE.name,
    TaskStatusEnum.STOPPED.name,
]
"""Status codes after which a task never runs again."""

ENDED_WELL = (TaskStatusEnum.COMPLETED.name, TaskStatusEnum.SKIPPED.name)
"""Status codes of a task that ended without failing or being stopped: the walk goes on past it."""

WAITING = (TaskStatusEnum.NOT_STARTED.name, TaskStatusEnum.EXECUTING.name)
"""Status codes of a task that has not ended yet."""


class TaskType(Enum):
    """Where a task sits in a workflow's tree."""

    ROOT = "ROOT"
    LEAF = "LEAF"
    SUB_DAG = "SUB_DAG"
    PARALLEL_COMPOSITE = "PARALLEL_COMPOSITE"


class TaskOperator(Enum):
    """How a parallel composite joins its children."""

    ATLEAST_ONE = "ATLEAST_ONE"
    """Complete once any child is done."""
    JOIN_ALL = "JOIN_ALL"
    """Complete once every child is done."""


@store_fields_directly
class TaskStatus(Record, serializer="raw", namespace="dagger.tasks.task.TaskStatus"):
    """The status of a task: a :class:`TaskStatusEnum` name as ``code`` and its ``value``."""

    code: str = TaskStatusEnum.NOT_STARTED.name
    value: str = TaskStatusEnum.NOT_STARTED.value


def status_of(state: TaskStatusEnum) -> TaskStatus:
    """Return a new :class:`TaskStatus` for ``state``."""
    return TaskStatus(code=state.name, value=state.value)


def is_terminal(code: str) -> bool:
    """Tell whether a status code is one after which a task never runs again."""
    return code in TERMINAL_STATUSES
