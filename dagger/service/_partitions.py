"""Which partition a key lives in: the same answer Kafka's default partitioner gives the producer.

The hash is Kafka's murmur2, which aiokafka computes in Python. A workflow's partition key is hashed
many times while the workflow is handled (placing it, sending its commands, finding its correlation
index entries), so the hashes of recent keys are kept.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from typing import Any

from aiokafka.partitioner import murmur2

KEYS_REMEMBERED = 65_536
"""How many recent keys' hashes are kept."""


@functools.lru_cache(maxsize=KEYS_REMEMBERED)
def _hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def partition_for(key: str | bytes, partitions: int) -> int:
    """Return the partition Kafka's default partitioner sends ``key`` to among ``partitions``."""
    return _hash(key.encode() if isinstance(key, str) else key) % partitions


def key_partitioner(key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
    """The producer's partitioner: Kafka's default one (a key by its hash, no key at random), remembering hashes."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[partition_for(key, len(all_partitions))]


def workflow_key(workflow: Any) -> str:
    """Return a workflow's partition key: its runtime parameter named by ``partition_key_lookup``.

    A workflow without one is placed by its id.
    """
    value = workflow.runtime_parameters.get(workflow.partition_key_lookup)
    return str(workflow.id) if value is None else str(value)
