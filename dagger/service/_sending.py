"""Messages sent while the engine handles an event: keyed for deduplication, acknowledged before the save.

Every topic of the engine's faust app is a :class:`DaggerTopic`. A message sent from an executor's
``execute`` (a command) carries the executor's task id in the ``dagger-idempotency-key`` header, so
that its receiver can recognise the same command sent again after a crash. A message sent while an
event is handled is acknowledged by the broker before the event's changes are saved.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import faust
from faust.types import CodecArg, HeadersArg, K, RecordMetadata, SchemaT, V
from faust.types.tuples import MessageSentCallback

from dagger.service._transactions import Transactions, current_transactions
from dagger.service._unit_of_work import record_send
from dagger.tasks._executor import running_task_id
from dagger.wire import with_idempotency_key


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

    async def _get_producer(self) -> Any:
        """The worker's transactional producer while an event is handled exactly-once; faust's otherwise."""
        transactions = current_transactions()
        if transactions is None:
            return await super()._get_producer()
        return _InTransaction(transactions)


class _InTransaction:
    """The part of faust's producer that publishing a message uses, sending in the current transaction."""

    def __init__(self, transactions: Transactions) -> None:
        self.transactions = transactions

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: HeadersArg | None,
        **_: Any,
    ) -> Awaitable[RecordMetadata]:
        """Queue the message in the transaction; return its acknowledgement."""
        timestamp_ms = None if timestamp is None else int(timestamp * 1000)
        return self.transactions.send(topic, key, value, partition, headers, timestamp_ms)

    async def send_and_wait(self, *args: Any, **kwargs: Any) -> RecordMetadata:
        """Send the message in the transaction and wait until the broker has it."""
        return await (await self.send(*args, **kwargs))
