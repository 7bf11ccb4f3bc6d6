"""The engine's faust streams: under exactly-once, each event is handled inside a transaction.

Every stream of the engine's faust app, the engine's own agents and the application's alike, is a
:class:`DaggerStream`. When the engine runs exactly-once (:mod:`dagger.service._transactions`), the
code that handles an event read from a topic runs inside a transaction, from the moment the stream
hands the event over until the handler asks for the next one; only once that transaction has
committed does faust acknowledge the event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import faust

from dagger.service._transactions import Transactions


class DaggerStream(faust.Stream):
    """A faust stream whose events are each handled in a transaction when the engine runs exactly-once."""

    def __aiter__(self) -> AsyncIterator[Any]:
        """Iterate the stream; under exactly-once, each value's handling is part of a transaction."""
        values = super().__aiter__()
        transactions = Transactions.of_app(self.app)
        return values if transactions is None else self._in_transactions(values, transactions)

    async def _in_transactions(self, values: AsyncIterator[Any], transactions: Transactions) -> AsyncIterator[Any]:
        async for value in values:
            event = self.current_event
            if event is None:
                yield value
                continue
            message = event.message
            async with transactions.handling(message.tp.topic, message.tp.partition, message.offset):
                yield value
