"""How workflows behave on a running engine: fan-in of messages, decisions, failures, redelivered creates."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.service.services import Dagger
from dagger.tasks.task import DecisionTask, ExecutorTask, ITask, TaskLookupKey
from dagger.templates.template import DecisionTaskTemplateBuilder, ITemplateDAG
from examples.pizza.shop import PizzaShop
from examples.pizza.workflow import BUILDERS_TEMPLATE, Deliver, OrderCommand, WaitForReady, pizza_template_by_helper
from tests.integration.engines import (
    EngineStarter,
    create_pizzas,
    statuses,
    tasks_by_name,
    wait_for_listeners,
    wait_for_status,
    workflow,
)
from tests.support import bootstrap_servers, unique_name

BATCH_TEMPLATE = "BatchPizzaWorkflow"
SHARED_BATCH_TEMPLATE = "BatchOnReadyTopicWorkflow"
ROUTING_TEMPLATE = "RoutedPizzaWorkflow"
BURNT_TEMPLATE = "BurntPizzaWorkflow"

executed: list[tuple[str, str]] = []
"""``(order_id, task class)`` of every executor of this module that ran."""


class BatchReady(WaitForReady):
    """Waits for a message naming many orders at once: ``{"order_ids": [...], "status": "ready"}``."""

    async def get_correlatable_keys_from_payload(self, payload: Any) -> list[TaskLookupKey]:
        return [(self.correlatable_key, order_id) for order_id in json.loads(payload)["order_ids"]]


class Recorded(ExecutorTask[str, str]):
    """An executor that notes it ran."""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        executed.append((runtime_parameters["order_id"], type(self).__name__))


class WoodOven(Recorded):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        await super().execute(runtime_parameters, workflow_instance)
        runtime_parameters["baked_in"] = "wood"


class Rest(Recorded):
    pass


class GasOven(Recorded):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        await super().execute(runtime_parameters, workflow_instance)
        runtime_parameters["baked_in"] = "gas"


class ByOven(DecisionTask[str, str]):
    """The wood oven branch (the first) when ``oven`` is ``wood``, else the gas oven branch."""

    async def evaluate(self, **kwargs: Any) -> uuid.UUID | None:
        return self.next_dags[0] if kwargs["oven"] == "wood" else self.next_dags[1]


class Burn(Recorded):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        await super().execute(runtime_parameters, workflow_instance)
        raise RuntimeError("the oven is on fire")


class BoxUp(Recorded):
    pass


class RecordedDeliver(Deliver):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        executed.append((runtime_parameters["order_id"], "Deliver"))
        await super().execute(runtime_parameters, workflow_instance)


def registering(batch_topic: str) -> Any:
    """Register the batch, routing and burnt workflows; the batch one waits on ``batch_topic``."""

    def register(engine: Dagger) -> None:
        orders = engine.pizza_topics.orders  # type: ignore[attr-defined]

        def delivery(helper: DAGBuilderHelper) -> Any:
            deliver = helper.generic_executor_task_builder(task_type=RecordedDeliver, name="Delivery").build()
            return helper.generic_process_builder(process_name="Delivery", root_task=deliver)

        @Dagger.register_template(BATCH_TEMPLATE)
        def batch(template_name: str) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            order = helper.build_and_link_tasks(
                [
                    helper.generic_command_task_builder(
                        topic=orders, task_type=OrderCommand, process_name="Order", key_type=bytes, value_type=bytes
                    ),
                    helper.generic_listener_task_builder(
                        topic=batch_topic, task_type=BatchReady, process_name="Order", key_type=bytes, value_type=bytes
                    ),
                ]
            )
            root = helper.build_and_link_processes(
                [helper.generic_process_builder(process_name="Order", root_task=order), delivery(helper)]
            )
            return helper.generic_template(template_name=template_name, root_process=root)

        @Dagger.register_template(ROUTING_TEMPLATE)
        def routing(template_name: str) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            wood = helper.build_and_link_tasks(
                [
                    helper.generic_executor_task_builder(task_type=WoodOven, name="wood"),
                    helper.generic_executor_task_builder(task_type=Rest, name="rest"),
                ]
            )
            gas = helper.generic_executor_task_builder(task_type=GasOven, name="gas").build()
            decision = DecisionTaskTemplateBuilder(Dagger.app).set_type(ByOven).set_name("choose_oven")
            decision.set_next(wood).set_next(gas)
            root = helper.build_and_link_processes(
                [helper.generic_process_builder(process_name="Bake", root_task=decision.build()), delivery(helper)]
            )
            return helper.generic_template(template_name=template_name, root_process=root)

        @Dagger.register_template(BURNT_TEMPLATE)
        def burnt(template_name: str) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            bake = helper.build_and_link_tasks(
                [
                    helper.generic_executor_task_builder(task_type=Burn, name="burn"),
                    helper.generic_executor_task_builder(task_type=BoxUp, name="box_up"),
                ]
            )
            root = helper.build_and_link_processes(
                [helper.generic_process_builder(process_name="Bake", root_task=bake), delivery(helper)]
            )
            return helper.generic_template(template_name=template_name, root_process=root)

    return register


@pytest.fixture
async def engine(start_engine: EngineStarter) -> AsyncIterator[Dagger]:
    batch_topic = unique_name("batch-ready")
    engine = await start_engine(register=registering(batch_topic))
    engine.batch_topic_name = batch_topic  # type: ignore[attr-defined]
    yield engine


async def create(
    engine: Dagger, template_name: str, order_id: str, repartition: bool = False, **params: Any
) -> uuid.UUID:
    workflow_id = uuid.uuid1()
    await engine.get_template(template_name).create_instance(
        workflow_id, "order_id", repartition=repartition, submit_task=True, order_id=order_id, **params
    )
    return workflow_id


# (a) one message, many workflows


async def test_one_message_with_many_correlation_values(engine: Dagger, producer: AIOKafkaProducer) -> None:
    named = {}
    for n in range(5):
        order_id = f"batch-{n}-{uuid.uuid4()}"
        named[await create(engine, BATCH_TEMPLATE, order_id)] = order_id
    bystander = await create(engine, BATCH_TEMPLATE, f"not-in-batch-{uuid.uuid4()}")
    await wait_for_listeners(engine, [*named, bystander])
    bystander_before = engine.get_instance_payload(bystander)

    message = {"order_ids": list(named.values()), "status": "ready", "oven": "brick"}
    await producer.send_and_wait(engine.batch_topic_name, value=json.dumps(message).encode())  # type: ignore[attr-defined]

    await wait_for_status(engine, named, "COMPLETED")
    for workflow_id in named:
        found = await workflow(engine, workflow_id)
        assert found.runtime_parameters["oven"] == "brick"
        assert found.runtime_parameters["delivered"] == "yes"
    assert engine.get_instance_payload(bystander) == bystander_before


async def test_one_message_completes_every_workflow_waiting_on_its_value(
    engine: Dagger, producer: AIOKafkaProducer
) -> None:
    shared = f"shared-{uuid.uuid4()}"
    waiting = [await create(engine, BUILDERS_TEMPLATE, shared) for _ in range(3)]
    other = await create(engine, BUILDERS_TEMPLATE, f"other-{uuid.uuid4()}")
    await wait_for_listeners(engine, [*waiting, other])

    ready = {"order_id": shared, "status": "ready", "oven": "wood-fired"}
    await producer.send_and_wait(engine.pizza_topics.ready, key=shared.encode(), value=json.dumps(ready).encode())  # type: ignore[attr-defined]

    await wait_for_status(engine, waiting, "COMPLETED")
    assert (await statuses(engine, [other]))[other] == "EXECUTING"


def register_batch_on_ready_topic(engine: Dagger) -> None:
    """A batch workflow whose listener waits on the pizza "ready" topic, beside the pizza's own listener."""
    topics = engine.pizza_topics  # type: ignore[attr-defined]

    Dagger.register_template(SHARED_BATCH_TEMPLATE)(lambda name: pizza_template_by_helper(name, topics, BatchReady))


