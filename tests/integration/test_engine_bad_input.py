"""Bad messages on a listener topic: each is logged with its position, sent to the dead-letter topic with
its reason and source, and harms nothing else. A workflow on the tasks topic the worker cannot decode is
dead-lettered too."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from dagger import codec
from dagger.service.services import Dagger
from dagger.tasks.task import DefaultTemplateDAGInstance, KafkaCommandTask
from examples.pizza.workflow import WaitForReady, pizza_template_by_helper
from tests.integration.engines import (
    EngineStarter,
    create_pizzas,
    dead_letters_from,
    ready,
    reasons,
    statuses,
    wait_for_listeners,
    wait_for_status,
)
from tests.support import wait_for

LOGGER = "dagger.service.services"
FUSSY_TEMPLATE = "FussyPizzaWorkflow"


class FussyWaitForReady(WaitForReady):
    """Waits for the shop like the pizza listener, but its user code raises on a message that says ``burnt``."""

    async def on_message(self, runtime_parameters: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        if json.loads(args[0]).get("burnt"):
            raise RuntimeError("the pizza is burnt")
        return await super().on_message(runtime_parameters, *args, **kwargs)


def register_fussy_template(engine: Dagger) -> None:
    """The pizza workflow on the same topics, waiting with :class:`FussyWaitForReady`."""
    topics = engine.pizza_topics  # type: ignore[attr-defined]

    Dagger.register_template(FUSSY_TEMPLATE)(lambda name: pizza_template_by_helper(name, topics, FussyWaitForReady))


def position(sent: RecordMetadata) -> str:
    """How the engine names a message's position in its log."""
    return f"{sent.topic}[{sent.partition}]@{sent.offset}"


def logged(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER and text in record.getMessage()]


def assert_running(engine: Dagger) -> None:
    """The engine, its faust app and every agent's actor are still running (no consumer loop has ended)."""
    assert engine.started_flag
    assert engine.state == "running" and engine.faust_app.state == "running"
    for agent in engine.faust_app.agents.values():
        actors = list(agent._actors)
        assert actors, f"agent {agent.name} has no actor"
        for actor in actors:
            assert actor.state == "running", f"an actor of {agent.name} is {actor.state}"
            assert actor.actor_task is not None and not actor.actor_task.done(), f"the loop of {agent.name} ended"


OVERSIZE_LIMIT = 4096

BAD_INPUTS = [
    # value (None: a tombstone); the dead-letter reasons expected for it, one per letter. Two listener
    # classes (the pizza one and the fussy one) read the ready topic, so a message both fail on gives two.
    pytest.param(b"\xff\xfe{ not json", ["correlation-failed"] * 2, id="undecodable-bytes"),
    pytest.param(b"[1, 2, 3]", ["correlation-failed"] * 2, id="json-list"),
    pytest.param(b'{"status": "ready"}', ["correlation-failed"] * 2, id="json-without-order-id"),
    pytest.param(b'{"order_id": null, "status": "ready"}', ["no-correlation-value"] * 2, id="null-order-id"),
    pytest.param(b'{"order_id": {"id": 7}, "status": "ready"}', ["no-correlation-value"] * 2, id="structured-order-id"),
    pytest.param(ready("no-such-order"), ["unmatched"], id="unknown-order-id"),
    pytest.param(ready("big", filler="x" * OVERSIZE_LIMIT), ["oversized"], id="oversized"),
    pytest.param(None, ["tombstone"], id="tombstone"),
]


def kept_in_letter(value: bytes | None, sent: Any) -> bytes | None:
    """What a dead letter holds of the value of the message ``sent``: the value, or a marker if it is oversized."""
    if value is None or len(value) <= OVERSIZE_LIMIT:
        return value
    where = {"topic": sent.topic, "partition": str(sent.partition), "offset": str(sent.offset)}
    return json.dumps({"dagger_omitted_value": {"size": len(value), **where}}).encode()


@pytest.mark.parametrize(("value", "expected_reasons"), BAD_INPUTS)
async def test_bad_message_is_dead_lettered(
    start_engine: EngineStarter,
    producer: AIOKafkaProducer,
    caplog: pytest.LogCaptureFixture,
    value: bytes | None,
    expected_reasons: list[str],
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    engine = await start_engine(register=register_fussy_template, max_listener_message_bytes=OVERSIZE_LIMIT)
    ready_topic = engine.pizza_topics.ready  # type: ignore[attr-defined]
    bystanders = await create_pizzas(engine, 3, prefix="bystander")
    bystanders.update(await create_pizzas(engine, 1, template_name=FUSSY_TEMPLATE, prefix="fussy-bystander"))
    await wait_for_listeners(engine, list(bystanders))
    before = {workflow_id: engine.get_instance_payload(workflow_id) for workflow_id in bystanders}

    sent = await producer.send_and_wait(ready_topic, key=b"bad", value=value)
    letters = await dead_letters_from(
        engine.dead_letter_topic.get_topic_name(), ready_topic, sent.partition, sent.offset, len(expected_reasons)
    )
    assert reasons(letters) == expected_reasons
    assert all(letter.key == b"bad" and letter.value == kept_in_letter(value, sent) for letter in letters)
    assert len(logged(caplog, position(sent))) == len(expected_reasons), "each letter is logged with its position"

    # A pizza created after the bad message completes: its ready message is read after the bad one.
    after = await create_pizzas(engine, 1, prefix="after")
    await wait_for_listeners(engine, list(after))
    for order_id in after.values():
        await producer.send_and_wait(ready_topic, key=order_id.encode(), value=ready(order_id))
    await wait_for_status(engine, after, "COMPLETED")
    assert_running(engine)
    assert {workflow_id: engine.get_instance_payload(workflow_id) for workflow_id in bystanders} == before, (
        "a bad message changed a workflow it does not concern"
    )
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR] == []

    for order_id in bystanders.values():
        await producer.send_and_wait(ready_topic, key=order_id.encode(), value=ready(order_id))
    await wait_for_status(engine, bystanders, "COMPLETED")


