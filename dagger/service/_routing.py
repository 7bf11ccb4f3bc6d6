"""How a listener message reaches the tasks waiting for it, on any number of workers.

Three hops at most (``docs/engine.md`` draws them):

1. the worker that reads a message from a listener topic asks the listener for the message's
   correlation values and forwards the message once per value, keyed by the value, on the
   correlation topic;
2. the owner of that value's partition looks the value up in the correlation index and forwards
   the message to the partition of each waiting workflow, on the delivery topic;
3. the owner of the workflow hands the message to the task and saves the workflow.

A hop whose destination partition this worker owns happens in place, so with one worker, or when
the correlation value is the workflow's partition key, nothing is forwarded. Index updates travel
like hop 1, keyed by the correlation value, so each index key has a single writer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid1

from dagger.service._partitions import partition_for
from dagger.store._correlation_index import lookup_key
from dagger.tasks.task import CorreletableLookUpKey, KafkaListenerTask

if TYPE_CHECKING:
    from dagger.service.services import Dagger

logger = logging.getLogger("dagger.service.services")

KIND = "dagger-kind"
LISTENER_TOPIC = "dagger-topic"
WORKFLOW_ID = "dagger-workflow-id"
TASK_ID = "dagger-task-id"

EVENT = b"event"
INDEX_ADD = b"index-add"
INDEX_REMOVE = b"index-remove"
STOP = b"stop"

_UNDECODABLE = object()
"""What :meth:`EventRouter._decode` gives for a message it cannot decode."""


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

    def decode(self, app: Any, raw: bytes) -> Any:
        """Decode a message value as the application declared the topic."""
        return app.serializers.loads_value(self.topic.value_type, raw, serializer=self.topic.value_serializer)

    async def correlation_values(self, payload: Any, position: str) -> list[str]:
        """Return the distinct correlation values the listener classes find in ``payload``.

        A class that fails on the payload is logged (with the message's ``position``) and contributes nothing.
        """
        values: list[str] = []
        for prototype in self.prototypes:
            try:
                mappings = await prototype.get_correlatable_keys_from_payload(payload) or []
            except Exception:
                logger.exception("%s could not correlate the message at %s", type(prototype).__name__, position)
                continue
            for mapping in mappings:
                value = _usable_value(mapping)
                if value is None:
                    logger.warning(
                        "%s gave an unusable correlation %r for the message at %s; ignored",
                        type(prototype).__name__,
                        mapping,
                        position,
                    )
                elif value not in values:
                    values.append(value)
        return values


def _usable_value(mapping: Any) -> str | None:
    if not isinstance(mapping, tuple | list) or len(mapping) < 2 or mapping[1] is None or mapping[1] == "":
        return None
    return str(mapping[1])


def where(message: Any) -> str:
    """Name a Kafka message's position for the log: ``topic[partition]@offset``."""
    return f"{message.topic}[{message.partition}]@{message.offset}"


class EventRouter:
    """The three hops from a listener message to the waiting tasks, and the index updates."""

    def __init__(self, engine: Dagger) -> None:
        self.engine = engine
        self.listeners: dict[str, Listener] = {}

    # hop 1: a message on a listener topic
    async def on_listener_message(self, listener: Listener, message: Any) -> None:
        """Forward a listener message to the owner of each of its correlation values."""
        if message.value is None:
            logger.warning("Tombstone on %s ignored", where(message))
            return
        payload = self._decode(listener, message)
        if payload is _UNDECODABLE:
            return
        for value in await listener.correlation_values(payload, where(message)):
            if self.engine.owns(self.partition_of_value(value)):
                await self.correlate(listener, value, message, payload)
            else:
                await self.engine.correlation_topic.send(
                    key=value, value=message.value, headers={KIND: EVENT, LISTENER_TOPIC: listener.name.encode()}
                )

    # hop 2: on the owner of a correlation value
    async def on_correlation_message(self, message: Any) -> None:
        """Handle a message of the correlation topic: a forwarded event or an index update."""
        headers = headers_of(message)
        kind = headers.get(KIND)
        value = message.key.decode() if isinstance(message.key, bytes) else str(message.key)
        if kind == EVENT:
            listener = self.listeners.get(headers.get(LISTENER_TOPIC, b"").decode())
            if listener is None:
                logger.warning("Event for an unknown listener topic at %s ignored", where(message))
                return
            payload = self._decode(listener, message)
            if payload is not _UNDECODABLE:
                await self.correlate(listener, value, message, payload)
        elif kind in (INDEX_ADD, INDEX_REMOVE):
            try:
                update = json.loads(message.value)
                entry = CorreletableLookUpKey(
                    workflow_id=UUID(update["workflow_id"]),
                    task_id=UUID(update["task_id"]),
                    partition_key=update.get("partition_key"),
                )
                self._apply_index_update(kind, value, update["topic"], entry)
            except (ValueError, KeyError, TypeError) as error:
                logger.warning("Malformed index update at %s ignored: %s", where(message), error)
        else:
            logger.warning("Message of unknown kind %r at %s ignored", kind, where(message))

    def _decode(self, listener: Listener, message: Any) -> Any:
        """The message's payload as the application declared its topic; logged and ``_UNDECODABLE`` if it is not."""
        try:
            return listener.decode(self.engine.faust_app, message.value)
        except Exception as error:
            logger.warning("Undecodable message at %s ignored: %s", where(message), error)
            return _UNDECODABLE

    async def correlate(self, listener: Listener, value: str, message: Any, payload: Any) -> None:
        """Hand ``payload`` to every task waiting on ``value`` of the listener's topic."""
        partition = self.partition_of_value(value)
        key = lookup_key(value, listener.name)
        missing = []
        for entry in self.engine._store.correlations.entries(partition, key):
            outcome = await self.deliver_or_forward(listener, entry, message, payload)
            if outcome is None:
                missing.append((entry.workflow_id, entry.task_id))
            elif outcome and listener.match_only_one:
                break
        if missing:
            self.engine._store.correlations.remove(partition, key, missing)

    async def deliver_or_forward(
        self, listener: Listener, entry: CorreletableLookUpKey, message: Any, payload: Any
    ) -> bool | None:
        """Deliver to one waiting task here or on its workflow's owner; None if the workflow is gone."""
        partition_key = entry.partition_key or str(entry.workflow_id)
        partition = partition_for(partition_key, self.engine.partitions)
        if self.engine.owns(partition):
            return await self.engine._deliver(listener, partition, entry.workflow_id, entry.task_id, payload, message)
        await self.engine.delivery_topic.send(
            key=partition_key,
            value=message.value,
            headers={
                LISTENER_TOPIC: listener.name.encode(),
                WORKFLOW_ID: str(entry.workflow_id).encode(),
                TASK_ID: str(entry.task_id).encode(),
            },
        )
        return True

    # hop 3: on the owner of a workflow
    async def on_delivery_message(self, message: Any) -> None:
        """Hand a forwarded message to the task it was routed to."""
        headers = headers_of(message)
        try:
            listener = self.listeners[headers[LISTENER_TOPIC].decode()]
            workflow_id, task_id = UUID(headers[WORKFLOW_ID].decode()), UUID(headers[TASK_ID].decode())
            payload = listener.decode(self.engine.faust_app, message.value)
        except Exception as error:
            logger.warning("Malformed delivery at %s ignored: %s", where(message), error)
            return
        outcome = await self.engine._deliver(listener, message.partition, workflow_id, task_id, payload, message)
        if outcome is None:
            logger.info("Delivery at %s found no workflow %s; it is gone", where(message), workflow_id)

    # index updates
    async def update_index(self, add: bool, value: str, topic: str, entry: CorreletableLookUpKey) -> None:
        """Add or remove an index entry on the owner of ``value``."""
        kind = INDEX_ADD if add else INDEX_REMOVE
        if self.engine.owns(self.partition_of_value(value)):
            self._apply_index_update(kind, value, topic, entry)
            return
        update = {
            "topic": topic,
            "workflow_id": str(entry.workflow_id),
            "task_id": str(entry.task_id),
            "partition_key": entry.partition_key,
        }
        await self.engine.correlation_topic.send(key=value, value=json.dumps(update).encode(), headers={KIND: kind})

    def _apply_index_update(self, kind: bytes, value: str, topic: str, entry: CorreletableLookUpKey) -> None:
        index = self.engine._store.correlations
        partition, key = self.partition_of_value(value), lookup_key(value, topic)
        if kind == INDEX_ADD:
            index.add(partition, key, entry)
        else:
            index.remove(partition, key, [(entry.workflow_id, entry.task_id)])

    def partition_of_value(self, value: str) -> int:
        """The partition of the index that holds the entries of correlation ``value``."""
        return partition_for(value, self.engine.partitions)


def headers_of(message: Any) -> dict[str, bytes]:
    """A Kafka message's headers as a dict."""
    headers = message.headers or {}
    items = headers.items() if isinstance(headers, dict) else headers
    return {key: value for key, value in items}
