"""One workflow creation: the choices it was made with, and which workflow is being created.

Applications set the dynamic and parallel processes a workflow expands on the shared, registered
template right before creating a workflow. Creation pins what is set at the moment it begins, so
creations running at the same time never see each other's choices.

While a workflow is being created its listener tasks are not yet registered in the correlation
index: the worker that stores the workflow registers them, once, when it stores it. A creation that
is repeated (a request delivered twice) then leaves nothing behind for the copy that is dropped.

A repeated creation that finds its workflow stored and already started returns the stored copy,
marked so that submitting it, as the application does next, changes nothing and raises nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

_pinned: ContextVar[dict[int, list[Any]] | None] = ContextVar("dagger_creation_choices", default=None)


@contextmanager
def pinned_choices(choices: dict[int, list[Any]]) -> Iterator[None]:
    """Make ``choices`` (keyed by ``id`` of the process template) the ones in force during a creation."""
    token = _pinned.set(choices)
    try:
        yield
    finally:
        _pinned.reset(token)


def choice_for(process_template: object, current: list[Any]) -> list[Any]:
    """Return what the running creation pinned for ``process_template``, or ``current`` outside one."""
    choices = _pinned.get()
    if choices is None:
        return current
    return choices.get(id(process_template), current)


_being_created: ContextVar[UUID | None] = ContextVar("dagger_workflow_being_created", default=None)


@contextmanager
def creating(workflow_id: UUID) -> Iterator[None]:
    """Mark workflow ``workflow_id`` as being created inside the block."""
    token = _being_created.set(workflow_id)
    try:
        yield
    finally:
        _being_created.reset(token)


def being_created(workflow_id: UUID) -> bool:
    """Whether workflow ``workflow_id`` is being created (and so not stored yet)."""
    return _being_created.get() == workflow_id


_FOUND_STORED = "_dagger_found_stored"


def mark_found_stored(workflow: object) -> None:
    """Mark ``workflow`` as the stored copy a repeated creation found and returned."""
    setattr(workflow, _FOUND_STORED, True)


def found_stored(workflow: object) -> bool:
    """Whether ``workflow`` is the stored copy a repeated creation returned: submitting it changes nothing."""
    return getattr(workflow, _FOUND_STORED, False) is True
