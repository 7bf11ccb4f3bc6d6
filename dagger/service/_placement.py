"""Placement of partitions: which partition holds a record, and which partitions this worker owns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dagger.service._partitions import partition_for, workflow_key


class Placement:
    """The partitions of the engine's topics and tables, and which of them this worker owns.

    Every engine topic and table has the same partitions, assigned together; ownership is read from the
    assignment of the tasks topic, ``topic_name``. ``stopping`` says whether the engine is stopping.
    """

    def __init__(self, faust_app: Any, topic_name: str, partitions: int, stopping: Callable[[], bool]) -> None:
        self.faust_app = faust_app
        self.topic_name = topic_name
        self._partitions = partitions
        self.stopping = stopping
        self._assignment_seen: object = None
        self._owned: frozenset[int] = frozenset()

    @property
    def partitions(self) -> int:
        """How many partitions the engine's topics and tables have (``kafka_partitions``)."""
        return self._partitions

    def partition_of(self, workflow: Any) -> int:
        """The partition that holds ``workflow``: the one of its partition key."""
        return partition_for(workflow_key(workflow), self._partitions)

    def partition_of_key(self, key: str) -> int:
        """The partition of ``key`` (a partition key or a correlation value)."""
        return partition_for(key, self._partitions)

    def owned_partitions(self) -> list[int]:
        """The partitions this worker currently owns."""
        return sorted(self._owned_now())

    def owns(self, partition: int) -> bool:
        """Whether this worker currently owns ``partition``."""
        return partition in self._owned_now()

    def _owned_now(self) -> frozenset[int]:
        """The owned partitions, worked out again only when faust has taken a new assignment (it replaces its
        assignment object at each rebalance)."""
        assignor = self.faust_app.assignor
        assignment = getattr(assignor, "_assignment", None)
        if assignment is None or assignment is not self._assignment_seen:
            actives = assignor.assigned_actives()
            self._owned = frozenset(tp.partition for tp in actives if tp.topic == self.topic_name)
            self._assignment_seen = assignment
        return self._owned

    def tables_ready(self) -> bool:
        """Whether the tables can be used: partitions settled, tables recovered, the engine not stopping."""
        app = self.faust_app
        return not (self.stopping() or app.rebalancing or getattr(app, "in_recovery", False))

    def settled_partitions(self) -> list[int]:
        """The owned partitions whose tables are complete: none while partitions move or tables recover."""
        return self.owned_partitions() if self.tables_ready() else []
