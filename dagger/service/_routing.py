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
like hop 1, keyed by the correlation value, so each index key has a single writer. An in-place
lookup at hop 1 that finds nothing is not the last word: an index update from another worker may
still wait on the correlation topic, ahead of where this message would be; so the message is
forwarded there, and looked up again after every update sent before it.

A message that cannot be used goes to the dead-letter topic (:mod:`dagger.service._dead_letters`). The
headers and bodies of the messages forwarded are :mod:`dagger.wire`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid1

from dagger.service._partitions import partition_for
from dagger.store._correlation_index import lookup_key
from dagger.tasks.task import CorreletableLookUpKey, KafkaListenerTask
from dagger.wire import (
    CORRELATION_FAILED,
    CORRELATION_VALUE,
    EVENT,
    HANDLER_FAILED,
    INDEX_ADD,
    INDEX_REMOVE,
    KIND,
    MALFORMED,
    NO_CORRELATION_VALUE,
    NOT_FORWARDED,
    OVERSIZED,
    TOMBSTONE,
    UNDECODABLE,
    UNMATCHED,
    IndexUpdate,
    delivery_headers,
    delivery_target,
    event_headers,
    headers_of,
    listener_topic_of,
    source_headers,
)

if TYPE_CHECKING:
    from dagger.service.services import Dagger

logger = logging.getLogger("dagger.service.services")


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

    def decode(self, app: Any, raw: bytes) -> Any:
        """Decode a message value as the application declared the topic; raises :class:`Unusable`."""
        try:
            return app.serializers.loads_value(self.topic.value_type, raw, serializer=self.topic.value_serializer)
        except Exception as error:
            raise Unusable(UNDECODABLE, f"{type(error).__name__}: {error}") from None

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


def where(message: Any) -> str:
    """Name a Kafka message's position for the log: ``topic[partition]@offset``."""
    return f"{message.topic}[{message.partition}]@{message.offset}"


