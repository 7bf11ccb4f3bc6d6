"""Reading a workflow wherever it lives: from this worker's store, or from the worker that holds it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

from dagger import codec
from dagger.exceptions.exceptions import WorkflowUnavailable
from dagger.service._cluster import Cluster, unanswered
from dagger.service._placement import Placement
from dagger.store.stores import IStore
from dagger.tasks.task import ITemplateDAGInstance

logger = logging.getLogger("dagger.service.services")

OWNER_READ_TIMEOUT = 10.0
"""Seconds :meth:`WorkflowReader.read` keeps asking the cluster for a workflow this worker lacks."""
OWNER_READ_RETRY = 0.5


class WorkflowReader:
    """Reads stored workflows: this worker's own, or another worker's over its REST routes."""

    def __init__(self, faust_app: Any, store: IStore, placement: Placement) -> None:
        self.faust_app = faust_app
        self.store = store
        self.placement = placement

    def payload(self, workflow_id: UUID) -> bytes | None:
        """The stored JSON of workflow ``workflow_id`` if this worker holds it, else None."""
        found = self.store.find_workflow(str(workflow_id))
        return None if found is None else found[1]

    async def read(self, workflow_id: UUID) -> ITemplateDAGInstance | None:
        """The stored workflow ``workflow_id`` from whichever worker holds it, or None if none does.

        Raises:
            WorkflowUnavailable: no answer covered every partition within :data:`OWNER_READ_TIMEOUT` seconds.
        """
        partitions_in_all = self.placement.partitions
        cluster = Cluster(self.faust_app, partitions_in_all)
        deadline = asyncio.get_running_loop().time() + OWNER_READ_TIMEOUT
        while True:
            partitions = self.placement.settled_partitions()
            workflow = await self.store.get_value_for_key(str(workflow_id))
            if workflow is not None or len(partitions) == partitions_in_all:
                return workflow
            lookup = await cluster.find_workflow(workflow_id, partitions)
            if lookup.payload is not None:
                return codec.loads(lookup.payload, expected=ITemplateDAGInstance)
            problem = unanswered(lookup.silences, lookup.coverage)
            if problem is None:
                return None
            if asyncio.get_running_loop().time() >= deadline:
                raise WorkflowUnavailable(
                    f"workflow {workflow_id} is not on this worker and no other answered for it within "
                    f"{OWNER_READ_TIMEOUT:g} s: {problem}"
                )
            await asyncio.sleep(OWNER_READ_RETRY)
