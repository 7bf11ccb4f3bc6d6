"""The local database of a partition follows its changelog: writes reach it once acknowledged, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from dagger.store._partitioned_table import PartitionedTable


class Database:
    """A partition's RocksDB database: sorted bytes to bytes."""

    def __init__(self) -> None:
        self.entries: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.entries.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.entries[key] = value

    def delete(self, key: bytes) -> None:
        self.entries.pop(key, None)

    def items(self, from_key: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(self.entries):
            if key >= from_key:
                yield key, self.entries[key]


@dataclass
class Metadata:
    """What the broker answers for an acknowledged record."""

    topic_partition: tuple[str, int]
    offset: int


@dataclass
class FaustTable:
    """The parts of a faust table that a PartitionedTable uses; the changelog answers when the test says so."""

    name: str = "kv_table"
    databases: dict[int, Database] = field(default_factory=dict)
    persisted: dict[tuple[str, int], int] = field(default_factory=dict)
    sent: list[tuple[int, bytes, bytes | None, asyncio.Future[Any]]] = field(default_factory=list)
    crashes: list[BaseException] = field(default_factory=list)
    futures: list[asyncio.Future[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data = self
        self.changelog_topic = self
        self.app = self

    def get_topic_name(self) -> str:
        return "kv_table-changelog"

    def _db_for_partition(self, partition: int) -> Database:
        return self.databases.setdefault(partition, Database())

    def stored(self, partition: int) -> dict[bytes, bytes]:
        return self._db_for_partition(partition).entries

    def set_persisted_offset(self, tp: tuple[str, int], offset: int) -> None:
        self.persisted[tp] = offset

    def send_soon(self, *, key: bytes, value: bytes | None, partition: int, **options: Any) -> asyncio.Future[Any]:
        sent: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((partition, key, value, sent))
        return sent

    def acknowledge(self, number: int) -> None:
        partition, *_, sent = self.sent[number]
        sent.set_result(Metadata(("kv_table-changelog", partition), offset=100 + number))

    def refuse(self, number: int) -> None:
        self.sent[number][-1].set_exception(RuntimeError("broker said no"))

    def add_future(self, coroutine: Any) -> None:
        self.futures.append(asyncio.ensure_future(coroutine))

    async def crash(self, error: BaseException) -> None:
        self.crashes.append(error)


@pytest.fixture
def faust_table() -> FaustTable:
    return FaustTable()


@pytest.fixture
def table(faust_table: FaustTable) -> PartitionedTable:
    return PartitionedTable(faust_table)


async def settle() -> None:
    """Let the acknowledgement callbacks run."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_write_is_read_at_once_and_reaches_the_database_once_acknowledged(
    faust_table: FaustTable, table: PartitionedTable
) -> None:
    table.put(2, b"k", b"v1")
    assert table.get(2, b"k") == b"v1"
    assert faust_table.stored(2) == {}
    assert [(partition, key, value) for partition, key, value, _ in faust_table.sent] == [(2, b"k", b"v1")]
    faust_table.acknowledge(0)
    await settle()
    assert faust_table.stored(2) == {b"k": b"v1"}
    assert faust_table.persisted == {("kv_table-changelog", 2): 100}
    assert table.get(2, b"k") == b"v1"


async def test_acknowledgements_are_applied_in_the_order_of_the_writes(
    faust_table: FaustTable, table: PartitionedTable
) -> None:
    table.put(0, b"k", b"first")
    table.put(0, b"k", b"second")
    faust_table.acknowledge(1)
    await settle()
    assert faust_table.stored(0) == {}
    assert table.get(0, b"k") == b"second"
    faust_table.acknowledge(0)
    await settle()
    assert faust_table.stored(0) == {b"k": b"second"}
    assert faust_table.persisted == {("kv_table-changelog", 0): 101}


async def test_items_show_pending_writes_over_the_database_and_hide_pending_deletes(
    faust_table: FaustTable, table: PartitionedTable
) -> None:
    faust_table.stored(0).update({b"a": b"1", b"b": b"2", b"d": b"4", b"__faust\x00offset__": b"7"})
    table.delete(0, b"b")
    table.put(0, b"c", b"3")
    table.put(0, b"d", b"four")
    assert table.get(0, b"b") is None
    assert list(table.items(0)) == [(b"a", b"1"), (b"c", b"3"), (b"d", b"four")]
    assert list(table.items(0, start=b"b", stop=b"d")) == [(b"c", b"3")]


async def test_a_refused_write_stops_the_worker_and_keeps_the_database_behind_it(
    faust_table: FaustTable, table: PartitionedTable
) -> None:
    table.put(0, b"a", b"1")
    table.put(0, b"b", b"2")
    faust_table.refuse(0)
    faust_table.acknowledge(1)
    await settle()
    assert [str(error) for error in faust_table.crashes] == ["broker said no"]
    assert faust_table.stored(0) == {}
    assert faust_table.persisted == {}


async def test_flush_reports_the_writes_still_unacknowledged(faust_table: FaustTable, table: PartitionedTable) -> None:
    table.put(0, b"a", b"1")
    table.put(1, b"b", b"2")
    faust_table.acknowledge(0)
    assert await table.flush(timeout=0.05) == 1
    faust_table.acknowledge(1)
    assert await table.flush(timeout=0.05) == 0
    assert faust_table.stored(1) == {b"b": b"2"}
