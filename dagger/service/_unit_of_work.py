"""One durable save per handled event: the workflows an event changes are saved once, when it is done.

The model asks the engine to save a workflow after every step of its walk. Inside a unit of work
those requests only mark the workflow changed; when the unit ends without an error each changed
workflow is saved (or deleted) once. A unit that fails saves nothing, so the stored workflow stays
as it was before the event.

What must only happen once the changes are saved (removing a finished listener from the correlation
index: if it went first and the worker died before the save, the message the listener finished on
would find nobody waiting when it is delivered again) runs after the commit, once the broker holds
the saved workflows. The engine runs it in the background, so the event does not wait for the broker:
the event's offset is committed only after faust has flushed its producer, so the saves are durable by
then whether or not the event waited for them.

Messages sent while the unit is open (a command task's commands) are awaited until the broker has
acknowledged them before anything is saved: a workflow is never recorded past a command that did not
reach Kafka. If one cannot be sent, the unit fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID
from weakref import WeakValueDictionary

logger = logging.getLogger(__name__)


@dataclass
class Changes:
    """The workflows changed in one unit of work, and those deleted."""

    changed: dict[UUID, Any] = field(default_factory=dict)
    deleted: dict[UUID, Any] = field(default_factory=dict)
    sends: list[Awaitable[Any]] = field(default_factory=list)
    afterwards: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    open: bool = True


_current: ContextVar[Changes | None] = ContextVar("dagger_unit_of_work", default=None)


def _open_unit() -> Changes | None:
    """The unit of work open in this context, if any.

    A task started while a unit is open inherits the context variable; once that unit has ended its
    changes must not collect anything more, so an ended unit counts as none.
    """
    changes = _current.get()
    return changes if changes is not None and changes.open else None


Commit = Callable[[Changes], Awaitable[Sequence[Awaitable[Any]]]]
"""Saves the changes of a unit; returns the acknowledgements of the saves."""


@asynccontextmanager
async def unit_of_work(
    commit: Commit, background: Callable[[Awaitable[None]], Any] | None = None
) -> AsyncIterator[Changes]:
    """Collect changes inside the block and ``commit`` them once at its end, after the broker has acknowledged
    the messages sent inside it; nested blocks join the outer one.

    What must follow the save (:func:`after_commit`) runs once the saves are acknowledged: handed to
    ``background`` when given, else before the block ends.
    """
    outer = _open_unit()
    if outer is not None:
        yield outer
        return
    changes = Changes()
    token = _current.set(changes)
    try:
        yield changes
    finally:
        changes.open = False
        _current.reset(token)
    if changes.sends:
        await asyncio.gather(*changes.sends)
    acknowledgements = await commit(changes)
    if changes.afterwards:
        following = _once_durable(acknowledgements, changes.afterwards)
        if background is None:
            await following
        else:
            background(_logged(following))


async def _once_durable(
    acknowledgements: Sequence[Awaitable[Any]], actions: Sequence[Callable[[], Awaitable[None]]]
) -> None:
    await asyncio.gather(*acknowledgements)
    for action in actions:
        await action()


async def _logged(following: Awaitable[None]) -> None:
    try:
        await following
    except Exception:
        logger.exception("What follows a saved unit of work failed")


def in_unit_of_work() -> bool:
    """Whether an event is being handled: a unit of work is open."""
    return _open_unit() is not None


def record_change(workflow: Any) -> bool:
    """Mark ``workflow`` changed in the current unit; False when no unit is open."""
    changes = _open_unit()
    if changes is None:
        return False
    if workflow.id not in changes.deleted:
        changes.changed[workflow.id] = workflow
    return True


def record_send(acknowledgement: Awaitable[Any]) -> bool:
    """Make the current unit wait for ``acknowledgement`` of a sent message before it saves; False outside a unit."""
    changes = _open_unit()
    if changes is None:
        return False
    changes.sends.append(acknowledgement)
    return True


def after_commit(action: Callable[[], Awaitable[None]]) -> bool:
    """Run ``action`` once the current unit has committed (never if it fails); False when no unit is open."""
    changes = _open_unit()
    if changes is None:
        return False
    changes.afterwards.append(action)
    return True


def record_deletion(workflow: Any) -> bool:
    """Mark ``workflow`` deleted in the current unit; False when no unit is open."""
    changes = _open_unit()
    if changes is None:
        return False
    changes.changed.pop(workflow.id, None)
    changes.deleted[workflow.id] = workflow
    return True


class WorkflowLocks:
    """One lock per workflow, alive while a coroutine holds or awaits it."""

    def __init__(self) -> None:
        self._locks: WeakValueDictionary[UUID, asyncio.Lock] = WeakValueDictionary()

    def __call__(self, workflow_id: UUID) -> asyncio.Lock:
        """Return the lock of ``workflow_id``."""
        lock = self._locks.get(workflow_id)
        if lock is None:
            lock = self._locks[workflow_id] = asyncio.Lock()
        return lock
