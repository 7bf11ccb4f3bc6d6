"""The options every RocksDB database of the store is opened with (``dagger.service.engineconfig`` names them too).

The sizes of the write buffers and the block cache are a worker's budget, shared by all its databases
(:mod:`dagger.store._memory_budget`). Change the dict before the engine is created to change them.
"""

from __future__ import annotations

from typing import Any


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
    "level0_file_num_compaction_trigger": 1,
    "max_bytes_for_level_base": 512 * 1024 * 1024,
}