async def test_listener_types_sharing_a_topic_each_get_their_messages(
    start_engine: EngineStarter, producer: AIOKafkaProducer
) -> None:
    """Two listener classes wait on one topic, each understanding only its own payloads.

    ``WaitForReady`` raises KeyError on a batch message (no ``order_id``), ``BatchReady`` on a single
    one (no ``order_ids``). Each message should still reach the workflows of the class that understands it.
    """
    engine = await start_engine(register=register_batch_on_ready_topic)
    ready_topic = engine.pizza_topics.ready  # type: ignore[attr-defined]
    batch = [await create(engine, SHARED_BATCH_TEMPLATE, f"batch-{n}-{uuid.uuid4()}") for n in range(3)]
    single = [await create(engine, BUILDERS_TEMPLATE, f"single-{n}-{uuid.uuid4()}") for n in range(2)]
    await wait_for_listeners(engine, [*batch, *single])
    named = {workflow_id: (await workflow(engine, workflow_id)).runtime_parameters["order_id"] for workflow_id in batch}

    message = {"order_ids": list(named.values()), "status": "ready"}
    await producer.send_and_wait(ready_topic, value=json.dumps(message).encode())
    for workflow_id in single:
        order_id = (await workflow(engine, workflow_id)).runtime_parameters["order_id"]
        ready = {"order_id": order_id, "status": "ready"}
        await producer.send_and_wait(ready_topic, key=order_id.encode(), value=json.dumps(ready).encode())

    await wait_for_status(engine, [*batch, *single], "COMPLETED", timeout=20)


