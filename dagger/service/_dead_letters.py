"""The dead-letter topic: where a message the engine cannot use goes, with why and where it came from.

A message that cannot be decoded, correlated, matched or handled is logged with its position and
sent, with the key and value it had, to the dead-letter topic, with headers naming the reason and the
message's source topic, partition and offset. Its offset then advances like any other's, so one bad
message never stops a worker, and nothing is dropped without a record. A message the engine forwards
between its own topics carries its source position along, so a dead letter always names the message
as the application sent it.

A dead letter always fits its topic: a value larger than the engine accepts is replaced by a JSON
marker giving its size and source position (:func:`omitted_value`).
"""

from __future__ import annotations

import json
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
NOT_FORWARDED = "not-forwarded"

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


def omitted_value(message: Any, size: int) -> bytes:
    """The marker that stands for a value of ``size`` bytes too large to keep in a dead letter."""
    source = source_headers(message)
    position = {
        field: source.get(name, b"?").decode(errors="replace")
        for field, name in (("topic", SOURCE_TOPIC), ("partition", SOURCE_PARTITION), ("offset", SOURCE_OFFSET))
    }
    return json.dumps({"dagger_omitted_value": {"size": size, **position}}).encode()


class DeadLetters:
    """Sends unusable messages to ``topic`` and logs each one; values over ``max_value_bytes`` are omitted."""

    def __init__(self, topic: Any, max_value_bytes: int) -> None:
        self.topic = topic
        self.max_value_bytes = max_value_bytes

    async def send(self, message: Any, reason: str, detail: str) -> None:
        """Log ``message`` and send it to the dead-letter topic; return once the broker has it."""
        logger.warning("Dead letter from %s (%s): %s", source_of(message), reason, detail)
        source = source_headers(message)
        headers = {**source, REASON: reason.encode(), DETAIL: detail[:DETAIL_LIMIT].encode(errors="replace")}
        value = message.value
        if value is not None and len(value) > self.max_value_bytes:
            value = omitted_value(message, len(value))
        sent = await self.topic.send(key=source.get(SOURCE_KEY), value=value, headers=headers)
        await sent
