"""The dead-letter topic: where a message the engine cannot use goes, with why and where it came from.

A message that cannot be decoded, correlated, matched or handled is logged with its position and
sent, with the key and value it had, to the dead-letter topic, with headers naming the reason and the
message's source topic, partition and offset (:func:`dagger.wire.dead_letter_headers`). Its offset
then advances like any other's, so one bad message never stops a worker, and nothing is dropped
without a record. A message the engine forwards between its own topics carries its source position
along, so a dead letter always names the message as the application sent it.

A dead letter always fits its topic: a value larger than the engine accepts is replaced by a JSON
marker giving its size and source position (:func:`dagger.wire.omitted_value`).
"""

from __future__ import annotations

import logging
from typing import Any

from dagger.wire import SOURCE_KEY, dead_letter_headers, omitted_value, position, source_headers

logger = logging.getLogger("dagger.service.services")


def source_of(message: Any) -> str:
    """Name the source position of ``message`` for the log: ``topic[partition]@offset``."""
    return "{topic}[{partition}]@{offset}".format(**position(source_headers(message)))


class DeadLetters:
    """Sends unusable messages to ``topic`` and logs each one; values over ``max_value_bytes`` are omitted."""

    def __init__(self, topic: Any, max_value_bytes: int) -> None:
        self.topic = topic
        self.max_value_bytes = max_value_bytes

    async def send(self, message: Any, reason: str, detail: str) -> None:
        """Log ``message`` and send it to the dead-letter topic; return once the broker has it."""
        logger.warning("Dead letter from %s (%s): %s", source_of(message), reason, detail)
        source = source_headers(message)
        value = message.value
        if value is not None and len(value) > self.max_value_bytes:
            value = omitted_value(source, len(value))
        sent = await self.topic.send(
            key=source.get(SOURCE_KEY), value=value, headers=dead_letter_headers(source, reason, detail)
        )
        await sent
