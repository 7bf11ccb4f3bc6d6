"""Exactly-once: the events a worker handles are handled inside Kafka transactions.

With ``processing_guarantee="exactly_once"`` every event the engine handles (a message read from one
of its topics or a listener topic, or a due timer) runs inside a transaction of the worker's
transactional producer. What the event sends (commands, forwards), what it writes to the tables'
changelogs and the consumed offset of the event are committed together, or not at all: a worker
killed half way leaves an open transaction, which the broker aborts, and whoever handles the event
again starts from where the last commit left everything. Every consumer of the engine reads
committed messages only.

One producer has one open transaction at a time, so events share them: an event joins the open
transaction, and once one of its events is done the transaction takes no more, waits until the
others are done too and commits. Each event waits for that commit before it is acknowledged. Events
that arrive meanwhile join the next transaction.

The producer's transactional id belongs to the worker's data directory, so a worker that restarts
with its directory fences its previous incarnation and aborts the transaction that one left open at
once; a transaction left open by a worker that never comes back is aborted by the broker after
``TRANSACTION_TIMEOUT_MS``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import TopicPartition

from dagger.service._topics import bootstrap_servers

logger = logging.getLogger(__name__)

TRANSACTION_TIMEOUT_MS = 60_000
"""How long the broker keeps a transaction open before aborting it (a worker died while it was open)."""

TRANSACTIONAL_ID_FILE = "dagger-transactional-id"
"""The file in a worker's data directory that keeps the worker's transactional id across restarts."""


@dataclass(eq=False)
class _Transaction:
    """One Kafka transaction and the events handled in it."""

    owner: Transactions
    active: int = 0
    closed: bool = False
    cut_short: bool = False
    consumed: dict[TopicPartition, list[int]] = field(default_factory=dict)
    on_commit: list[Callable[[], None]] = field(default_factory=list)
    committed: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


_current: ContextVar[_Transaction | None] = ContextVar("dagger_transaction", default=None)
_of_app: WeakKeyDictionary[Any, Transactions] = WeakKeyDictionary()


def current_transactions() -> Transactions | None:
    """The transactions of the worker whose event is being handled in this context, if it runs exactly-once."""
    transaction = _current.get()
    return None if transaction is None else transaction.owner


def transactional_id(datadir: Path, application_name: str) -> str:
    """The transactional id of the worker whose data directory is ``datadir``: made once, then kept there."""
    path = datadir / TRANSACTIONAL_ID_FILE
    if path.is_file():
        return path.read_text().strip()
    made = f"{application_name}-{uuid.uuid4()}"
    datadir.mkdir(parents=True, exist_ok=True)
    path.write_text(made)
    return made


class Transactions:
    """The worker's transactional producer and the transactions its events are handled in."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        group_id: str,
        on_failure: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self.producer = producer
        self.group_id = group_id
        self._on_failure = on_failure
        self._open: _Transaction | None = None
        self._joining = asyncio.Lock()
        self._committing: set[asyncio.Task[None]] = set()
        self._handling: dict[TopicPartition, set[int]] = {}
        self._sends: asyncio.Queue[tuple[tuple[Any, ...], asyncio.Future[Any]]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    @classmethod
    def of_worker(cls, app: Any, on_failure: Callable[[BaseException], Awaitable[None]]) -> Transactions:
        """The transactions of the worker running faust ``app``, whose consumer from now on reads committed
        messages only; ``on_failure`` is called when a transaction cannot commit."""
        _read_committed(app)
        _leave_offsets_to_transactions(app)
        conf = app.conf
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(conf.broker),
            client_id=f"{conf.id}-transactions",
            transactional_id=transactional_id(Path(conf.appdir), conf.id),
            transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
            enable_idempotence=True,
            acks="all",
            max_request_size=conf.producer_max_request_size,
            max_batch_size=conf.producer_max_batch_size,
            partitioner=conf.producer_partitioner or DefaultPartitioner(),
        )
        transactions = cls(producer, conf.id, on_failure)
        _of_app[app] = transactions
        return transactions

    @staticmethod
    def of_app(app: Any) -> Transactions | None:
        """The transactions of faust ``app``'s worker if it runs exactly-once, else None."""
        return _of_app.get(app)

    async def start(self) -> None:
        """Start the producer, which fences a previous incarnation of this worker and aborts its transaction."""
        await self.producer.start()
        self._sender = asyncio.create_task(self._send_in_order())

    async def stop(self) -> None:
        """Stop sending and stop the producer; a transaction still open is aborted by the broker."""
        if self._sender is not None:
            self._sender.cancel()
        await self.producer.stop()

    @asynccontextmanager
    async def handling(self, topic: str | None = None, partition: int = 0, offset: int = 0) -> AsyncIterator[None]:
        """Handle an event inside a transaction; once the block is done, wait until the transaction commits.

        The event read from ``topic`` at ``partition`` and ``offset`` is marked consumed in the same
        transaction, unless the block fails; without ``topic`` (a due timer) nothing is. A block
        cancelled half way (the worker stops) aborts the transaction: nothing of it is committed.
        Inside a transaction already, the block joins it.
        """
        if _current.get() is not None:
            yield
            return
        source = None if topic is None else TopicPartition(topic, partition)
        handling = set() if source is None else self._handling.setdefault(source, set())
        handling.add(offset)
        try:
            transaction = await self._join()
        except BaseException:
            handling.discard(offset)
            raise
        token = _current.set(transaction)
        done = False
        try:
            yield
            done = True
        except Exception:
            raise
        except BaseException:
            transaction.cut_short = True
            raise
        finally:
            _current.reset(token)
            if done and source is not None:
                transaction.consumed.setdefault(source, []).append(offset)
            else:
                handling.discard(offset)
            self._leave(transaction)
        await asyncio.shield(transaction.committed)

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: Any = None,
        timestamp_ms: int | None = None,
    ) -> asyncio.Future[Any]:
        """Send a message in the current transaction, after every message sent before it; return its
        acknowledgement (``headers`` a mapping or pairs)."""
        if isinstance(headers, Mapping):
            headers = list(headers.items())
        acknowledged: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._sends.put_nowait(((topic, value, key, partition, headers, timestamp_ms), acknowledged))
        return acknowledged

    @staticmethod
    def on_commit(action: Callable[[], None]) -> None:
        """Run ``action`` once the current transaction has committed."""
        transaction = _current.get()
        if transaction is None:
            raise RuntimeError("no transaction is open")
        transaction.on_commit.append(action)

    async def _join(self) -> _Transaction:
        async with self._joining:
            while self._open is not None and self._open.closed:
                await asyncio.shield(self._open.committed)
            if self._open is None:
                await self.producer.begin_transaction()
                self._open = _Transaction(owner=self)
            self._open.active += 1
            return self._open

    def _leave(self, transaction: _Transaction) -> None:
        transaction.active -= 1
        transaction.closed = True
        if transaction.active == 0:
            commit = asyncio.ensure_future(self._commit(transaction))
            self._committing.add(commit)
            commit.add_done_callback(self._committing.discard)

    async def _commit(self, transaction: _Transaction) -> None:
        if transaction.cut_short:
            await self._abort(transaction)
            return
        try:
            await self._sends.join()
            offsets = self._offsets(transaction)
            if offsets:
                await self.producer.send_offsets_to_transaction(offsets, self.group_id)
            await self.producer.commit_transaction()
        except Exception as error:
            logger.critical("A transaction failed to commit (%r); the worker stops", error)
            transaction.committed.set_exception(error)
            await self._on_failure(error)
            return
        finally:
            self._open = None
        self._forget_consumed(transaction)
        for action in transaction.on_commit:
            action()
        transaction.committed.set_result(None)

    async def _abort(self, transaction: _Transaction) -> None:
        """Abort a transaction an event was cut short in; its events are handled again after a restart."""
        logger.info("A transaction is aborted: an event in it was cancelled half way")
        try:
            await self._sends.join()
            await self.producer.abort_transaction()
        except Exception as error:
            logger.warning("Aborting a transaction failed (%r); the broker aborts it when it times out", error)
        finally:
            self._open = None
        self._forget_consumed(transaction)
        transaction.committed.cancel()

    def _forget_consumed(self, transaction: _Transaction) -> None:
        for source, handled in transaction.consumed.items():
            self._handling[source].difference_update(handled)

    def _offsets(self, transaction: _Transaction) -> dict[TopicPartition, int]:
        """The offset to commit for each partition read in ``transaction``: past its events, but never past
        an earlier event still being handled outside it."""
        offsets = {}
        for source, handled in transaction.consumed.items():
            others = self._handling[source].difference(handled)
            offsets[source] = min([max(handled) + 1, *others])
        return offsets

    async def _send_in_order(self) -> None:
        while True:
            (topic, value, key, partition, headers, timestamp_ms), acknowledged = await self._sends.get()
            try:
                sent = await self.producer.send(
                    topic, value, key=key, partition=partition, headers=headers, timestamp_ms=timestamp_ms
                )
            except Exception as error:
                acknowledged.set_exception(error)
            else:
                _chain(sent, acknowledged)
            finally:
                self._sends.task_done()


