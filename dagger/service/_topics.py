"""Creating the topics an engine uses before anything consumes them, and reading how large a message each takes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = "max.message.bytes"
"""The topic setting that bounds the size of a record batch the broker accepts on the topic."""


def bootstrap_servers(broker_urls: Iterable[object]) -> list[str]:
    """Turn faust broker URLs (``kafka://host:port``) into ``host:port`` strings."""
    servers = []
    for url in broker_urls:
        host = getattr(url, "host", None) or str(url).split("://")[-1].split(":")[0]
        port = getattr(url, "port", None) or 9092
        servers.append(f"{host}:{port}")
    return servers


@asynccontextmanager
async def admin_client(servers: list[str]) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client of the cluster at ``servers``, closed when the block ends."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def ensure_topics(
    admin: AIOKafkaAdminClient,
    partitions: Mapping[str, int],
    replication_factor: int,
    configs: Mapping[str, str] | None = None,
) -> list[str]:
    """Create the topics of ``partitions`` (name to partition count) that do not exist, with the topic
    settings ``configs``; return those created."""
    existing = set(await admin.list_topics())
    missing = [
        NewTopic(name, num_partitions=count, replication_factor=replication_factor, topic_configs=dict(configs or {}))
        for name, count in sorted(partitions.items())
        if name not in existing
    ]
    if not missing:
        return []
    response = await admin.create_topics(missing)
    created = []
    for name, code, *_ in response.topic_errors:
        if code == 0:
            created.append(name)
        elif for_code(code) is not TopicAlreadyExistsError:
            raise for_code(code)(f"cannot create topic {name!r}")
    logger.info("Created topics %s", ", ".join(created))
    return created


async def message_limits(admin: AIOKafkaAdminClient, names: Iterable[str]) -> dict[str, int]:
    """The ``max.message.bytes`` of each existing topic of ``names`` (its own setting, else the broker's)."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, name, {MAX_MESSAGE_BYTES: None}) for name in names]
    limits = {}
    for response in await admin.describe_configs(resources):
        for code, _, _, name, entries, *_ in response.resources:
            values = [int(value) for setting, value, *_ in entries if setting == MAX_MESSAGE_BYTES]
            if code == 0 and values:
                limits[name] = values[0]
    return limits
