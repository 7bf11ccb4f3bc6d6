"""The sharing of transactions between events, against a recording stand-in for the transactional producer.

The real producer and broker are exercised by the exactly-once integration tests and the fault suite.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.structs import TopicPartition

from dagger.service._transactions import Transactions, current_transactions, transactional_id

TOPIC = "orders"


class RecordingProducer:
    """Records what a transactional producer is asked to do, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def begin_transaction(self) -> None:
        self.calls.append(("begin",))

    async def send(self, topic: str, value: bytes | None, **kwargs: Any) -> asyncio.Future[Any]:
        self.calls.append(("send", topic, value))
        sent: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        sent.set_result(SimpleNamespace(offset=len(self.calls)))
        return sent

    async def send_offsets_to_transaction(self, offsets: dict[TopicPartition, int], group_id: str) -> None:
        self.calls.append(("offsets", dict(offsets), group_id))

    async def commit_transaction(self) -> None:
        self.calls.append(("commit",))

    async def abort_transaction(self) -> None:
        self.calls.append(("abort",))

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def kinds(self) -> list[str]:
        return [call[0] for call in self.calls]


@pytest.fixture
async def transactions() -> Any:
    failures: list[BaseException] = []

    async def on_failure(error: BaseException) -> None:
        failures.append(error)

    made = Transactions(RecordingProducer(), "group", on_failure)  # type: ignore[arg-type]
    made.failures = failures  # type: ignore[attr-defined]
    await made.start()
    yield made
    await made.stop()


async def handle(transactions: Transactions, offset: int, started: asyncio.Event, release: asyncio.Event) -> None:
    async with transactions.handling(TOPIC, 0, offset):
        assert current_transactions() is transactions
        await transactions.send(TOPIC, None, f"command {offset}".encode())
        started.set()
        await release.wait()


async def test_events_handled_together_share_one_transaction(transactions: Transactions) -> None:
    release = asyncio.Event()
    started = [asyncio.Event(), asyncio.Event()]
    events = [asyncio.create_task(handle(transactions, 10 + i, started[i], release)) for i in range(2)]
    await asyncio.gather(*(event.wait() for event in started))
    release.set()
    await asyncio.gather(*events)
    producer = transactions.producer
    assert producer.kinds() == ["begin", "send", "send", "offsets", "commit"]  # type: ignore[attr-defined]
    assert producer.calls[3] == ("offsets", {TopicPartition(TOPIC, 0): 12}, "group")  # type: ignore[attr-defined]
    assert current_transactions() is None


async def test_an_event_arriving_after_the_transaction_closed_waits_for_the_next(transactions: Transactions) -> None:
    first_started, first_release = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(handle(transactions, 1, first_started, first_release))
    await first_started.wait()
    second_started, second_release = asyncio.Event(), asyncio.Event()
    first_release.set()
    second_release.set()
    second = asyncio.create_task(handle(transactions, 2, second_started, second_release))
    await asyncio.gather(first, second)
    producer = transactions.producer
    assert producer.kinds() == ["begin", "send", "offsets", "commit"] * 2  # type: ignore[attr-defined]
    committed = [call[1] for call in producer.calls if call[0] == "offsets"]  # type: ignore[attr-defined]
    assert committed == [{TopicPartition(TOPIC, 0): 2}, {TopicPartition(TOPIC, 0): 3}]


async def test_the_committed_offset_stays_behind_an_earlier_event_still_waiting(transactions: Transactions) -> None:
    later_started, later_release = asyncio.Event(), asyncio.Event()
    later = asyncio.create_task(handle(transactions, 8, later_started, later_release))
    await later_started.wait()
    waiting = transactions._handling.setdefault(TopicPartition(TOPIC, 0), set())
    waiting.add(7)
    later_release.set()
    await later
    producer = transactions.producer
    assert producer.calls[2] == ("offsets", {TopicPartition(TOPIC, 0): 7}, "group")  # type: ignore[attr-defined]


async def test_actions_wait_for_the_commit(transactions: Transactions) -> None:
    seen: list[list[str]] = []
    producer = transactions.producer
    async with transactions.handling():
        transactions.on_commit(lambda: seen.append(producer.kinds()))  # type: ignore[attr-defined]
        await transactions.send(TOPIC, None, b"timer command")
        assert seen == []
    assert seen == [["begin", "send", "commit"]]
    with pytest.raises(RuntimeError):
        transactions.on_commit(lambda: None)


async def test_an_event_cancelled_half_way_aborts_its_transaction(transactions: Transactions) -> None:
    release = asyncio.Event()
    started = [asyncio.Event(), asyncio.Event()]
    done = asyncio.create_task(handle(transactions, 1, started[0], release))
    cut = asyncio.create_task(handle(transactions, 2, started[1], asyncio.Event()))
    await asyncio.gather(*(event.wait() for event in started))
    release.set()
    await asyncio.sleep(0)
    cut.cancel()
    with pytest.raises(asyncio.CancelledError):
        await done
    producer = transactions.producer
    assert producer.kinds() == ["begin", "send", "send", "abort"]  # type: ignore[attr-defined]
    assert transactions.failures == []  # type: ignore[attr-defined]
    assert transactions._handling[TopicPartition(TOPIC, 0)] == set()


async def test_a_failed_commit_stops_the_worker(transactions: Transactions) -> None:
    async def refuse() -> None:
        raise RuntimeError("fenced")

    transactions.producer.commit_transaction = refuse  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="fenced"):
        async with transactions.handling(TOPIC, 0, 5):
            pass
    assert [str(error) for error in transactions.failures] == ["fenced"]  # type: ignore[attr-defined]


def test_the_transactional_id_stays_with_the_data_directory(tmp_path: Any) -> None:
    made = transactional_id(tmp_path / "worker", "app")
    assert made.startswith("app-")
    assert transactional_id(tmp_path / "worker", "app") == made
    assert transactional_id(tmp_path / "other", "app") != made
