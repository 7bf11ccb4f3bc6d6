"""The correlation index: which listener tasks wait on a correlation value of a topic.

An entry list is stored in chunks of at most ``max_entries`` under the key ``f"{value}_{topic}"``;
a full chunk links the next one through ``overflow_key``. Every operation is synchronous, so an
update is atomic with respect to the other coroutines of the worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from uuid import UUID

from dagger import codec
from dagger.store._partitioned_table import PartitionedTable
from dagger.tasks.task import CorreletableKeyTasks, CorreletableLookUpKey


def lookup_key(value: str, topic: str) -> str:
    """Return the index key of the tasks waiting on ``value`` on ``topic``."""
    return f"{value}_{topic}"


def split_lookup_key(key: str, topics: Iterable[str]) -> tuple[str, str] | None:
    """Return the ``(value, topic)`` whose :func:`lookup_key` is ``key``, for one of ``topics``; None if none fits.

    Where two topics fit (one ends the other), the longer one is taken.
    """
    for topic in sorted(topics, key=len, reverse=True):
        suffix = f"_{topic}"
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], topic
    return None


class CorrelationIndex:
    """Chunked lists of waiting ``(workflow, task)`` pairs per correlation key, in one table partition."""

    def __init__(self, table: PartitionedTable, max_entries: int) -> None:
        self.table = table
        self.max_entries = max(1, max_entries)

    def chunks(self, partition: int, key: str) -> list[CorreletableKeyTasks]:
        """Return the chunks stored for ``key``, head first."""
        found: list[CorreletableKeyTasks] = []
        next_key: str | None = key
        seen: set[str] = set()
        while next_key is not None and next_key not in seen:
            seen.add(next_key)
            raw = self.table.get(partition, next_key.encode())
            if raw is None:
                break
            chunk = codec.loads(raw, expected=CorreletableKeyTasks)
            chunk.key = next_key
            found.append(chunk)
            next_key = chunk.overflow_key
        return found

    def entries(self, partition: int, key: str) -> list[CorreletableLookUpKey]:
        """Return every waiting pair registered under ``key``, oldest chunk first."""
        return [entry for chunk in self.chunks(partition, key) for entry in sorted(chunk.lookup_keys, key=_order)]

    def add(self, partition: int, key: str, entry: CorreletableLookUpKey) -> None:
        """Register ``entry`` under ``key`` (once), opening a new chunk when the last one is full."""
        chunks = self.chunks(partition, key)
        if any(_same_task(entry, known) for chunk in chunks for known in chunk.lookup_keys):
            return
        if not chunks:
            self._write(partition, CorreletableKeyTasks(lookup_keys={entry}, key=key))
            return
        last = chunks[-1]
        if len(last.lookup_keys) < self.max_entries:
            last.lookup_keys.add(entry)
            self._write(partition, last)
            return
        overflow = CorreletableKeyTasks(lookup_keys={entry}, key=str(uuid.uuid1()))
        last.overflow_key = overflow.key
        self._write(partition, overflow)
        self._write(partition, last)

    def update(self, partition: int, key: str, add: bool, entry: CorreletableLookUpKey) -> None:
        """Register ``entry`` under ``key`` (``add``), or unregister its task from there."""
        if add:
            self.add(partition, key, entry)
        else:
            self.remove(partition, key, [(entry.workflow_id, entry.task_id)])

    def holder(self, partitions: Iterable[int], key: str) -> int | None:
        """Return the first of ``partitions`` that stores a chunk under ``key``, or None."""
        return next(
            (partition for partition in partitions if self.table.get(partition, key.encode()) is not None), None
        )

    def remove(self, partition: int, key: str, pairs: Iterable[tuple[UUID, UUID]]) -> None:
        """Unregister the ``(workflow id, task id)`` pairs from ``key``; empty chunks are dropped."""
        gone = set(pairs)
        chunks = self.chunks(partition, key)
        for position, chunk in enumerate(chunks):
            kept = {entry for entry in chunk.lookup_keys if (entry.workflow_id, entry.task_id) not in gone}
            if len(kept) == len(chunk.lookup_keys):
                continue
            chunk.lookup_keys = kept
            if kept:
                self._write(partition, chunk)
            else:
                self._drop(partition, chunks, position)
                return self.remove(partition, key, gone)

    def _drop(self, partition: int, chunks: list[CorreletableKeyTasks], position: int) -> None:
        """Remove the empty chunk at ``position`` from the chain, keeping the head under its key."""
        chunk = chunks[position]
        if position > 0:
            previous = chunks[position - 1]
            previous.overflow_key = chunk.overflow_key
            self._write(partition, previous)
            self.table.delete(partition, chunk.key.encode())  # type: ignore[union-attr]
        elif chunk.overflow_key is not None:
            successor = chunks[position + 1]
            self.table.delete(partition, successor.key.encode())  # type: ignore[union-attr]
            successor.key = chunk.key
            self._write(partition, successor)
        else:
            self.table.delete(partition, chunk.key.encode())  # type: ignore[union-attr]

    def _write(self, partition: int, chunk: CorreletableKeyTasks) -> None:
        self.table.put(partition, chunk.key.encode(), codec.dumps(chunk))  # type: ignore[union-attr]


def _same_task(entry: CorreletableLookUpKey, known: CorreletableLookUpKey) -> bool:
    return entry.workflow_id == known.workflow_id and entry.task_id == known.task_id


def _order(entry: CorreletableLookUpKey) -> tuple[str, str]:
    return str(entry.workflow_id), str(entry.task_id)