async def test_listener_code_raising_leaves_its_workflow_unchanged(
    start_engine: EngineStarter, producer: AIOKafkaProducer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    engine = await start_engine(register=register_fussy_template)
    ready_topic = engine.pizza_topics.ready  # type: ignore[attr-defined]
    fussy = await create_pizzas(engine, 1, template_name=FUSSY_TEMPLATE, prefix="fussy")
    bystanders = await create_pizzas(engine, 3, prefix="bystander")
    [(target, target_order)] = fussy.items()
    await wait_for_listeners(engine, [target, *bystanders])
    before = {workflow_id: engine.get_instance_payload(workflow_id) for workflow_id in [target, *bystanders]}

    sent = await producer.send_and_wait(ready_topic, key=target_order.encode(), value=ready(target_order, burnt=True))
    await wait_for(lambda: logged(caplog, position(sent)), timeout=30, message=f"a log line about {position(sent)}")
    [failure] = [record for record in logged(caplog, position(sent)) if record.levelno == logging.ERROR]
    assert str(target) in failure.getMessage()
    assert failure.exc_info is not None and "the pizza is burnt" in str(failure.exc_info[1])
    [letter] = await dead_letters_from(
        engine.dead_letter_topic.get_topic_name(), ready_topic, sent.partition, sent.offset, 1
    )
    assert reasons([letter]) == ["on-message-failed"]
    assert str(target) in dict(letter.headers)["dagger-dead-letter-detail"].decode()
    assert_running(engine)
    assert {workflow_id: engine.get_instance_payload(workflow_id) for workflow_id in [target, *bystanders]} == before

    # The failed message left the listener waiting: the next message for the order completes it.
    await producer.send_and_wait(ready_topic, key=target_order.encode(), value=ready(target_order))
    await wait_for_status(engine, [target], "COMPLETED")
    found = await engine.get_instance(target, log=False)
    assert found is not None and found.runtime_parameters["delivered"] == "yes"
    assert set((await statuses(engine, bystanders)).values()) == {"EXECUTING"}

    after = await create_pizzas(engine, 1, prefix="after")
    await wait_for_listeners(engine, list(after))
    for order_id in [*after.values(), *bystanders.values()]:
        await producer.send_and_wait(ready_topic, key=order_id.encode(), value=ready(order_id))
    await wait_for_status(engine, [*after, *bystanders], "COMPLETED")


async def test_a_workflow_naming_a_task_class_the_worker_lacks_is_dead_lettered(
    start_engine: EngineStarter, producer: AIOKafkaProducer
) -> None:
    """The worker never runs or stores a workflow with a stand-in for a task class it does not have."""
    engine = await start_engine()
    tasks_topic = engine.tasks_topic.get_topic_name()

    async def send(rename_task_class_to: str | None = None) -> tuple[uuid.UUID, RecordMetadata]:
        workflow = DefaultTemplateDAGInstance(uuid.uuid1(), partition_key_lookup="order_id")
        workflow.runtime_parameters["order_id"] = order_id = f"order-{workflow.id}"
        task = KafkaCommandTask(uuid.uuid1(), task_name="pay", topic="payments", parent_id=workflow.id)
        workflow.add_task(task)
        data = codec.to_data(workflow)
        if rename_task_class_to is not None:
            data["tasks"][str(task.id)][codec.METADATA_KEY] = {"ns": rename_task_class_to}
        sent = await producer.send_and_wait(tasks_topic, key=order_id.encode(), value=json.dumps(data).encode())
        return workflow.id, sent

    known, _ = await send()
    unknown, sent = await send(rename_task_class_to="app.tasks.PaymentCommandTask")

    [letter] = await dead_letters_from(
        engine.dead_letter_topic.get_topic_name(), tasks_topic, sent.partition, sent.offset, 1
    )
    assert reasons([letter]) == ["undecodable"]
    detail = dict(letter.headers)["dagger-dead-letter-detail"].decode()
    assert "unknown record type 'app.tasks.PaymentCommandTask'" in detail
    assert engine.get_instance_payload(unknown) is None
    await wait_for(lambda: engine.get_instance_payload(known), timeout=30, message="the workflow of known classes")
    assert_running(engine)
