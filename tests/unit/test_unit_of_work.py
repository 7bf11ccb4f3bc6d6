"""One save per handled event: the unit of work collects changes and commits them once."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from aiokafka.partitioner import DefaultPartitioner

from dagger.service._partitions import partition_for, workflow_key
from dagger.service._unit_of_work import (
    Changes,
    WorkflowLocks,
    after_commit,
    record_change,
    record_deletion,
    record_send,
    unit_of_work,
)


def workflow(number: int) -> SimpleNamespace:
    return SimpleNamespace(id=UUID(int=number))


async def test_changes_are_committed_once_at_the_end() -> None:
    commits: list[Changes] = []

    async def commit(changes: Changes) -> None:
        commits.append(changes)

    first, second = workflow(1), workflow(2)
    async with unit_of_work(commit):
        for _ in range(3):
            assert record_change(first)
        async with unit_of_work(commit):
            record_change(second)
        assert commits == [], "a nested unit joins the outer one"
    assert len(commits) == 1
    assert list(commits[0].changed) == [first.id, second.id]


async def test_outside_a_unit_nothing_is_recorded() -> None:
    assert record_change(workflow(1)) is False
    assert record_deletion(workflow(1)) is False


async def test_a_deleted_workflow_is_not_saved_again_in_the_same_unit() -> None:
    commits: list[Changes] = []

    async def commit(changes: Changes) -> None:
        commits.append(changes)

    finished = workflow(1)
    async with unit_of_work(commit):
        record_change(finished)
        record_deletion(finished)
        record_change(finished)
    assert commits[0].changed == {} and list(commits[0].deleted) == [finished.id]


async def test_a_failing_unit_commits_nothing() -> None:
    commits: list[Changes] = []

    async def commit(changes: Changes) -> None:
        commits.append(changes)

    with pytest.raises(RuntimeError):
        async with unit_of_work(commit):
            record_change(workflow(1))
            raise RuntimeError("user code failed")
    assert commits == []


def test_one_lock_per_workflow_while_it_is_used() -> None:
    locks = WorkflowLocks()
    lock = locks(UUID(int=1))
    assert locks(UUID(int=1)) is lock
    assert locks(UUID(int=2)) is not lock


def test_partitions_match_the_producers_default_partitioner() -> None:
    partitioner = DefaultPartitioner()
    for number in range(200):
        key = f"order-{number}"
        assert partition_for(key, 6) == partitioner(key.encode(), list(range(6)), list(range(6)))
    assert partition_for("order-1", 1) == 0
    assert partition_for("order-1", 6) == partition_for(b"order-1", 6)


def test_workflow_key_is_its_partition_key_parameter_or_its_id() -> None:
    keyed = SimpleNamespace(id=UUID(int=1), partition_key_lookup="order_id", runtime_parameters={"order_id": 7})
    unkeyed = SimpleNamespace(id=UUID(int=1), partition_key_lookup="order_id", runtime_parameters={})
    assert workflow_key(keyed) == "7"
    assert workflow_key(unkeyed) == str(UUID(int=1))


async def test_nothing_is_committed_before_the_messages_sent_in_the_unit_are_acknowledged() -> None:
    commits: list[Changes] = []

    async def commit(changes: Changes) -> None:
        commits.append(changes)

    acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def handle_event() -> None:
        async with unit_of_work(commit):
            record_change(workflow(1))
            assert record_send(acknowledged)

    handling = asyncio.create_task(handle_event())
    await asyncio.sleep(0.01)
    assert commits == [] and not handling.done(), "saved before the broker acknowledged the command"
    acknowledged.set_result(None)
    await handling
    assert len(commits) == 1


async def test_a_message_that_cannot_be_sent_fails_the_unit() -> None:
    commits: list[Changes] = []

    async def commit(changes: Changes) -> None:
        commits.append(changes)

    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    failed.set_exception(TimeoutError("no broker acknowledged the command"))
    with pytest.raises(TimeoutError):
        async with unit_of_work(commit):
            record_change(workflow(1))
            record_send(failed)
    assert commits == []
    assert record_send(failed) is False, "outside a unit nothing waits"


async def test_a_task_started_inside_a_unit_records_nothing_into_it_once_it_ended() -> None:
    commits: list[Changes] = []

    async def commit(changes: Changes) -> None:
        commits.append(changes)

    released = asyncio.Event()

    async def later() -> bool:
        await released.wait()
        return record_change(workflow(2))

    async with unit_of_work(commit):
        record_change(workflow(1))
        straggler = asyncio.create_task(later())
    released.set()
    assert await straggler is False, "the ended unit must not take the change"
    assert [list(changes.changed) for changes in commits] == [[UUID(int=1)]]


async def test_removals_wait_for_the_commit_and_never_run_when_it_fails() -> None:
    order: list[str] = []

    async def commit(changes: Changes) -> list[Any]:
        order.append("commit")
        return []

    async def remove() -> None:
        order.append("remove")

    async with unit_of_work(commit):
        assert after_commit(remove)
        order.append("body")
    assert order == ["body", "commit", "remove"]

    order.clear()
    with pytest.raises(RuntimeError):
        async with unit_of_work(commit):
            after_commit(remove)
            raise RuntimeError("the event failed")
    assert order == []
    assert after_commit(remove) is False, "outside a unit nothing is deferred"


async def test_in_the_background_removals_wait_for_the_saves_acknowledgement_not_the_unit() -> None:
    order: list[str] = []
    acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    handed: list[asyncio.Task[None]] = []

    async def commit(changes: Changes) -> list[Any]:
        order.append("commit")
        return [acknowledged]

    async def remove() -> None:
        order.append("remove")

    async with unit_of_work(commit, lambda following: handed.append(asyncio.ensure_future(following))):
        after_commit(remove)
    assert order == ["commit"], "the unit ended without waiting for the broker"
    await asyncio.sleep(0)
    assert order == ["commit"], "nothing follows before the save is acknowledged"
    acknowledged.set_result(None)
    await asyncio.gather(*handed)
    assert order == ["commit", "remove"]


async def test_in_the_background_nothing_follows_a_save_the_broker_refused(caplog: pytest.LogCaptureFixture) -> None:
    order: list[str] = []
    refused: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    refused.set_exception(RuntimeError("broker said no"))
    handed: list[asyncio.Task[None]] = []

    async def commit(changes: Changes) -> list[Any]:
        return [refused]

    async def remove() -> None:
        order.append("remove")

    async with unit_of_work(commit, lambda following: handed.append(asyncio.ensure_future(following))):
        after_commit(remove)
    await asyncio.gather(*handed)
    assert order == []
    assert "What follows a saved unit of work failed" in caplog.text
