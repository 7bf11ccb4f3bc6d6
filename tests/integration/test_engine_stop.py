"""Stopping workflows on a running engine: what stops, what is given back, what a finished workflow keeps."""

from __future__ import annotations

import uuid

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.service.services import Dagger
from dagger.tasks.task import ExecutorTask, ITask, TriggerTask
from dagger.templates.template import ITemplateDAG, TriggerTaskTemplateBuilder
from examples.pizza.shop import PizzaShop
from examples.pizza.workflow import WaitForReady, pizza_template_by_helper
from tests.integration.engines import (
    EngineStarter,
    create_pizzas,
    index_entries,
    tasks_by_name,
    wait_for_listeners,
    wait_for_status,
    workflow,
)
from tests.support import bootstrap_servers, wait_for

STOPPABLE_TEMPLATE = "StoppablePizzaWorkflow"
TIMED_TEMPLATE = "TimedWorkflow"
SELF_CANCELLING_TEMPLATE = "SelfCancellingWorkflow"

stop_calls: list[uuid.UUID] = []
"""The id of every task whose ``stop`` hook ran."""


class StoppableReady(WaitForReady):
    """The pizza listener, noting when it is stopped."""

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        stop_calls.append(self.id)


class Alarm(TriggerTask[str, str]):
    """A timer far in the future; its hook notes a stop."""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        runtime_parameters["rang"] = "yes"

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        stop_calls.append(self.id)


def timed_template(template_name: str) -> ITemplateDAG:
    """One process holding one :class:`Alarm` due at the runtime parameter ``ring_at``."""
    helper = DAGBuilderHelper(Dagger.app)
    alarm = TriggerTaskTemplateBuilder(Dagger.app)
    alarm.set_name("alarm")
    alarm.set_type(Alarm)
    alarm.set_time_to_execute_lookup_key("ring_at")
    process = helper.generic_process_builder(process_name="Wait", root_task=alarm.build())
    return helper.generic_template(template_name=template_name, root_process=process.build())


def register(engine: Dagger) -> None:
    """The stoppable pizza workflow and the timed workflow."""
    Dagger.register_template(STOPPABLE_TEMPLATE)(
        lambda name: pizza_template_by_helper(name, engine.pizza_topics, StoppableReady)  # type: ignore[attr-defined]
    )
    Dagger.register_template(TIMED_TEMPLATE)(timed_template)


async def test_stopping_a_waiting_workflow_stops_every_unfinished_task(start_engine: EngineStarter) -> None:
    engine = await start_engine(register=register)
    orders = await create_pizzas(engine, 2, template_name=STOPPABLE_TEMPLATE)
    (stopped_id, stopped_order), (other_id, other_order) = orders.items()
    await wait_for_listeners(engine, list(orders))
    assert len(index_entries(engine, stopped_order)) == 1
    stop_calls.clear()

    instance = await workflow(engine, stopped_id)
    listener_id = tasks_by_name(instance)["Order_listener_task"].id
    await instance.stop()

    assert instance.status.code == "STOPPED", "the caller's object shows the stop"
    stored = await workflow(engine, stopped_id)
    assert stored.status.code == "STOPPED"
    codes = {name: task.status.code for name, task in tasks_by_name(stored).items()}
    assert codes == {
        "Order": "STOPPED",
        "Order_command_task": "COMPLETED",
        "Order_listener_task": "STOPPED",
        "Delivery": "STOPPED",
        "Delivery_executor_task": "STOPPED",
    }
    assert stop_calls == [listener_id], "only the EXECUTING listener's hook runs, once"
    # The stopped listener leaves the index once the broker holds the stop.
    await wait_for(
        lambda: index_entries(engine, stopped_order) == [], timeout=10, message="the listener to leave the index"
    )
    saved = stored.update_count

    # The shop answers both orders: the stopped workflow is not revived, the other one completes.
    async with PizzaShop(bootstrap_servers(), engine.pizza_topics) as shop:  # type: ignore[attr-defined]
        await shop.say_ready(stopped_order)
        await shop.say_ready(other_order)
        await wait_for_status(engine, [other_id], "COMPLETED")
    after = await workflow(engine, stopped_id)
    assert (after.status.code, after.update_count) == ("STOPPED", saved)
    assert "delivered" not in after.runtime_parameters


async def test_stopping_a_finished_workflow_changes_nothing(start_engine: EngineStarter) -> None:
    engine = await start_engine(register=register)
    async with PizzaShop(bootstrap_servers(), engine.pizza_topics):  # type: ignore[attr-defined]
        orders = await create_pizzas(engine, 1, template_name=STOPPABLE_TEMPLATE)
        await wait_for_status(engine, orders, "COMPLETED")
    (finished_id,) = orders
    before = engine.get_instance_payload(finished_id)
    stop_calls.clear()

    await (await workflow(engine, finished_id)).stop()

    assert engine.get_instance_payload(finished_id) == before
    assert stop_calls == []


