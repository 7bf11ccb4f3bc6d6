"""A faust table read and written partition by partition, with the partition always named.

Faust's own table API picks the partition from the event being processed, which puts a write in the
wrong place whenever the event's partition is not the record's. Dagger decides the partition of every
record itself (see ``docs/engine.md``) and sends the write to that partition of the table's changelog.

The local RocksDB database of a partition follows its changelog. A write is visible to this worker's
reads at once, as a pending write, and reaches the database only once the broker has acknowledged it,
in the order the writes were made (the writes a produce request carried, together); the offset faust
recovers the partition from moves with it. So a
worker killed at any moment restarts with what its changelog holds, no more: never a write the other
workers cannot see, never one that its recovery would partly undo. A write the broker refuses leaves
the database behind it and stops the worker, which then recovers from the changelog.

Under exactly-once the engine hands the table the transaction its writes belong to (``transaction``,
called at each write): such a write goes out in it and reaches the database once it has committed.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from faust.types import TP

logger = logging.getLogger(__name__)

_FAUST_RESERVED_PREFIX = b"__faust"
"""Faust keeps its changelog offset inside each partition's database under a key with this prefix."""


class Transaction(Protocol):
    """The transaction a write is made in: it sends the write, and says when it has committed."""

    def send(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None) -> asyncio.Future[Any]:
        """Send a message in the transaction; return its acknowledgement."""

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction has committed."""


def no_transaction() -> Transaction | None:
    """Writes made outside any transaction (at-least-once)."""
    return None


@dataclass(eq=False)
class _Write:
    """One write sent to the changelog: ``value`` None deletes ``key``; ``offset`` is known once acknowledged.

    A write sent in a transaction (exactly-once) also waits for the transaction to commit.
    """

    key: bytes
    value: bytes | None
    offset: int | None = None
    awaiting_commit: bool = False

    @property
    def durable(self) -> bool:
        """Whether the broker holds the write for good: acknowledged, and committed if in a transaction."""
        return self.offset is not None and not self.awaiting_commit


class PartitionedTable:
    """Bytes keyed by bytes in a faust table backed by RocksDB, one database per partition."""

    def __init__(self, table: Any, transaction: Callable[[], Transaction | None] = no_transaction) -> None:
        self.table = table
        self.transaction = transaction
        self._sent: dict[int, deque[_Write]] = {}
        self._pending: dict[int, dict[bytes, _Write]] = {}
        self._unacknowledged: set[asyncio.Future[Any]] = set()
        self._applying: set[int] = set()

    @property
    def name(self) -> str:
        """The faust table's name."""
        return str(self.table.name)

    def get(self, partition: int, key: bytes) -> bytes | None:
        """Return the value of ``key`` in ``partition``, or None."""
        pending = self._pending.get(partition)
        if pending is not None and key in pending:
            return pending[key].value
        value = self._db(partition).get(key)
        return None if value is None else bytes(value)

    def put(self, partition: int, key: bytes, value: bytes) -> asyncio.Future[Any]:
        """Set ``key`` to ``value`` in ``partition``; return the broker's acknowledgement of the write."""
        return self._write(partition, _Write(key, value))

    def delete(self, partition: int, key: bytes) -> asyncio.Future[Any]:
        """Remove ``key`` from ``partition`` (a tombstone); return the broker's acknowledgement of the write."""
        return self._write(partition, _Write(key, None))

    def items(self, partition: int, start: bytes = b"", stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Yield the entries of ``partition`` in key order, from ``start`` up to (not including) ``stop``."""
        pending = sorted(
            (key, write.value)
            for key, write in self._pending.get(partition, {}).items()
            if key >= start and (stop is None or key < stop)
        )
        return _overlay(self._stored(partition, start, stop), pending)

    async def flush(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds until the broker has every changelog write; return how many are not."""
        if self._unacknowledged:
            await asyncio.wait(list(self._unacknowledged), timeout=timeout)
        for partition in list(self._applying):
            self._apply_durable(partition)
        return len(self._unacknowledged)

    def _write(self, partition: int, write: _Write) -> asyncio.Future[Any]:
        self._sent.setdefault(partition, deque()).append(write)
        self._pending.setdefault(partition, {})[write.key] = write
        transactions = self.transaction()
        sent: asyncio.Future[Any]
        if transactions is None:
            sent = self.table.changelog_topic.send_soon(
                key=write.key,
                value=write.value,
                partition=partition,
                key_serializer="raw",
                value_serializer="raw",
                eager_partitioning=True,
            )
        else:
            write.awaiting_commit = True
            sent = transactions.send(self.table.changelog_topic.get_topic_name(), write.key, write.value, partition)
            transactions.on_commit(partial(self._committed, partition, write))
        self._unacknowledged.add(sent)
        sent.add_done_callback(partial(self._acknowledged, partition, write))
        return sent

    def _acknowledged(self, partition: int, write: _Write, sent: asyncio.Future[Any]) -> None:
        self._unacknowledged.discard(sent)
        error = None if sent.cancelled() else sent.exception()
        if sent.cancelled() or error is not None:
            self._refused(partition, error)
            return
        write.offset = sent.result().offset
        self._apply_soon(partition)

    def _committed(self, partition: int, write: _Write) -> None:
        write.awaiting_commit = False
        self._apply_soon(partition)

    def _apply_soon(self, partition: int) -> None:
        """Apply the partition's durable writes once the acknowledgements that arrived with this one are in too,
        so that a produce request's writes reach the database together, with one offset update."""
        if partition not in self._applying:
            self._applying.add(partition)
            asyncio.get_running_loop().call_soon(self._apply_durable, partition)

    def _apply_durable(self, partition: int) -> None:
        """Write the durable writes at the head of the partition's queue to its database, in order."""
        self._applying.discard(partition)
        sent, pending, db = self._sent[partition], self._pending[partition], self._db(partition)
        last = None
        while sent and sent[0].durable:
            write = sent.popleft()
            if write.value is None:
                db.delete(write.key)
            else:
                db.put(write.key, write.value)
            if pending.get(write.key) is write:
                del pending[write.key]
            last = write.offset
        if last is not None:
            self.table.data.set_persisted_offset(TP(self.table.changelog_topic.get_topic_name(), partition), last)

    def _refused(self, partition: int, error: BaseException | None) -> None:
        logger.critical(
            "The broker refused a write to partition %d of %s (%r); the worker stops to recover from the changelog",
            partition,
            self.name,
            error,
        )
        app = self.table.app
        app.add_future(app.crash(error or RuntimeError("changelog write cancelled")))

    def _stored(self, partition: int, start: bytes, stop: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self._db(partition).items(from_key=start):
            if stop is not None and key >= stop:
                return
            if not key.startswith(_FAUST_RESERVED_PREFIX):
                yield key, value

    def _db(self, partition: int) -> Any:
        return self.table.data._db_for_partition(partition)


def _overlay(
    stored: Iterable[tuple[bytes, bytes]], pending: Iterable[tuple[bytes, bytes | None]]
) -> Iterator[tuple[bytes, bytes]]:
    """Merge two key-ordered streams of entries: a pending entry replaces a stored one, a pending None hides it."""
    merged = heapq.merge(
        ((key, 0, value) for key, value in pending),
        ((key, 1, value) for key, value in stored),
        key=lambda entry: entry[:2],
    )
    previous = None
    for key, _, value in merged:
        if key != previous and value is not None:
            yield key, value
        previous = key
