"""Choices made for one workflow creation: the dynamic and parallel processes it expands.

Applications set them on the shared, registered template right before creating a workflow. Creation
pins what is set at the moment it begins, so creations running at the same time never see each
other's choices.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

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