async def test_a_stop_request_on_the_tasks_topic_stops_the_workflow(start_engine: EngineStarter) -> None:
    """The way a worker that does not own a workflow asks its owner to stop it; a malformed request is ignored."""
    engine = await start_engine(register=register)
    orders = await create_pizzas(engine, 1, template_name=STOPPABLE_TEMPLATE)
    (workflow_id, order_id), *_ = orders.items()
    await wait_for_listeners(engine, [workflow_id])

    stop = {"dagger-kind": b"stop"}
    await engine.tasks_topic.send(key=order_id, value=b"not a workflow id", headers=stop)
    await engine.tasks_topic.send(key=order_id, value=str(workflow_id).encode(), headers=stop)

    await wait_for_status(engine, [workflow_id], "STOPPED")
    await wait_for(lambda: index_entries(engine, order_id) == [], timeout=10, message="the listener to leave the index")


async def test_stopping_removes_the_workflows_timers(start_engine: EngineStarter) -> None:
    engine = await start_engine(register=register, trigger_interval=0.2)
    template = engine.get_template(TIMED_TEMPLATE)
    workflow_id = uuid.uuid1()
    created = await template.create_instance(
        workflow_id, "key", repartition=False, submit_task=True, key=str(workflow_id), ring_at=4_000_000_000
    )
    alarm = next(task for task in created.tasks.values() if isinstance(task, Alarm))
    await wait_for_status(engine, [workflow_id], "EXECUTING")
    assert await engine._store.get_trigger((workflow_id, alarm.id)) is not None
    stop_calls.clear()

    await (await workflow(engine, workflow_id)).stop()

    assert await engine._store.get_trigger((workflow_id, alarm.id)) is None
    assert stop_calls == [alarm.id]
    stored = await workflow(engine, workflow_id)
    assert {task.status.code for task in stored.tasks.values()} == {"STOPPED"}


async def test_stop_hooks_write_to_the_saved_workflow(start_engine: EngineStarter) -> None:
    """The documented stop from application code: the caller's parameters are applied, then the hooks write."""
    engine = await start_engine()
    (workflow_id, _), *_ = (await create_pizzas(engine, 1)).items()
    await wait_for_listeners(engine, [workflow_id])

    instance = await workflow(engine, workflow_id)
    instance.runtime_parameters["cancel_reason"] = "changed my mind"
    await instance.stop(runtime_parameters=instance.runtime_parameters, workflow_instance=instance)

    stored = await workflow(engine, workflow_id)
    assert stored.status.code == "STOPPED"
    assert stored.runtime_parameters["cancel_reason"] == "changed my mind"
    assert stored.runtime_parameters["stopped_while"] == "waiting for the pizza", "the hook's write was not saved"
    assert instance.runtime_parameters == stored.runtime_parameters, "the caller's object shows the stop"


class SelfCancelling(ExecutorTask[str, str]):
    """Stops its own workflow from inside the event that runs it, with parameters of its own."""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        assert workflow_instance is not None
        await workflow_instance.stop(
            runtime_parameters={"cancel_reason": "sold out"}, workflow_instance=workflow_instance
        )

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        if runtime_parameters is not None:
            runtime_parameters["stopped_while"] = "cancelling"


async def test_stop_hooks_write_to_the_saved_workflow_inside_an_event(start_engine: EngineStarter) -> None:
    def register_self_cancelling(engine: Dagger) -> None:
        @Dagger.register_template(SELF_CANCELLING_TEMPLATE)
        def self_cancelling(template_name: str) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            cancel = helper.build_and_link_tasks(
                [helper.generic_executor_task_builder(task_type=SelfCancelling, name="cancel")]
            )
            process = helper.generic_process_builder(process_name="Cancel", root_task=cancel)
            return helper.generic_template(template_name=template_name, root_process=process.build())

    engine = await start_engine(register=register_self_cancelling)
    workflow_id = uuid.uuid1()
    await engine.get_template(SELF_CANCELLING_TEMPLATE).create_instance(
        workflow_id, "key", repartition=False, submit_task=True, key=str(workflow_id)
    )

    await wait_for_status(engine, [workflow_id], "STOPPED")
    stored = await workflow(engine, workflow_id)
    assert stored.runtime_parameters == {
        "key": str(workflow_id),
        "cancel_reason": "sold out",
        "stopped_while": "cancelling",
    }
