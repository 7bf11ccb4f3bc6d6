"""The reference's options, application package and correlation index methods, on a running engine."""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from dagger.store._correlation_index import lookup_key
from dagger.tasks.task import CorreletableKeyTasks
from examples.pizza.runner import free_port
from examples.pizza.workflow import PizzaTopics
from tests.integration.engines import (
    EngineStarter,
    create_pizzas,
    ready,
    statuses,
    tasks_by_name,
    wait_for_status,
    workflow,
)
from tests.support import bootstrap_servers, unique_name, write_package

DISCOVERED_PIZZA = """
from dagger.service.services import Dagger
from examples.pizza.workflow import PizzaTopics, pizza_template_by_helper

TOPICS = PizzaTopics(orders={orders!r}, ready={ready!r})
Dagger.register_template("DiscoveredPizza")(lambda name: pizza_template_by_helper(name, TOPICS))
"""


async def send_ready(producer: AIOKafkaProducer, topic: str, order_ids: list[str]) -> None:
    """Say on the shop's ``topic`` that the pizzas of ``order_ids`` are ready."""
    for order_id in order_ids:
        await producer.send_and_wait(topic, key=order_id.encode(), value=ready(order_id))


def warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings that name an option without effect."""
    return sorted(record.getMessage() for record in caplog.records if "has no effect" in record.getMessage())


async def test_templates_of_package_name_are_registered_before_the_worker_consumes(
    start_engine: EngineStarter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, producer: AIOKafkaProducer
) -> None:
    package = unique_name("shop").replace("-", "_")
    topics = PizzaTopics(orders=unique_name("orders"), ready=unique_name("ready"))
    modules = {
        "workflows.pizza": DISCOVERED_PIZZA.format(orders=topics.orders, ready=topics.ready),
        "broken": "raise RuntimeError('a module that fails to import')",
    }
    write_package(tmp_path / "packages", package, modules)
    monkeypatch.syspath_prepend(str(tmp_path / "packages"))

    engine = await start_engine(package_name=package)
    assert f"{package}.workflows.pizza" in sys.modules
    orders = await create_pizzas(engine, 3, template_name="DiscoveredPizza")
    await send_ready(producer, topics.ready, list(orders.values()))
    await wait_for_status(engine, orders, "COMPLETED")


async def test_options_without_effect_are_warned_once_at_start_up(
    start_engine: EngineStarter, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "schema_registry.client", None)  # as if the package were not installed
    caplog.set_level(logging.WARNING, logger="dagger.service.services")
    engine = await start_engine(enable_changelog=False, schema_registry_url="http://127.0.0.1:8081")
    assert [message.split(" has no effect")[0] for message in warned(caplog)] == [
        "enable_changelog=False",
        "schema_registry_url",
    ]
    assert engine.schema_registry_client is None


async def test_kafka_broker_list_is_bootstrapped_from(
    start_engine: EngineStarter, caplog: pytest.LogCaptureFixture, producer: AIOKafkaProducer
) -> None:
    caplog.set_level(logging.WARNING, logger="dagger.service.services")
    engine = await start_engine(
        broker=f"kafka://127.0.0.1:{free_port()}", kafka_broker_list=bootstrap_servers().split(",")
    )
    orders = await create_pizzas(engine, 2)
    await send_ready(producer, engine.pizza_topics.ready, list(orders.values()))  # type: ignore[attr-defined]
    await wait_for_status(engine, orders, "COMPLETED")
    assert warned(caplog) == []


async def test_index_chains_are_written_and_rewritten_by_the_reference_methods(
    start_engine: EngineStarter, producer: AIOKafkaProducer, caplog: pytest.LogCaptureFixture
) -> None:
    engine = await start_engine(kafka_partitions=3, max_correletable_keys_in_values=2)
    ready = engine.pizza_topics.ready  # type: ignore[attr-defined]
    orders = await create_pizzas(engine, 4)
    ids = list(orders)
    listeners = {wf: tasks_by_name(await workflow(engine, wf))["Order_listener_task"].id for wf in ids}

    head = CorreletableKeyTasks(key=lookup_key("party", ready))
    for workflow_id in ids[:3]:
        await engine.chunk_and_store_correlatable_tasks(head, listeners[workflow_id], workflow_id)
    chunks = await engine.get_correletable_key_instances(head)
    assert [len(chunk.lookup_keys) for chunk in chunks] == [2, 1]
    await engine.chunk_and_store_correlatable_tasks(chunks[-1], listeners[ids[3]], ids[3])
    chunks = await engine.get_correletable_key_instances(head)
    assert [len(chunk.lookup_keys) for chunk in chunks] == [2, 2]
    entries = {entry.workflow_id: entry for chunk in chunks for entry in chunk.lookup_keys}
    assert {workflow_id: entry.partition_key for workflow_id, entry in entries.items()} == orders

    first, last = ids[0], ids[3]
    await engine.persist_tasks_ids_for_correletable_keys({entries[first], entries[last]}, chunks)
    chunks = await engine.get_correletable_key_instances(head)
    kept = {(entry.workflow_id, entry.task_id) for chunk in chunks for entry in chunk.lookup_keys}
    assert kept == {(first, listeners[first]), (last, listeners[last])}

    await send_ready(producer, ready, ["party"])
    await wait_for_status(engine, [first, last], "COMPLETED")
    assert set((await statuses(engine, ids[1:3])).values()) == {"EXECUTING"}
    await send_ready(producer, ready, [orders[workflow_id] for workflow_id in ids[1:3]])
    await wait_for_status(engine, ids, "COMPLETED")

    stray = CorreletableKeyTasks(key=str(uuid.uuid1()))
    await engine.chunk_and_store_correlatable_tasks(stray, listeners[first], first)
    assert await engine.get_correletable_key_instances(stray) == []
    assert any(record.levelno == logging.ERROR and repr(stray.key) in record.getMessage() for record in caplog.records)
