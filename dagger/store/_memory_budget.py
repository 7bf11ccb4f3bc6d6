"""One memory budget for all of a worker's RocksDB databases.

Faust opens each partition's database with write buffers and a block cache of its own, so a worker's
RocksDB memory grows with the number of partition databases it holds (the active and standby
partitions of three tables) and, until the buffers are full, with every workflow written: with
:data:`~dagger.service.engineconfig.ROCKS_DB_OPTIONS`, up to two 16 MiB of memtables and a 64 MiB
cache per database. Dagger opens every database of a worker with one write buffer manager, which
flushes memtables once together they pass ``write_buffer_size * max_write_buffer_number``, and one
block cache of ``block_cache_size``: the options' sizes become the worker's, whatever it holds. The
index and filter blocks of the databases' files live in that cache too (those of the newest files pinned
there), where RocksDB would otherwise hold them apart, for every file, however many there are.
Both fill up as the worker writes and reads workflows and then stay at their size; :meth:`MemoryBudget.usage`
tells how full they are (``GET /service/memory``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rocksdict
from faust.stores.rocksdb import RocksDBOptions

from dagger.store._rocksdb_options import apply_tuning, unlogged_writes


class MemoryBudget:
    """The write buffer manager and block cache that a worker's databases share."""

    def __init__(self, write_buffers: int, block_cache: int) -> None:
        self.write_buffers = rocksdict.WriteBufferManager(write_buffers, False)
        self.block_cache = rocksdict.Cache(block_cache)
        self.block_cache_limit = block_cache

    def usage(self) -> dict[str, int]:
        """Bytes in use and the limit of the shared memtables and of the shared block cache."""
        return {
            "memtables_bytes": self.write_buffers.get_usage(),
            "memtables_limit_bytes": self.write_buffers.get_buffer_size(),
            "block_cache_bytes": self.block_cache.get_usage(),
            "block_cache_limit_bytes": self.block_cache_limit,
        }

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MemoryBudget:
        """The budget that ``options`` (faust's RocksDB table options) give one database."""
        write_buffer_size = options.get("write_buffer_size", RocksDBOptions.write_buffer_size)
        buffers = options.get("max_write_buffer_number", RocksDBOptions.max_write_buffer_number)
        return cls(write_buffer_size * buffers, options.get("block_cache_size", RocksDBOptions.block_cache_size))


class BudgetedRocksDBOptions(RocksDBOptions):
    """Faust's RocksDB options, opening each database within a shared :class:`MemoryBudget`, with every option
    of :data:`~dagger.store._rocksdb_options.ROCKS_DB_OPTIONS` applied and writes not logged ahead."""

    def __init__(self, budget: MemoryBudget, **options: Any) -> None:
        super().__init__(**options)
        self.budget = budget

    def open(self, path: Path, *, read_only: bool = False) -> Any:
        """Open the database at ``path``, writing without a write-ahead log."""
        db = super().open(path, read_only=read_only)
        db.set_write_options(unlogged_writes())
        return db

    def as_options(self) -> Any:
        """Faust's options with the budget's write buffer manager and block cache, and the rest of the options."""
        options = super().as_options()
        apply_tuning(options, self.extra_options)
        options.set_write_buffer_manager(self.budget.write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(self.budget.block_cache)
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


def open_within(budget: MemoryBudget, table: Any, options: Mapping[str, Any]) -> None:
    """Have faust ``table`` open its partition databases within ``budget`` (when it uses rocksdict)."""
    store = table.data
    if getattr(store, "use_rocksdict", False):
        store.rocksdb_options = BudgetedRocksDBOptions(budget, **options, use_rocksdict=True)
