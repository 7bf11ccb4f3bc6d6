"""One listener path: the in-memory engine's ``deliver`` and the reference's ``KafkaAgent`` both hand messages to
the engine's router, which correlates them, hands them to the waiting task under its workflow's unit of work, and
dead-letters what no task can use."""

from __future__ import annotations

import uuid
from typing import Any

from dagger.service.services import Dagger
from dagger.tasks.task import DefaultTemplateDAGInstance, KafkaAgent
from dagger.wire import HANDLER_FAILED, REASON, UNMATCHED
from tests.unit.workflows import OrderListener, order_template

PAYMENT = "OrderWorkflow.PAYMENT"


def status(workflow: DefaultTemplateDAGInstance, name: str) -> str:
    return next(task.status.code for task in workflow.tasks.values() if task.task_name == name)


async def start_order(number: str = "A1") -> DefaultTemplateDAGInstance:
    return await order_template().create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, order_number=number
    )


def dead_letter_reasons(engine: Any) -> list[str]:
    return [headers[REASON].decode() for headers in engine.dead_letters.topic.headers]


async def test_a_kafka_agent_hands_its_messages_to_the_engines_listener_path(engine):
    workflow = await start_order()
    agent = KafkaAgent(app=engine, topic=Dagger.topics["PAYMENT_EVENTS"], task=OrderListener(uuid.uuid1()))

    await agent.process_event_helper({"order_number": "A1"})

    assert status(workflow, PAYMENT) == "COMPLETED"
    assert engine.keys_of(workflow.id) == {"A1_SHIPPING_EVENTS"}
    assert dead_letter_reasons(engine) == []


async def test_a_kafka_agent_dead_letters_a_message_no_task_waits_for(engine):
    workflow = await start_order()
    agent = KafkaAgent(app=engine, topic=Dagger.topics["PAYMENT_EVENTS"], task=OrderListener(uuid.uuid1()))

    await agent.process_event_helper({"order_number": "nobody"})

    assert status(workflow, PAYMENT) == "EXECUTING"
    assert dead_letter_reasons(engine) == [UNMATCHED]


class Refuses(OrderListener):
    async def on_message(self, runtime_parameters: dict[str, str], *args: Any, **kwargs: Any) -> bool:
        runtime_parameters["touched"] = "yes"
        raise RuntimeError("cannot take this message")


async def test_a_listener_that_raises_leaves_its_workflow_unsaved_and_the_message_dead_lettered(engine):
    from dagger.modeler.builder_helper import DAGBuilderHelper

    helper = DAGBuilderHelper(engine)
    listener = helper.generic_listener_task_builder(
        topic="REFUSED", task_type=Refuses, process_name="ONE", value_serializer="json"
    )
    process = helper.generic_process_builder(process_name="ONE", root_task=listener.build())
    template = helper.generic_template(template_name="R", root_process=process.build())
    workflow = await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, order_number="A1"
    )
    saves = engine.saves

    await engine.deliver("REFUSED", {"order_number": "A1"})

    assert dead_letter_reasons(engine) == [HANDLER_FAILED]
    assert engine.saves == saves
    assert status(workflow, "R.ONE.ONE_listener_task") == "EXECUTING"


async def test_a_kafka_agent_consumes_a_stream_past_a_message_that_cannot_be_handled(engine, caplog):
    first, second = await start_order("A1"), await start_order("A2")
    agent = KafkaAgent(app=engine, topic=Dagger.topics["PAYMENT_EVENTS"], task=OrderListener(uuid.uuid1()))

    async def stream() -> Any:
        for payload in ({"order_number": "A1"}, object(), {"order_number": "A2"}):
            yield payload

    await agent.process_event(stream())

    assert (status(first, PAYMENT), status(second, PAYMENT)) == ("COMPLETED", "COMPLETED")
    assert any("could not be handled" in record.getMessage() for record in caplog.records)


async def test_decorating_a_kafka_agent_has_the_engine_consume_its_topic(engine):
    topic = engine.create_topic("LATE_EVENTS")

    KafkaAgent(app=engine, topic=topic, task=OrderListener(uuid.uuid1())).decorate(engine.faust_app, concurrency=4)

    assert engine.listeners["LATE_EVENTS"] == (OrderListener, 4)


async def test_the_references_timer_task_fires_the_due_timers_and_never_raises(engine, manual_clock):
    from dagger.tasks.task import SystemTimerTask

    fired: list[str] = []

    async def tick() -> None:
        fired.append("tick")
        raise RuntimeError("the store is unreachable")

    engine._store.execute_system_timer_task = tick
    await SystemTimerTask(uuid.uuid1()).execute({}, None)

    assert fired == ["tick"]
