"""Engine configuration records and the store defaults."""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple


class StoreEnum(Enum):
    """The stores a Dagger engine can keep its state in, by URL scheme."""

    AEROSPIKE = "aerospike://"
    ROCKSDB = "rocksdb://"


class CompressionType:
    """Names of the RocksDB compression types used in :data:`ROCKS_DB_OPTIONS`."""

    lz4_compression = "lz4_compression"


class EngineConfig(NamedTuple):
    """Settings the engine was constructed with."""

    BROKER: str
    DATADIR: str | None
    STORE: str
    APPLICATION_NAME: str
    PACKAGE_NAME: str
    KAFKA_PARTITIONS: int
    KWARGS: Any


class AerospikeConfig(NamedTuple):
    """Connection settings of an Aerospike store."""

    HOSTS: Any
    POLICIES: Any
    NAMESPACE: str
    USERNAME: str | None
    PASSWORD: str | None
    TTL: int
    KWARGS: Any

    def as_options(self) -> dict[str, Any]:
        """Return these settings as faust Aerospike store options."""
        return {
            "hosts": self.HOSTS,
            "policies": self.POLICIES,
            "namespace": self.NAMESPACE,
            "ttl": self.TTL,
            "username": self.USERNAME,
            "password": self.PASSWORD,
            "client": {"hosts": self.HOSTS, "policies": self.POLICIES, **(self.KWARGS or {})},
        }


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
