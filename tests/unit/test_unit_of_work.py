"""One save per handled event: the unit of work collects changes and commits them once."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import UUID

import pytest
from aiokafka.partitioner import DefaultPartitioner

from dagger.service._partitions import partition_for, workflow_key
from dagger.service._unit_of_work import Changes, WorkflowLocks, record_change, record_deletion, unit_of_work


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
