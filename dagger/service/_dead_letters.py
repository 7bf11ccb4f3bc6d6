"""The dead-letter topic: where a message the engine cannot use goes, with why and where it came from.

A message that cannot be decoded, correlated, matched or handled is logged with its position and
sent, with the key and value it had, to the dead-letter topic, with headers naming the reason and the
message's source topic, partition and offset. Its offset then advances like any other's, so one bad
message never stops a worker, and nothing is dropped without a record. A message the engine forwards
between its own topics carries its source position along, so a dead letter always names the message
as the application sent it.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("dagger.service.services")

REASON = "dagger-dead-letter-reason"
DETAIL = "dagger-dead-letter-detail"
SOURCE_TOPIC = "dagger-source-topic"
SOURCE_PARTITION = "dagger-source-partition"
SOURCE_OFFSET = "dagger-source-offset"
SOURCE_KEY = "dagger-source-key"

UNDECODABLE = "undecodable"
OVERSIZED = "oversized"
TOMBSTONE = "tombstone"
CORRELATION_FAILED = "correlation-failed"
NO_CORRELATION_VALUE = "no-correlation-value"
UNMATCHED = "unmatched"
HANDLER_FAILED = "on-message-failed"
MALFORMED = "malformed"

DETAIL_LIMIT = 1000
"""Characters of the detail kept in its header."""


def source_headers(message: Any) -> dict[str, bytes]:
    """The source position (and key, if any) of ``message``: what it carries if the engine forwarded it, else
    its own."""
    headers = headers_of(message)
    if SOURCE_TOPIC in headers:
        return {
            name: headers[name]
            for name in (SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, SOURCE_KEY)
            if name in headers
        }
    own = {
        SOURCE_TOPIC: str(message.topic).encode(),
        SOURCE_PARTITION: str(message.partition).encode(),
        SOURCE_OFFSET: str(message.offset).encode(),
    }
    return own if message.key is None else {**own, SOURCE_KEY: message.key}


def source_of(message: Any) -> str:
    """Name the source position of ``message`` for the log: ``topic[partition]@offset``."""
    headers = source_headers(message)
    return "{}[{}]@{}".format(
        *(headers.get(name, b"?").decode() for name in (SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET))
    )


def headers_of(message: Any) -> dict[str, bytes]:
    """A Kafka message's headers as a dict."""
    headers = message.headers or {}
    items = headers.items() if isinstance(headers, dict) else headers
    return {key: value for key, value in items}


class DeadLetters:
    """Sends unusable messages to ``topic`` and logs each one."""

    def __init__(self, topic: Any) -> None:
        self.topic = topic

    async def send(self, message: Any, reason: str, detail: str) -> None:
        """Log ``message`` and send it to the dead-letter topic; return once the broker has it."""
        logger.warning("Dead letter from %s (%s): %s", source_of(message), reason, detail)
        source = source_headers(message)
        headers = {**source, REASON: reason.encode(), DETAIL: detail[:DETAIL_LIMIT].encode(errors="replace")}
        sent = await self.topic.send(key=source.get(SOURCE_KEY), value=message.value, headers=headers)
        await sent
