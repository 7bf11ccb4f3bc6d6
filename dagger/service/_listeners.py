"""A listener topic and the messages on it: how they are decoded, which correlation values they carry, and
what makes one unusable (its dead-letter reason)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import uuid1

from dagger.tasks.task import KafkaListenerTask
from dagger.wire import CORRELATION_FAILED, NO_CORRELATION_VALUE, NOT_FORWARDED, UNDECODABLE


def topic_name(topic: Any) -> str:
    """The name of a topic given as a faust topic or as its name."""
    return topic if isinstance(topic, str) else str(topic.get_topic_name())


class Unusable(Exception):
    """A message the engine cannot use; ``reason`` is its dead-letter reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class Listener:
    """A listener topic: how to decode its messages and which listener classes wait on it."""

    topic: Any
    concurrency: int = 1
    prototypes: list[KafkaListenerTask] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The topic's name."""
        return str(self.topic.get_topic_name())

    @property
    def match_only_one(self) -> bool:
        """Whether a message should complete only the first task it matches."""
        return any(getattr(prototype, "match_only_one", False) for prototype in self.prototypes)

    def add_type(self, listener_type: type[KafkaListenerTask]) -> None:
        """Let tasks of ``listener_type`` wait on this topic."""
        if all(type(prototype) is not listener_type for prototype in self.prototypes):
            self.prototypes.append(listener_type(id=uuid1(), topic=self.name))

    def decode(self, serializers: Any, raw: bytes) -> Any:
        """Decode a message value as the application declared the topic; raises :class:`Unusable`."""
        try:
            return serializers.loads_value(self.topic.value_type, raw, serializer=self.topic.value_serializer)
        except Exception as error:
            raise Unusable(UNDECODABLE, f"{type(error).__name__}: {error}") from None

    def encode(self, serializers: Any, payload: Any) -> bytes:
        """Encode a decoded message value as the application declared the topic (bytes stay as they are)."""
        if isinstance(payload, bytes):
            return payload
        return bytes(serializers.dumps_value(self.topic.value_type, payload, serializer=self.topic.value_serializer))

    async def correlation_values(self, payload: Any) -> tuple[list[str], list[Unusable]]:
        """The distinct correlation values the listener classes find in ``payload``, and what went wrong.

        A class that raises, or gives a value that cannot be a correlation value, adds a problem and no value.
        """
        values: list[str] = []
        problems: list[Unusable] = []
        for prototype in self.prototypes:
            name = type(prototype).__name__
            try:
                mappings = await prototype.get_correlatable_keys_from_payload(payload) or []
            except Exception as error:
                problems.append(Unusable(CORRELATION_FAILED, f"{name}: {type(error).__name__}: {error}"))
                continue
            for mapping in mappings:
                value = _usable_value(mapping)
                if value is None:
                    problems.append(Unusable(NO_CORRELATION_VALUE, f"{name} gave {mapping!r}"))
                elif value not in values:
                    values.append(value)
        if not values and not problems:
            problems.append(Unusable(NO_CORRELATION_VALUE, "no listener class found a correlation value"))
        return values, problems


def not_forwarded(topic: str, error: BaseException) -> Unusable:
    """The problem of a message that could not be forwarded on ``topic``."""
    return Unusable(NOT_FORWARDED, f"not forwarded on {topic}: {type(error).__name__}: {error}")


def _usable_value(mapping: Any) -> str | None:
    """The correlation value of an ``(attribute, value)`` pair, as text; None for a missing, empty or
    structured value."""
    if not isinstance(mapping, tuple | list) or len(mapping) < 2:
        return None
    value = mapping[1]
    if value is None or value == "" or isinstance(value, bool | dict | list | tuple | set | bytes):
        return None
    return str(value)


@dataclass
class HandedMessage:
    """A listener message handed to the engine in code rather than read from Kafka; it has no offset."""

    topic: str
    value: bytes
    key: bytes | None = None
    partition: int = -1
    offset: int = -1
    headers: dict[str, bytes] = field(default_factory=dict)
