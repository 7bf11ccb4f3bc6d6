"""The reference's constructor options that this engine reads its own way, or cannot honour.

- ``kafka_broker_list`` (unused by the reference) adds brokers to bootstrap from, after ``broker``.
- ``schema_registry_url`` gives application code a schema registry client and an Avro message
  serializer on it, as the reference did, when ``python-schema-registry-client`` is installed
  (``pip install 'dagger[schema-registry]'``); ``message_serializer`` is the serializer offered instead.
- ``enable_changelog=False`` cannot be honoured: the tables' changelogs are what a worker recovers from.

What has no effect is said once, in a warning, when the engine first starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CHANGELOG_ALWAYS = (
    "enable_changelog=False has no effect: every table of the RocksDB store writes its changelog topic, "
    "which is what a worker rebuilds its state from"
)


def broker_setting(broker: str, kafka_broker_list: str | Iterable[str] | None) -> str:
    """The faust ``broker`` setting: ``broker``, then every broker of ``kafka_broker_list``.

    ``kafka_broker_list`` holds ``host:port`` or ``kafka://host:port`` entries, as a list or as one string
    separated by commas or semicolons; an entry without a scheme takes ``broker``'s.
    """
    if not kafka_broker_list:
        return broker
    extra = [kafka_broker_list] if isinstance(kafka_broker_list, str) else [str(entry) for entry in kafka_broker_list]
    return ";".join([broker, *extra])


@dataclass(frozen=True)
class SchemaRegistry:
    """The schema registry client and message serializer offered to application code, and why there is no client."""

    client: Any = None
    serializer: Any = None
    problem: str | None = None


def schema_registry(url: str | None, message_serializer: Any = None) -> SchemaRegistry:
    """A client of the schema registry at ``url`` with ``message_serializer``, or an Avro serializer on the client.

    Without ``url`` there is no client; without the ``python-schema-registry-client`` package there is
    none either, and ``problem`` says so.
    """
    if url is None:
        return SchemaRegistry(serializer=message_serializer)
    try:
        from schema_registry.client import SchemaRegistryClient
        from schema_registry.serializers import AvroMessageSerializer
    except ImportError:
        problem = (
            "schema_registry_url has no effect: python-schema-registry-client is not installed "
            "(pip install 'dagger[schema-registry]')"
        )
        return SchemaRegistry(serializer=message_serializer, problem=problem)
    client = SchemaRegistryClient(url=url)
    return SchemaRegistry(client, AvroMessageSerializer(client) if message_serializer is None else message_serializer)
