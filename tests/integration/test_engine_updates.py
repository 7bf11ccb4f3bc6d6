"""What an engine publishes when it saves a workflow: the task update topic and the update callbacks."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from dagger.service.services import Dagger
from dagger.tasks.task import (
    DefaultProcessTemplateDAGInstance,
    DefaultTemplateDAGInstance,
    ITask,
    ITemplateDAGInstance,
)
from examples.pizza.shop import PizzaShop
from examples.pizza.workflow import Deliver, OrderCommand, WaitForReady
from tests.integration.engines import EngineStarter, create_pizzas, tasks_by_name, wait_for_status
from tests.support import bootstrap_servers, unique_name, wait_for


class UpdateTopic:
    """Everything published on a task update topic, read from its beginning and decoded."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.raw: list[bytes] = []
        self.decoded: list[ITemplateDAGInstance] = []

    async def poll(self) -> None:
        for records in (await self.consumer.getmany(timeout_ms=100)).values():
            for record in records:
                self.raw.append(record.value)
                self.decoded.append(ITemplateDAGInstance.from_data(json.loads(record.value)))

    def of(self, workflow_id: uuid.UUID) -> list[ITemplateDAGInstance]:
        return [update for update in self.decoded if update.id == workflow_id]

    def raw_of(self, workflow_id: uuid.UUID) -> list[bytes]:
        return [raw for raw, update in zip(self.raw, self.decoded, strict=True) if update.id == workflow_id]

    async def wait_completed(self, ids: list[uuid.UUID], timeout: float = 60) -> None:
        async def all_published() -> bool:
            await self.poll()
            return all(any(u.status.code == "COMPLETED" for u in self.of(i)) for i in ids)

        def missing() -> str:
            return f"COMPLETED updates; still missing for {[str(i) for i in ids if not self.of(i)]}"

        await wait_for(all_published, timeout=timeout, message=missing)


ReadUpdates = Callable[[str], Awaitable[UpdateTopic]]


@pytest.fixture
async def read_updates() -> AsyncIterator[ReadUpdates]:
    """``await read_updates(topic)``: an :class:`UpdateTopic` reading ``topic`` from its start."""
    consumers: list[AIOKafkaConsumer] = []

    async def read(topic: str) -> UpdateTopic:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap_servers(), group_id=None, auto_offset_reset="earliest"
        )
        consumers.append(consumer)
        await consumer.start()
        return UpdateTopic(consumer)

    yield read
    for consumer in consumers:
        await consumer.stop()


async def pizzas_with_updates(
    start_engine: EngineStarter, read_updates: ReadUpdates, count: int
) -> tuple[Dagger, str, dict[uuid.UUID, str], UpdateTopic]:
    """An engine publishing on an update topic of its own, which has completed ``count`` pizza workflows; the
    engine, the topic's name, the orders by workflow id and the topic read until every workflow completed."""
    topic = unique_name("updates")
    engine = await start_engine(task_update_topic=topic)
    updates = await read_updates(topic)
    async with PizzaShop(bootstrap_servers(), engine.pizza_topics):  # type: ignore[attr-defined]
        orders = await create_pizzas(engine, count)
        await wait_for_status(engine, orders, "COMPLETED")
        await updates.wait_completed(list(orders))
    return engine, topic, orders, updates


def assert_concrete_pizza(update: ITemplateDAGInstance) -> None:
    """A decoded pizza workflow is made of the classes it was created with, all COMPLETED."""
    assert type(update) is DefaultTemplateDAGInstance
    tasks = tasks_by_name(update)
    assert isinstance(tasks["Order_command_task"], OrderCommand)
    assert isinstance(tasks["Order_listener_task"], WaitForReady)
    assert isinstance(tasks["Delivery_executor_task"], Deliver)
    assert type(tasks["Order"]) is DefaultProcessTemplateDAGInstance
    assert type(tasks["Delivery"]) is DefaultProcessTemplateDAGInstance
    assert {task.status.code for task in update.tasks.values()} == {"COMPLETED"}
    assert update.runtime_parameters["delivered"] == "yes"


async def test_update_topic_carries_every_save(start_engine: EngineStarter, read_updates: ReadUpdates) -> None:
    engine, _, orders, updates = await pizzas_with_updates(start_engine, read_updates, 10)

    for workflow_id, order_id in orders.items():
        published = updates.of(workflow_id)
        final = published[-1]
        assert final.status.code == "COMPLETED"
        assert [u.status.code for u in published].count("COMPLETED") == 1
        assert final.runtime_parameters["order_id"] == order_id
        assert_concrete_pizza(final)
        counts = [u.update_count for u in published]
        assert counts == list(range(1, len(counts) + 1)), f"updates of {workflow_id} out of order: {counts}"
        assert updates.raw_of(workflow_id)[-1] == engine.get_instance_payload(workflow_id), (
            "the last update published differs from the workflow stored"
        )