# (b) decisions


async def test_decision_takes_one_branch_and_skips_the_other(engine: Dagger) -> None:
    wood_order, gas_order = f"wood-{uuid.uuid4()}", f"gas-{uuid.uuid4()}"
    by_wood = await create(engine, ROUTING_TEMPLATE, wood_order, oven="wood")
    by_gas = await create(engine, ROUTING_TEMPLATE, gas_order, repartition=True, oven="gas")
    await wait_for_status(engine, [by_wood, by_gas], "COMPLETED")

    wood = tasks_by_name(await workflow(engine, by_wood))
    assert {
        name: wood[name].status.code for name in ("wood_executor_task", "rest_executor_task", "gas_executor_task")
    } == {
        "wood_executor_task": "COMPLETED",
        "rest_executor_task": "COMPLETED",
        "gas_executor_task": "SKIPPED",
    }
    gas = tasks_by_name(await workflow(engine, by_gas))
    assert {
        name: gas[name].status.code for name in ("wood_executor_task", "rest_executor_task", "gas_executor_task")
    } == {
        "wood_executor_task": "SKIPPED",
        "rest_executor_task": "SKIPPED",
        "gas_executor_task": "COMPLETED",
    }
    for tasks in (wood, gas):
        assert tasks["choose_oven"].status.code == "COMPLETED"
        assert tasks["Bake"].status.code == "COMPLETED"
        assert tasks["Delivery_executor_task"].status.code == "COMPLETED"
    assert (await workflow(engine, by_wood)).runtime_parameters["baked_in"] == "wood"
    assert (await workflow(engine, by_gas)).runtime_parameters["baked_in"] == "gas"
    assert [task for order, task in executed if order == wood_order] == ["WoodOven", "Rest", "Deliver"]
    assert [task for order, task in executed if order == gas_order] == ["GasOven", "Deliver"]


# (c) failures


@pytest.mark.parametrize("repartition", [False, True])
async def test_failing_task_fails_its_workflow_and_starts_nothing_after_it(engine: Dagger, repartition: bool) -> None:
    order_id = f"burnt-{uuid.uuid4()}"
    workflow_id = await create(engine, BURNT_TEMPLATE, order_id, repartition=repartition)
    await wait_for_status(engine, [workflow_id], "FAILURE")

    found = await workflow(engine, workflow_id)
    tasks = tasks_by_name(found)
    assert tasks["burn_executor_task"].status.code == "FAILURE"
    assert tasks["burn_executor_task"].message == "RuntimeError: the oven is on fire"
    assert tasks["Bake"].status.code == "FAILURE"
    for name in ("box_up_executor_task", "Delivery", "Delivery_executor_task"):
        assert tasks[name].status.code == "NOT_STARTED", name
    assert [task for order, task in executed if order == order_id] == ["Burn"]
    assert "delivered" not in found.runtime_parameters

    # The engine goes on: a workflow created afterwards runs to its end.
    after = await create(engine, ROUTING_TEMPLATE, f"after-{uuid.uuid4()}", repartition=repartition, oven="gas")
    await wait_for_status(engine, [after], "COMPLETED")
    assert (await statuses(engine, [workflow_id]))[workflow_id] == "FAILURE"


