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
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from dagger.service._dead_letters import DeadLetters
from dagger.service._listeners import HandedMessage, Listener, Unusable, not_forwarded
from dagger.store._correlation_index import CorrelationIndex, lookup_key
from dagger.tasks._sensor import deliver_message
from dagger.tasks.task import CorreletableLookUpKey, ITemplateDAGInstance, KafkaListenerTask
from dagger.types import Placement
from dagger.wire import (
    CORRELATION_VALUE,
    EVENT,
    HANDLER_FAILED,
    INDEX_ADD,
    INDEX_REMOVE,
    KIND,
    MALFORMED,
    OVERSIZED,
    TOMBSTONE,
    UNMATCHED,
    IndexUpdate,
    delivery_headers,
    delivery_target,
    event_headers,
    headers_of,
    listener_topic_of,
    source_headers,
)

logger = logging.getLogger("dagger.service.services")


class Workflows(Protocol):
    """What the router needs to hand a message to a task: a workflow's lock, its stored state, a unit of work."""

    def lock(self, workflow_id: UUID) -> AbstractAsyncContextManager[Any]:
        """The lock of workflow ``workflow_id``."""

    def load(self, partition: int, workflow_id: UUID) -> ITemplateDAGInstance | None:
        """The stored workflow ``workflow_id`` of ``partition``, or None."""

    def unit(self) -> AbstractAsyncContextManager[Any]:
        """A unit of work whose changes are saved once, at its end."""


@dataclass
class RouterTopics:
    """The engine's topics a router forwards on."""

    correlation: Any
    delivery: Any


def where(message: Any) -> str:
    """Name a Kafka message's position for the log: ``topic[partition]@offset``."""
    return f"{message.topic}[{message.partition}]@{message.offset}"


@dataclass
class EventRouter:
    """The three hops from a listener message to the waiting tasks, and the index updates.

    ``background`` runs a coroutine without waiting for it (dead-lettering a forward the broker refused).
    """

    placement: Placement
    index: CorrelationIndex
    workflows: Workflows
    topics: RouterTopics
    dead_letters: DeadLetters
    serializers: Any
    max_listener_message_bytes: int
    background: Callable[[Awaitable[Any]], Any]
    listeners: dict[str, Listener] = field(default_factory=dict)

    def declare(self, topic: Any, listener_type: type[KafkaListenerTask], concurrency: int = 1) -> Listener | None:
        """Let tasks of ``listener_type`` wait on ``topic``; return the topic's listener if it is new, else None."""
        name = topic.get_topic_name()
        listener = self.listeners.get(name)
        new = listener is None
        if listener is None:
            listener = self.listeners[name] = Listener(topic=topic, concurrency=concurrency)
        listener.add_type(listener_type)
        return listener if new else None

    async def on_payload(self, topic: str, payload: Any) -> None:
        """Route a decoded message of listener topic ``topic`` as if it had been read from that topic."""
        listener = self.listeners.get(topic)
        if listener is None:
            raise ValueError(f"no listener waits on topic {topic!r}")
        await self.on_listener_message(listener, HandedMessage(topic, listener.encode(self.serializers, payload)))

    async def dead_letter(self, message: Any, problem: Unusable) -> None:
        """Send ``message`` to the dead-letter topic for ``problem``."""
        await self.dead_letters.send(message, problem.reason, str(problem))

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
                self.placement.owns(self.partition_of_value(value))
                and await self.correlate(listener, value, message, payload)
            ):
                headers = event_headers(listener.name, source_headers(message))
                await self.forward(self.topics.correlation, value, message, headers)

    def _payload(self, listener: Listener, message: Any) -> Any:
        if message.value is None:
            raise Unusable(TOMBSTONE, "a message without a value")
        limit = self.max_listener_message_bytes
        if len(message.value) > limit:
            raise Unusable(OVERSIZED, f"{len(message.value)} bytes, more than the {limit} allowed")
        return listener.decode(self.serializers, message.value)

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
            if not await self.correlate(listener, value, message, listener.decode(self.serializers, message.value)):
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
            self.index.update(self.partition_of_value(value), key, kind == INDEX_ADD, entry)
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
        for entry in self.index.entries(partition, key):
            outcome = await self.deliver_or_forward(listener, value, entry, message, payload)
            if outcome is None:
                missing.append((entry.workflow_id, entry.task_id))
                continue
            matched = True
            if outcome and listener.match_only_one:
                break
        if missing:
            self.index.remove(partition, key, missing)
        return matched

    async def deliver_or_forward(
        self, listener: Listener, value: str, entry: CorreletableLookUpKey, message: Any, payload: Any
    ) -> bool | None:
        """Deliver to one waiting task here or on its workflow's owner; None if the workflow is gone."""
        partition_key = entry.partition_key or str(entry.workflow_id)
        partition = self.placement.partition_of_key(partition_key)
        if self.placement.owns(partition):
            return await self.deliver(listener, partition, entry.workflow_id, entry.task_id, message, payload)
        headers = delivery_headers(listener.name, entry.workflow_id, entry.task_id, value, source_headers(message))
        await self.forward(self.topics.delivery, partition_key, message, headers)
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
                self.background(self.dead_letter(message, not_forwarded(name, error)))

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
            payload = listener.decode(self.serializers, message.value)
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
            async with self.workflows.lock(workflow_id):
                workflow = self.workflows.load(partition, workflow_id)
                task = None if workflow is None else workflow.get_task(task_id)
                if workflow is None or task is None:
                    return None
                async with self.workflows.unit():
                    return await deliver_message(listener.name, workflow, task, payload)
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
        if self.placement.owns(partition):
            self.index.update(partition, lookup_key(value, topic), add, entry)
            return
        update = IndexUpdate(topic, entry.workflow_id, entry.task_id, entry.partition_key)
        await self.topics.correlation.send(key=value, value=update.encode(), headers={KIND: kind})

    def partition_of_value(self, value: str) -> int:
        """The partition of the index that holds the entries of correlation ``value``."""
        return self.placement.partition_of_key(value)
