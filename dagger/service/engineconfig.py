"""Engine configuration records and the store defaults (``ROCKS_DB_OPTIONS`` is the store's, named here too)."""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

from dagger.store._rocksdb_options import ROCKS_DB_OPTIONS, CompressionType

__all__ = ["ROCKS_DB_OPTIONS", "AerospikeConfig", "CompressionType", "EngineConfig", "StoreEnum"]


class StoreEnum(Enum):
    """The stores a Dagger engine can keep its state in, by URL scheme."""

    AEROSPIKE = "aerospike://"
    ROCKSDB = "rocksdb://"


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
