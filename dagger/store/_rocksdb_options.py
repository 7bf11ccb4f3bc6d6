"""The options every RocksDB database of the store is opened with (``dagger.service.engineconfig`` names them too).

The sizes of the write buffers and the block cache are a worker's budget, shared by all its databases
(:mod:`dagger.store._memory_budget`). Change the dict before the engine is created to change them.
Faust hands rocksdict only the sizes, the bloom filter and ``max_open_files``; :func:`apply_tuning`
applies the others. Level 0 compacts at four files, RocksDB's default: the reference's one made every
memtable flush rewrite level 1, which with 100,000 workflows waiting cost as much CPU as the events.

The databases are written without RocksDB's write-ahead log. Each partition's database holds what its
changelog held up to an offset it stores beside the data, and RocksDB flushes its memtables whole, so a
worker killed before a flush reopens its databases as they were at the last flush, that offset
included, and reads the rest again from the changelog. Logging every write a second time would buy
nothing, and it was most of the cost of a write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import rocksdict

logger = logging.getLogger(__name__)


class CompressionType:
    """Names of the RocksDB compression types used in :data:`ROCKS_DB_OPTIONS`."""

    lz4_compression = "lz4_compression"


ROCKS_DB_OPTIONS: dict[str, Any] = {
    "write_buffer_size": 16 * 1024 * 1024,
    "max_write_buffer_number": 2,
    "block_cache_size": 64 * 1024 * 1024,
    "bloom_filter_size": 10,
    "max_open_files": 20000,
    "compression": CompressionType.lz4_compression,
    "target_file_size_base": 64 * 1024 * 1024,
    "level0_file_num_compaction_trigger": 4,
    "max_bytes_for_level_base": 512 * 1024 * 1024,
}


def _compression(options: rocksdict.Options, name: str) -> None:
    kind = getattr(rocksdict.DBCompressionType, name.removesuffix("_compression"), None)
    if kind is None:
        raise ValueError(f"unknown RocksDB compression {name!r}")
    options.set_compression_type(kind())


_TUNING: dict[str, Callable[[rocksdict.Options, Any], None]] = {
    "compression": _compression,
    "level0_file_num_compaction_trigger": rocksdict.Options.set_level_zero_file_num_compaction_trigger,
    "max_bytes_for_level_base": rocksdict.Options.set_max_bytes_for_level_base,
}
"""The options faust does not hand rocksdict, and how to set each."""


def apply_tuning(options: rocksdict.Options, tuning: Mapping[str, Any]) -> None:
    """Set on ``options`` those of ``tuning`` (faust's extra RocksDB options) that faust leaves out; an
    option Dagger does not know is logged and left out."""
    for name, value in tuning.items():
        setter = _TUNING.get(name)
        if setter is None:
            logger.warning("RocksDB option %r is not applied: Dagger does not know it", name)
        else:
            setter(options, value)


def unlogged_writes() -> rocksdict.WriteOptions:
    """The write options of every database: no write-ahead log (see the module's docstring)."""
    options = rocksdict.WriteOptions()
    options.disable_wal = True  # type: ignore[method-assign,assignment]  # a property; rocksdict's stub says a method
    return options
