"""Workflow persistence: one lock per workflow, loading, and saving what a unit of work changed.

A save has the store count a new version of each changed workflow and publish it to the update topic
and callbacks (:meth:`dagger.store.stores.IStore.published_version`), then writes the changed and
deleted workflows in one go; what must wait for the save to be durable waits for the changelog's acknowledgements.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID

from dagger.service._partitions import workflow_key
from dagger.service._placement import Placement
from dagger.service._transactions import current_transactions
from dagger.service._unit_of_work import Changes, WorkflowLocks, record_change, record_deletion, unit_of_work
from dagger.store.stores import IStore
from dagger.tasks.task import ITemplateDAGInstance

logger = logging.getLogger("dagger.service.services")

UpdateCallback = Callable[[ITemplateDAGInstance], Awaitable[None]]


class UpdatePublisher:
    """Publishes each saved version of a workflow: on ``topic`` (when set) and to each of ``callbacks``."""

    def __init__(self, topic: Any, callbacks: Sequence[UpdateCallback]) -> None:
        self.topic = topic
        self.callbacks = callbacks

    async def __call__(self, workflow: ITemplateDAGInstance, payload: bytes) -> None:
        """Send a saved workflow to the update topic and the callbacks; a callback that fails is logged."""
        if self.topic is not None:
            await self.topic.send(key=workflow_key(workflow), value=payload)
        for callback in self.callbacks:
            try:
                await callback(workflow)
            except Exception:
                logger.exception("Update callback %r failed for workflow %s", callback, workflow.id)


class WorkflowPersistence:
    """Loads workflows under their locks and saves them, on the worker that owns them."""

    def __init__(self, store: IStore, placement: Placement, background: Callable[[Awaitable[None]], Any]) -> None:
        self.store = store
        self.placement = placement
        self.background = background
        self.lock = WorkflowLocks()

    def load(self, partition: int, workflow_id: UUID) -> ITemplateDAGInstance | None:
        """The stored workflow ``workflow_id`` of ``partition``, or None."""
        return self.store.load_workflow(partition, str(workflow_id))

    def unit(self) -> AbstractAsyncContextManager[Changes]:
        """A unit of work whose changes this persistence saves once, at its end.

        What follows the save runs in the background, except inside a transaction (exactly-once), of which
        it must be part.
        """
        in_transaction = current_transactions() is not None
        return unit_of_work(self.commit, None if in_transaction else self.background)

    async def save(self, workflow: ITemplateDAGInstance | None) -> None:
        """Save a changed workflow: once at the end of the event being handled, or now outside one."""
        if workflow is not None and not record_change(workflow):
            await self.save_now(workflow)

    async def save_now(self, workflow: ITemplateDAGInstance) -> None:
        """Save ``workflow`` now, if this worker owns it."""
        if not self.placement.owns(self.placement.partition_of(workflow)):
            logger.error("Workflow %s belongs to another worker; this change is not saved", workflow.id)
            return
        await self.store.insert_key_value(str(workflow.id), workflow)

    async def delete(self, workflow: ITemplateDAGInstance) -> None:
        """Delete a finished workflow, after the event that finished it."""
        if not record_deletion(workflow):
            await self.commit(Changes(deleted={workflow.id: workflow}))

    async def commit(self, changes: Changes) -> list[Awaitable[Any]]:
        """Save the changed workflows and delete the deleted ones, publishing each, in one write; return the
        acknowledgements of the write."""
        records: list[tuple[ITemplateDAGInstance, bytes | None]] = []
        for workflow in changes.changed.values():
            records.append((workflow, await self.store.published_version(workflow)))
        for workflow in changes.deleted.values():
            await self.store.published_version(workflow)
            records.append((workflow, None))
        return await self.store.write_workflows(records)