async def test_update_callbacks_are_awaited_on_every_save(
    start_engine: EngineStarter, read_updates: ReadUpdates
) -> None:
    seen: dict[uuid.UUID, list[tuple[str, int]]] = defaultdict(list)

    async def callback(workflow: ITemplateDAGInstance) -> None:
        await asyncio.sleep(0)  # recorded only when the coroutine is awaited to its end
        assert isinstance(workflow, ITemplateDAGInstance)
        seen[workflow.id].append((workflow.status.code, workflow.update_count))

    topic = unique_name("updates")
    engine = await start_engine(task_update_topic=topic, task_update_callbacks=[callback])
    updates = await read_updates(topic)
    async with PizzaShop(bootstrap_servers(), engine.pizza_topics):  # type: ignore[attr-defined]
        orders = await create_pizzas(engine, 10)
        await wait_for_status(engine, orders, "COMPLETED")
        await updates.wait_completed(list(orders))

    assert set(seen) == set(orders)
    for workflow_id in orders:
        stored = await engine.get_instance(workflow_id, log=False)
        assert stored is not None
        calls = seen[workflow_id]
        assert [count for _, count in calls] == list(range(1, stored.update_count + 1)), "one call per save"
        assert calls[-1] == ("COMPLETED", stored.update_count)
        assert calls == [(u.status.code, u.update_count) for u in updates.of(workflow_id)]


async def test_deleted_on_complete_yet_final_update_published(
    start_engine: EngineStarter, read_updates: ReadUpdates
) -> None:
    finals: dict[uuid.UUID, ITemplateDAGInstance] = {}

    async def callback(workflow: ITemplateDAGInstance) -> None:
        if workflow.status.code == "COMPLETED":
            finals[workflow.id] = workflow

    topic = unique_name("updates")
    engine: Dagger = await start_engine(
        task_update_topic=topic, delete_workflow_on_complete=True, task_update_callbacks=[callback]
    )
    updates = await read_updates(topic)
    async with PizzaShop(bootstrap_servers(), engine.pizza_topics):  # type: ignore[attr-defined]
        orders = await create_pizzas(engine, 10)
        await updates.wait_completed(list(orders))
        await wait_for_status(engine, orders, status=None)

    for workflow_id in orders:
        assert await engine.get_instance(workflow_id, log=False) is None
        assert engine.get_instance_payload(workflow_id) is None
        published = updates.of(workflow_id)
        assert len(published) > 1, "the workflow was never stored before it completed"
        final = published[-1]
        assert final.status.code == "COMPLETED"
        assert_concrete_pizza(final)
        assert finals[workflow_id].update_count == final.update_count
    assert list(engine._store.iter_workflows()) == []


async def read_in_a_process_without_the_application(topic: str) -> dict[str, Any]:
    """What ``update_reader.py``, run by this Python in a process of its own, decoded of ``topic``."""
    reader = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("update_reader.py")),
        bootstrap_servers(),
        topic,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(reader.communicate(), timeout=120)
    assert reader.returncode == 0, f"the reader failed:\n{err.decode()}"
    result: dict[str, Any] = json.loads(out)
    return result


async def test_a_reader_without_the_application_classes_decodes_every_update(
    start_engine: EngineStarter, read_updates: ReadUpdates
) -> None:
    _, topic, orders, updates = await pizzas_with_updates(start_engine, read_updates, 5)
    application_types = {
        type(task)._options.namespace: type(task).__name__
        for update in updates.decoded
        for task in update.tasks.values()
        if not type(task).__module__.startswith("dagger.")
    }
    assert set(application_types.values()) == {"OrderCommand", "WaitForReady", "Deliver"}

    read = await read_in_a_process_without_the_application(topic)

    assert read["imported"] == [], "the reader imported application modules"
    assert len(read["decoded"]) == len(updates.decoded), "the reader decoded every record"
    for workflow_id in orders:
        seen_here = updates.of(workflow_id)
        seen_there = [update for update in read["decoded"] if update["id"] == str(workflow_id)]
        assert [(u["status"], u["update_count"]) for u in seen_there] == [
            (u.status.code, u.update_count) for u in seen_here
        ]
        final, expected = seen_there[-1], seen_here[-1]
        assert final["status"] == "COMPLETED" and final["type"] == "DefaultTemplateDAGInstance"
        assert final["tasks"] == {
            str(task_id): {
                "name": task.task_name,
                "status": task.status.code,
                "type": ITask.__name__ if type(task)._options.namespace in application_types else type(task).__name__,
                "topic": getattr(task, "topic", None),
            }
            for task_id, task in expected.tasks.items()
        }
        assert {task["status"] for task in final["tasks"].values()} == {"COMPLETED"}
    warned = {namespace: [m for m in read["warnings"] if repr(namespace) in m] for namespace in application_types}
    assert all(len(messages) == 1 for messages in warned.values()), warned
    assert len(read["warnings"]) == len(application_types), read["warnings"]
