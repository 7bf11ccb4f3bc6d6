"""Which partition a key lives in: the same answer Kafka's default partitioner gives the producer."""

from __future__ import annotations

from typing import Any

from aiokafka.partitioner import murmur2


def partition_for(key: str | bytes, partitions: int) -> int:
    """Return the partition Kafka's default partitioner sends ``key`` to among ``partitions``."""
    data = key.encode() if isinstance(key, str) else key
    return (murmur2(data) & 0x7FFFFFFF) % partitions


def workflow_key(workflow: Any) -> str:
    """Return a workflow's partition key: its runtime parameter named by ``partition_key_lookup``.

    A workflow without one is placed by its id.
    """
    value = workflow.runtime_parameters.get(workflow.partition_key_lookup)
    return str(workflow.id) if value is None else str(value)