def _read_committed(app: Any) -> None:
    """Make the consumer faust ``app`` is about to create read committed messages only.

    Faust does so only when it runs its own transactions; the Kafka client takes the isolation level
    when it is created and applies it when it starts, so it is set in between.
    """
    thread = app.consumer._thread
    create = thread._create_consumer

    def create_reading_committed(loop: asyncio.AbstractEventLoop) -> Any:
        consumer = create(loop)
        consumer._isolation_level = "read_committed"
        return consumer

    thread._create_consumer = create_reading_committed


def _leave_offsets_to_transactions(app: Any) -> None:
    """Keep faust ``app``'s consumer from committing offsets to the group itself.

    Each transaction commits the offsets of its events. Faust would commit the same offsets again once
    it sees the events acknowledged, and such a plain commit landing after a newer transactional one
    moves the group back: after a crash, events would be handled twice. Faust keeps its own account of
    what it considers committed.
    """

    async def committed_by_transactions(offsets: Mapping[Any, int]) -> bool:
        return True

    app.consumer._commit = committed_by_transactions


def _chain(source: asyncio.Future[Any], target: asyncio.Future[Any]) -> None:
    """Settle ``target`` as ``source`` settles."""

    def settle(done: asyncio.Future[Any]) -> None:
        if target.done():
            return
        if done.cancelled():
            target.cancel()
        elif done.exception() is not None:
            target.set_exception(done.exception())  # type: ignore[arg-type]
        else:
            target.set_result(done.result())

    source.add_done_callback(settle)
