"""Creating the topics an engine uses before anything consumes them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

logger = logging.getLogger(__name__)


def bootstrap_servers(broker_urls: Iterable[object]) -> list[str]:
    """Turn faust broker URLs (``kafka://host:port``) into ``host:port`` strings."""
    servers = []
    for url in broker_urls:
        host = getattr(url, "host", None) or str(url).split("://")[-1].split(":")[0]
        port = getattr(url, "port", None) or 9092
        servers.append(f"{host}:{port}")
    return servers


async def ensure_topics(servers: list[str], partitions: Mapping[str, int], replication_factor: int) -> list[str]:
    """Create the topics of ``partitions`` (name to partition count) that do not exist; return those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=count, replication_factor=replication_factor)
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
    finally:
        await admin.close()
