"""Placement of partitions: which partition holds a record, and which partitions this worker owns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faust.types import TP

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
        actives = self.faust_app.assignor.assigned_actives()
        return sorted(tp.partition for tp in actives if tp.topic == self.topic_name)

    def owns(self, partition: int) -> bool:
        """Whether this worker currently owns ``partition``."""
        return TP(self.topic_name, partition) in self.faust_app.assignor.assigned_actives()

    def tables_ready(self) -> bool:
        """Whether the tables can be used: partitions settled, tables recovered, the engine not stopping."""
        app = self.faust_app
        return not (self.stopping() or app.rebalancing or getattr(app, "in_recovery", False))

    def settled_partitions(self) -> list[int]:
        """The owned partitions whose tables are complete: none while partitions move or tables recover."""
        return self.owned_partitions() if self.tables_ready() else []
