"""All of a worker's RocksDB databases share one budget of write buffers and one block cache."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import rocksdict

from dagger.service._memory_release import MALLOC_TRIM, release_freed_memory
from dagger.service._views import resident_bytes
from dagger.store._memory_budget import BudgetedRocksDBOptions, MemoryBudget
from dagger.store._rocksdb_options import ROCKS_DB_OPTIONS

MiB = 2**20


def memtables(databases: list[rocksdict.Rdict]) -> int:
    return sum(db.property_int_value("rocksdb.cur-size-all-mem-tables") or 0 for db in databases)


def settled(databases: list[rocksdict.Rdict], seconds: float = 10.0) -> None:
    """Wait until no database has a memtable flush pending or running."""
    deadline = time.monotonic() + seconds
    busy = ("rocksdb.mem-table-flush-pending", "rocksdb.num-running-flushes")
    while any(db.property_int_value(name) for db in databases for name in busy):
        assert time.monotonic() < deadline, "flushes did not finish"
        time.sleep(0.01)


def fill(databases: list[rocksdict.Rdict], megabytes: int) -> None:
    value = b"x" * 4096
    for number in range(megabytes * MiB // len(value)):
        databases[number % len(databases)].put(b"key-%08d" % number, value)


def open_databases(directory: Path, options: rocksdict.Options, count: int) -> list[rocksdict.Rdict]:
    return [rocksdict.Rdict(str(directory / f"db-{number}"), options=options) for number in range(count)]


def test_the_databases_memtables_stay_within_the_shared_budget(tmp_path: Path) -> None:
    """The shared write buffer manager flushes a database whose write finds the memtables over the budget; so once
    every database has been written to after the load, what they hold is within it (how far over the budget the
    load itself got depends on when the background flushes ran)."""
    budget = MemoryBudget(write_buffers=2 * MiB, block_cache=MiB)
    options = BudgetedRocksDBOptions(budget, write_buffer_size=64 * MiB).as_options()
    databases = open_databases(tmp_path, options, count=4)
    fill(databases, megabytes=24)
    settled(databases)
    for db in databases:
        db.put(b"after-the-load", b"x")
    settled(databases)
    assert memtables(databases) <= 2 * MiB
    for db in databases:
        db.close()


def test_without_a_budget_each_database_keeps_its_own_write_buffers(tmp_path: Path) -> None:
    unbudgeted = rocksdict.Options(raw_mode=True)
    unbudgeted.create_if_missing(True)
    unbudgeted.set_write_buffer_size(64 * MiB)
    databases = open_databases(tmp_path, unbudgeted, count=4)
    fill(databases, megabytes=24)
    assert memtables(databases) > 20 * MiB
    for db in databases:
        db.close()


def test_the_budget_is_what_the_options_give_one_database() -> None:
    budget = MemoryBudget.from_options({"write_buffer_size": 16 * MiB, "max_write_buffer_number": 2})
    assert budget.write_buffers.get_buffer_size() == 32 * MiB


def test_the_usage_counts_what_the_databases_hold_against_the_limits(tmp_path: Path) -> None:
    budget = MemoryBudget(write_buffers=8 * MiB, block_cache=4 * MiB)
    assert budget.usage() == {
        "memtables_bytes": 0,
        "memtables_limit_bytes": 8 * MiB,
        "block_cache_bytes": 0,
        "block_cache_limit_bytes": 4 * MiB,
    }
    databases = open_databases(tmp_path, BudgetedRocksDBOptions(budget).as_options(), count=2)
    fill(databases, megabytes=2)
    assert MiB < budget.usage()["memtables_bytes"] <= 8 * MiB
    for number, db in enumerate(databases):
        db.flush()
        assert db[b"key-%08d" % number] == b"x" * 4096
    assert 0 < budget.usage()["block_cache_bytes"] <= 4 * MiB
    for db in databases:
        db.close()


async def test_memory_freed_in_the_middle_of_the_heap_goes_back_to_the_system() -> None:
    assert MALLOC_TRIM is not None, "this test runs on glibc"
    freed = [bytearray(4096) for _ in range(20_000)]
    kept_on_top = bytearray(4096)
    del freed
    before = resident_bytes()
    await release_freed_memory()
    after = resident_bytes()
    assert before is not None and after is not None
    assert before - after > 40 * MiB
    assert len(kept_on_top) == 4096


def test_every_option_of_the_store_reaches_rocksdb(tmp_path: Path) -> None:
    options = BudgetedRocksDBOptions(MemoryBudget(write_buffers=MiB, block_cache=MiB), **ROCKS_DB_OPTIONS)
    db = options.open(tmp_path / "db")
    db.close()
    written = (max(tmp_path.joinpath("db").glob("OPTIONS-*"))).read_text()
    assert "compression=kLZ4Compression" in written
    assert "level0_file_num_compaction_trigger=4" in written
    assert f"max_bytes_for_level_base={512 * MiB}" in written


def test_an_option_the_store_does_not_know_is_refused_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    options = BudgetedRocksDBOptions(MemoryBudget(write_buffers=MiB, block_cache=MiB), no_such_option=3)
    options.open(tmp_path / "db").close()
    assert "'no_such_option' is not applied" in caplog.text
    with pytest.raises(ValueError, match="unknown RocksDB compression"):
        BudgetedRocksDBOptions(MemoryBudget(write_buffers=MiB, block_cache=MiB), compression="pied_piper").as_options()


def test_writes_are_not_logged_ahead_and_a_closed_database_keeps_them(tmp_path: Path) -> None:
    options = BudgetedRocksDBOptions(MemoryBudget(write_buffers=64 * MiB, block_cache=MiB), **ROCKS_DB_OPTIONS)
    db = options.open(tmp_path / "db")
    for number in range(1000):
        db.put(b"key-%04d" % number, b"x" * 1000)
    assert sum(log.stat().st_size for log in tmp_path.joinpath("db").glob("*.log")) == 0
    db.close()
    reopened = options.open(tmp_path / "db")
    assert reopened.get(b"key-0999") == b"x" * 1000
    reopened.close()
