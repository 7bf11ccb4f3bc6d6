"""Messages sent while the engine handles an event: keyed for deduplication, acknowledged before the save.

Every topic of the engine's faust app is a :class:`DaggerTopic`. A message sent from an executor's
``execute`` (a command) carries the executor's task id in the ``dagger-idempotency-key`` header, so
that its receiver can recognise the same command sent again after a crash. A message sent while an
event is handled is acknowledged by the broker before the event's changes are saved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

import faust
from faust.types import CodecArg, HeadersArg, K, RecordMetadata, SchemaT, V
from faust.types.tuples import MessageSentCallback

from dagger.service._unit_of_work import record_send
from dagger.tasks._executor import running_task_id

IDEMPOTENCY_KEY = "dagger-idempotency-key"


class DaggerTopic(faust.Topic):
    """A faust topic whose sends made while an event is handled are part of that event's unit of work."""

    async def send(
        self,
        *,
        key: K | None = None,
        value: V | None = None,
        partition: int | None = None,
        timestamp: float | None = None,
        headers: HeadersArg | None = None,
        schema: SchemaT | None = None,
        key_serializer: CodecArg | None = None,
        value_serializer: CodecArg | None = None,
        callback: MessageSentCallback | None = None,
        force: bool = False,
    ) -> Awaitable[RecordMetadata]:
        """Send the message; inside an executor, with its task id as idempotency key."""
        task_id = running_task_id()
        acknowledgement = await super().send(
            key=key,
            value=value,
            partition=partition,
            timestamp=timestamp,
            headers=headers if task_id is None else with_idempotency_key(headers, str(task_id).encode()),
            schema=schema,
            key_serializer=key_serializer,
            value_serializer=value_serializer,
            callback=callback,
            force=force,
        )
        record_send(acknowledgement)
        return acknowledgement


def with_idempotency_key(headers: HeadersArg | None, key: bytes) -> HeadersArg:
    """``headers`` with the idempotency key added, unless the sender set one."""
    if headers is None:
        return {IDEMPOTENCY_KEY: key}
    if isinstance(headers, Mapping):
        return headers if IDEMPOTENCY_KEY in headers else {**headers, IDEMPOTENCY_KEY: key}
    items: list[Any] = list(headers)
    if any(name == IDEMPOTENCY_KEY for name, _ in items):
        return items
    return [*items, (IDEMPOTENCY_KEY, key)]
