"""Small records the engine keeps beside workflows: correlation entries and timer triggers."""

from __future__ import annotations

from uuid import UUID

from faust import Record

from dagger._record_fields import store_fields_directly
from dagger.utils import clock


@store_fields_directly
class CorrelatableMapValue(Record, namespace="dagger.tasks.task.CorrelatableMapValue"):
    """The runtime parameter a listener is correlated by, and the value it was registered under."""

    correlatable_key_attr: str
    correlatable_key_attr_value: str


@store_fields_directly
class Trigger(Record, serializer="raw", namespace="dagger.tasks.task.Trigger"):
    """A timer: run task ``id`` of workflow ``workflow_id`` at ``trigger_time`` (epoch seconds)."""

    trigger_time: int | None = 0
    id: UUID | None = None
    workflow_id: UUID | None = None

    def __post_init__(self) -> None:
        if not self.trigger_time:
            self.trigger_time = clock.now()

    def get_trigger_key(self) -> tuple[UUID | None, UUID | None]:
        """Return the ``(workflow_id, task_id)`` pair that identifies this trigger."""
        return self.workflow_id, self.id


@store_fields_directly
class CorreletableLookUpKey(Record, serializer="raw", namespace="dagger.tasks.task.CorreletableLookUpKey"):
    """One waiting listener: a task of a workflow.

    ``partition_key`` (an addition to the reference's record) is the workflow's partition key, so an
    event found through the index can be routed to the worker that owns the workflow.
    """

    workflow_id: UUID
    task_id: UUID
    partition_key: str | None = None


@store_fields_directly
class CorreletableKeyTasks(Record, serializer="raw", namespace="dagger.tasks.task.CorreletableKeyTasks"):
    """One chunk of the listeners waiting on a correlation key; ``overflow_key`` names the next chunk."""

    lookup_keys: set[CorreletableLookUpKey] = set()
    overflow_key: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if self.lookup_keys is CorreletableKeyTasks._options.defaults["lookup_keys"]:
            self.lookup_keys = set()
