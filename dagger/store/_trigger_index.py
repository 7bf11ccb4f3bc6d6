"""Timers of one partition in due-time order, so a tick reads only what is due."""

from __future__ import annotations

from uuid import UUID

from dagger import codec
from dagger.store._partitioned_table import PartitionedTable
from dagger.tasks.task import Trigger

_DUE = b"t:"
_BY_TASK = b"k:"


class TriggerIndex:
    """Triggers keyed ``t:<due time>:<workflow>:<task>``, plus ``k:<workflow>:<task>`` to find a task's one."""

    def __init__(self, table: PartitionedTable) -> None:
        self.table = table

    def add(self, partition: int, trigger: Trigger) -> None:
        """Schedule ``trigger``, replacing the task's earlier trigger if it had one."""
        self.remove(partition, trigger.workflow_id, trigger.id)  # type: ignore[arg-type]
        task_key = _task_key(trigger.workflow_id, trigger.id)  # type: ignore[arg-type]
        due_key = _due_key(int(trigger.trigger_time or 0), trigger.workflow_id, trigger.id)  # type: ignore[arg-type]
        self.table.put(partition, due_key, codec.dumps(trigger))
        self.table.put(partition, task_key, due_key)

    def remove(self, partition: int, workflow_id: UUID, task_id: UUID) -> bool:
        """Unschedule the trigger of a task; return whether there was one."""
        task_key = _task_key(workflow_id, task_id)
        due_key = self.table.get(partition, task_key)
        if due_key is None:
            return False
        self.table.delete(partition, due_key)
        self.table.delete(partition, task_key)
        return True

    def get(self, partition: int, workflow_id: UUID, task_id: UUID) -> Trigger | None:
        """Return the trigger of a task, or None."""
        due_key = self.table.get(partition, _task_key(workflow_id, task_id))
        value = None if due_key is None else self.table.get(partition, due_key)
        return None if value is None else codec.loads(value, expected=Trigger)

    def due(self, partition: int, now: int, limit: int) -> list[Trigger]:
        """Return at most ``limit`` triggers of ``partition`` due at ``now`` or earlier, earliest first."""
        triggers: list[Trigger] = []
        for _, value in self.table.items(partition, start=_DUE, stop=_DUE + b"%015d;" % now):
            if len(triggers) >= limit:
                break
            triggers.append(codec.loads(value, expected=Trigger))
        return triggers


def _due_key(due: int, workflow_id: UUID, task_id: UUID) -> bytes:
    return b"%s%015d:%s:%s" % (_DUE, max(due, 0), str(workflow_id).encode(), str(task_id).encode())


def _task_key(workflow_id: UUID, task_id: UUID) -> bytes:
    return b"%s%s:%s" % (_BY_TASK, str(workflow_id).encode(), str(task_id).encode())
