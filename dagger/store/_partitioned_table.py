"""A faust table read and written partition by partition, with the partition always named.

Faust's own table API picks the partition from the event being processed, which puts a write in the
wrong place whenever the event's partition is not the record's. Dagger decides the partition of every
record itself (see ``docs/engine.md``), writes the local RocksDB of that partition and the same
bytes to the same partition of the table's changelog, so a worker that recovers the partition from
the changelog rebuilds exactly what was written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

_FAUST_RESERVED_PREFIX = b"__faust"
"""Faust keeps its changelog offset inside each partition's database under a key with this prefix."""


class PartitionedTable:
    """Bytes keyed by bytes in a faust table backed by RocksDB, one database per partition."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self._unacknowledged: set[asyncio.Future[Any]] = set()

    @property
    def name(self) -> str:
        """The faust table's name."""
        return str(self.table.name)

    def get(self, partition: int, key: bytes) -> bytes | None:
        """Return the value of ``key`` in ``partition``, or None."""
        value = self._db(partition).get(key)
        return None if value is None else bytes(value)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        """Set ``key`` to ``value`` in ``partition`` locally and in the changelog."""
        self._apply(partition, key, value)
        self._track(self._log(partition, key, value))

    def delete(self, partition: int, key: bytes) -> None:
        """Remove ``key`` from ``partition`` locally and in the changelog (a tombstone)."""
        self._apply(partition, key, None)
        self._track(self._log(partition, key, None))

    def _apply(self, partition: int, key: bytes, value: bytes | None) -> None:
        if value is None:
            self._db(partition).delete(key)
        else:
            self._db(partition).put(key, value)

    def _log(self, partition: int, key: bytes, value: bytes | None) -> asyncio.Future[Any]:
        sent: asyncio.Future[Any] = self.table.send_changelog(
            partition, key, value, key_serializer="raw", value_serializer="raw"
        )
        return sent

    async def flush(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds until the broker has every changelog write; return how many are not."""
        if self._unacknowledged:
            await asyncio.wait(list(self._unacknowledged), timeout=timeout)
        return len(self._unacknowledged)

    def _track(self, sent: asyncio.Future[Any]) -> None:
        self._unacknowledged.add(sent)
        sent.add_done_callback(self._unacknowledged.discard)

    def items(self, partition: int, start: bytes = b"", stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Yield the entries of ``partition`` in key order, from ``start`` up to (not including) ``stop``."""
        for key, value in self._db(partition).items(from_key=start):
            if stop is not None and key >= stop:
                return
            if not key.startswith(_FAUST_RESERVED_PREFIX):
                yield key, value

    def _db(self, partition: int) -> Any:
        return self.table.data._db_for_partition(partition)