# (d) a create delivered twice

CountingEngine = tuple[Dagger, Counter[tuple[uuid.UUID, str]]]


@pytest.fixture
async def counting_engine(start_engine: EngineStarter) -> CountingEngine:
    """An engine whose update callback counts the saves per workflow and status."""
    saves: Counter[tuple[uuid.UUID, str]] = Counter()

    async def count_saves(saved: Any) -> None:
        saves[saved.id, saved.status.code] += 1

    return await start_engine(task_update_callbacks=[count_saves]), saves


@pytest.mark.parametrize("repartition", [False, True])
async def test_create_delivered_twice_runs_once(counting_engine: CountingEngine, repartition: bool) -> None:
    engine, saves = counting_engine
    template = engine.get_template(BUILDERS_TEMPLATE)
    workflow_id, order_id = uuid.uuid1(), f"twice-{uuid.uuid4()}"
    await template.create_instance(
        workflow_id, "order_id", repartition=repartition, submit_task=True, order_id=order_id, pizza="margherita"
    )
    await wait_for_listeners(engine, [workflow_id])
    first = engine.get_instance_payload(workflow_id)

    again = await template.create_instance(
        workflow_id, "order_id", repartition=repartition, submit_task=True, order_id=order_id, pizza="hawaii"
    )
    if not repartition:
        assert again.runtime_parameters["pizza"] == "margherita", "the second create did not return the stored one"
    # A later create on the same partition is stored only after the second one was handled.
    marker = await create_pizzas(engine, 1, repartition=repartition, prefix="marker")
    await wait_for_status(engine, marker, "EXECUTING")
    assert engine.get_instance_payload(workflow_id) == first, "the second create changed the stored workflow"

    async with PizzaShop(bootstrap_servers(), engine.pizza_topics) as shop:  # type: ignore[attr-defined]
        await wait_for_status(engine, [workflow_id, *marker], "COMPLETED")
        sent = Counter(order["order_id"] for order in shop.orders)
    assert sent == Counter([order_id, *marker.values()]), "the order command was not sent exactly once"
    assert [order["pizza"] for order in shop.orders if order["order_id"] == order_id] == ["margherita"]
    assert saves[workflow_id, "COMPLETED"] == 1, f"saves of the workflow: {saves}"
    found = await workflow(engine, workflow_id)
    assert found.runtime_parameters == {
        "order_id": order_id,
        "pizza": "margherita",
        "oven": "wood-fired",
        "delivered": "yes",
    }


@pytest.mark.parametrize("repartition", [False, True])
async def test_create_delivered_twice_at_once_runs_once(counting_engine: CountingEngine, repartition: bool) -> None:
    engine, saves = counting_engine
    template = engine.get_template(BUILDERS_TEMPLATE)
    workflow_id, order_id = uuid.uuid1(), f"twice-{uuid.uuid4()}"
    await asyncio.gather(
        *(
            template.create_instance(
                workflow_id, "order_id", repartition=repartition, submit_task=True, order_id=order_id, pizza=pizza
            )
            for pizza in ("margherita", "hawaii")
        )
    )
    marker = await create_pizzas(engine, 1, repartition=repartition, prefix="marker")
    await wait_for_status(engine, marker, "EXECUTING")
    await wait_for_listeners(engine, [workflow_id])
    stored = engine.get_instance_payload(workflow_id)
    assert stored is not None

    async with PizzaShop(bootstrap_servers(), engine.pizza_topics) as shop:  # type: ignore[attr-defined]
        await wait_for_status(engine, [workflow_id, *marker], "COMPLETED")
        sent = [order for order in shop.orders if order["order_id"] == order_id]
    assert len(sent) == 1, f"the order command was sent {len(sent)} times: {sent}"
    found = await workflow(engine, workflow_id)
    assert sent[0]["pizza"] == found.runtime_parameters["pizza"] == json.loads(stored)["runtime_parameters"]["pizza"]
    assert saves[workflow_id, "COMPLETED"] == 1, f"saves of the workflow: {saves}"
