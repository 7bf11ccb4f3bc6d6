"""A table held in memory with the interface of :class:`dagger.store._partitioned_table.PartitionedTable`."""

from __future__ import annotations

from collections.abc import Iterator


class MemoryTable:
    """Partitions of bytes-to-bytes maps, read in key order; a write is durable at once."""

    name = "memory"

    def __init__(self) -> None:
        self.partitions: dict[int, dict[bytes, bytes]] = {}

    def get(self, partition: int, key: bytes) -> bytes | None:
        """The value of ``key`` in ``partition``, or None."""
        return self.partitions.get(partition, {}).get(key)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        """Set ``key`` to ``value`` in ``partition``."""
        self.partitions.setdefault(partition, {})[key] = value

    def delete(self, partition: int, key: bytes) -> None:
        """Remove ``key`` from ``partition``."""
        self.partitions.get(partition, {}).pop(key, None)

    def items(self, partition: int, start: bytes = b"", stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """The entries of ``partition`` in key order, from ``start`` up to (not including) ``stop``."""
        stored = self.partitions.get(partition, {})
        for key in sorted(stored):
            if key >= start and (stop is None or key < stop):
                yield key, stored[key]