class EventRouter:
    """The three hops from a listener message to the waiting tasks, and the index updates."""

    def __init__(self, engine: Dagger) -> None:
        self.engine = engine
        self.listeners: dict[str, Listener] = {}

    async def dead_letter(self, message: Any, problem: Unusable) -> None:
        """Send ``message`` to the dead-letter topic for ``problem``."""
        await self.engine.dead_letters.send(message, problem.reason, str(problem))

    # hop 1: a message on a listener topic
    async def on_listener_message(self, listener: Listener, message: Any) -> None:
        """Forward a listener message to the owner of each of its correlation values; dead-letter what is unusable."""
        try:
            payload = self._payload(listener, message)
        except Unusable as problem:
            await self.dead_letter(message, problem)
            return
        values, problems = await listener.correlation_values(payload)
        for unusable in problems:
            await self.dead_letter(message, unusable)
        for value in values:
            if not (
                self.engine.owns(self.partition_of_value(value))
                and await self.correlate(listener, value, message, payload)
            ):
                headers = event_headers(listener.name, source_headers(message))
                await self.forward(self.engine.correlation_topic, value, message, headers)

    def _payload(self, listener: Listener, message: Any) -> Any:
        if message.value is None:
            raise Unusable(TOMBSTONE, "a message without a value")
        limit = self.engine.max_listener_message_bytes
        if len(message.value) > limit:
            raise Unusable(OVERSIZED, f"{len(message.value)} bytes, more than the {limit} allowed")
        return listener.decode(self.engine.faust_app, message.value)

    # hop 2: on the owner of a correlation value
    async def on_correlation_message(self, message: Any) -> None:
        """Handle a message of the correlation topic: a forwarded event or an index update."""
        try:
            await self._on_correlation_message(message)
        except Unusable as problem:
            await self.dead_letter(message, problem)

    async def _on_correlation_message(self, message: Any) -> None:
        headers = headers_of(message)
        kind = headers.get(KIND)
        value = message.key.decode() if isinstance(message.key, bytes) else str(message.key)
        if kind == EVENT:
            listener = self._listener(headers)
            if not await self.correlate(
                listener, value, message, listener.decode(self.engine.faust_app, message.value)
            ):
                raise Unusable(UNMATCHED, f"no task waits for {value!r} on {listener.name}")
        elif kind in (INDEX_ADD, INDEX_REMOVE):
            try:
                update = IndexUpdate.decode(message.value)
            except ValueError as error:
                raise Unusable(MALFORMED, f"index update: {error}") from None
            entry = CorreletableLookUpKey(
                workflow_id=update.workflow_id, task_id=update.task_id, partition_key=update.partition_key
            )
            key = lookup_key(value, update.topic)
            self.engine._store.correlations.update(self.partition_of_value(value), key, kind == INDEX_ADD, entry)
        else:
            raise Unusable(MALFORMED, f"unknown kind {kind!r}")

    def _listener(self, headers: dict[str, bytes]) -> Listener:
        name = listener_topic_of(headers)
        listener = self.listeners.get(name)
        if listener is None:
            raise Unusable(MALFORMED, f"no listener on topic {name!r}")
        return listener

    async def correlate(self, listener: Listener, value: str, message: Any, payload: Any) -> bool:
        """Hand ``payload`` to every task waiting on ``value`` of the listener's topic; False if none waits."""
        partition = self.partition_of_value(value)
        key = lookup_key(value, listener.name)
        matched = False
        missing = []
        for entry in self.engine._store.correlations.entries(partition, key):
            outcome = await self.deliver_or_forward(listener, value, entry, message, payload)
            if outcome is None:
                missing.append((entry.workflow_id, entry.task_id))
                continue
            matched = True
            if outcome and listener.match_only_one:
                break
        if missing:
            self.engine._store.correlations.remove(partition, key, missing)
        return matched

    async def deliver_or_forward(
        self, listener: Listener, value: str, entry: CorreletableLookUpKey, message: Any, payload: Any
    ) -> bool | None:
        """Deliver to one waiting task here or on its workflow's owner; None if the workflow is gone."""
        partition_key = entry.partition_key or str(entry.workflow_id)
        partition = partition_for(partition_key, self.engine.partitions)
        if self.engine.owns(partition):
            return await self.deliver(listener, partition, entry.workflow_id, entry.task_id, message, payload)
        headers = delivery_headers(listener.name, entry.workflow_id, entry.task_id, value, source_headers(message))
        await self.forward(self.engine.delivery_topic, partition_key, message, headers)
        return True

    async def forward(self, topic: Any, key: str, message: Any, headers: dict[str, bytes]) -> None:
        """Send the value of ``message`` on one of the engine's topics; dead-letter it if it cannot be sent,
        at once or when the broker refuses it."""
        name = topic.get_topic_name()
        try:
            sent = await topic.send(key=key, value=message.value, headers=headers)
        except Exception as error:
            await self.dead_letter(message, not_forwarded(name, error))
            return

        def dead_letter_if_refused(acknowledgement: Any) -> None:
            error = None if acknowledgement.cancelled() else acknowledgement.exception()
            if error is not None:
                self.engine.add_future(self.dead_letter(message, not_forwarded(name, error)))

        sent.add_done_callback(dead_letter_if_refused)

    # hop 3: on the owner of a workflow
    async def on_delivery_message(self, message: Any) -> None:
        """Hand a forwarded message to the task it was routed to."""
        headers = headers_of(message)
        try:
            listener = self._listener(headers)
            try:
                workflow_id, task_id = delivery_target(headers)
            except ValueError as error:
                raise Unusable(MALFORMED, str(error)) from None
            payload = listener.decode(self.engine.faust_app, message.value)
        except Unusable as problem:
            await self.dead_letter(message, problem)
            return
        outcome = await self.deliver(listener, message.partition, workflow_id, task_id, message, payload)
        if outcome is None:
            await self.dead_letter(
                message, Unusable(UNMATCHED, f"workflow {workflow_id} or its task {task_id} is gone")
            )
            if CORRELATION_VALUE in headers:
                stale = CorreletableLookUpKey(workflow_id=workflow_id, task_id=task_id)
                await self.update_index(False, headers[CORRELATION_VALUE].decode(), listener.name, stale)

    async def deliver(
        self, listener: Listener, partition: int, workflow_id: UUID, task_id: UUID, message: Any, payload: Any
    ) -> bool | None:
        """Hand ``payload`` to a waiting task on this worker; None if it is gone; a task that raises dead-letters
        the message and leaves its workflow unchanged."""
        try:
            return await self.engine._deliver(listener.name, partition, workflow_id, task_id, payload)
        except Exception as error:
            logger.exception("Task %s of workflow %s failed on the message at %s", task_id, workflow_id, where(message))
            detail = f"task {task_id} of workflow {workflow_id}: {type(error).__name__}: {error}"
            await self.dead_letter(message, Unusable(HANDLER_FAILED, detail))
            return False

    # index updates
    async def update_index(self, add: bool, value: str, topic: str, entry: CorreletableLookUpKey) -> None:
        """Add or remove an index entry on the owner of ``value``."""
        kind = INDEX_ADD if add else INDEX_REMOVE
        partition = self.partition_of_value(value)
        if self.engine.owns(partition):
            self.engine._store.correlations.update(partition, lookup_key(value, topic), add, entry)
            return
        update = IndexUpdate(topic, entry.workflow_id, entry.task_id, entry.partition_key)
        await self.engine.correlation_topic.send(key=value, value=update.encode(), headers={KIND: kind})

    def partition_of_value(self, value: str) -> int:
        """The partition of the index that holds the entries of correlation ``value``."""
        return partition_for(value, self.engine.partitions)
