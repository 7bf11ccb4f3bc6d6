"""Creating and submitting a workflow again, as a request delivered twice does, on one worker.

The application creates each workflow the documented way, ``create_instance`` then ``submit``, with an id
derived from its request, and does nothing to recognise a request it has seen before. ``reliability``'s
scenarios do the same with three workers and a worker killed mid-run.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from dagger.exceptions.exceptions import TaskInvalidState
from dagger.service.services import Dagger
from examples.pizza.settings import workflow_id
from examples.pizza.workflow import BUILDERS_TEMPLATE
from tests.integration.engines import (
    EngineStarter,
    create_pizzas,
    ready,
    wait_for_listeners,
    wait_for_status,
    workflow,
)
from tests.support import bootstrap_servers

REPEATED = "the repeated creation changes nothing"


async def create_then_submit(engine: Dagger, order_id: str, repartition: bool) -> uuid.UUID:
    """The application's code for one order request: create the workflow, then submit it."""
    template = engine.get_template(BUILDERS_TEMPLATE)
    created = await template.create_instance(
        workflow_id(order_id), "order_id", repartition=repartition, order_id=order_id
    )
    await engine.submit(created, repartition=repartition)
    return created.id


async def say_ready(engine: Dagger, order_id: str) -> None:
    """Tell the engine, as the pizza shop would, that the pizza of ``order_id`` is ready."""
    async with AIOKafkaProducer(bootstrap_servers=bootstrap_servers()) as producer:
        await producer.send_and_wait(engine.pizza_topics.ready, key=order_id.encode(), value=ready(order_id))  # type: ignore[attr-defined]


async def orders_sent(engine: Dagger) -> Counter[str]:
    """How many order commands the engine sent for each order id, read from the orders topic."""
    topic = engine.pizza_topics.orders  # type: ignore[attr-defined]
    sent: Counter[str] = Counter()
    async with AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers(), auto_offset_reset="earliest", group_id=None
    ) as consumer:
        for records in (await consumer.getmany(timeout_ms=2000)).values():
            sent.update(json.loads(record.value or b"{}")["order_id"] for record in records)
    return sent


@pytest.mark.parametrize("repartition", [False, True])
async def test_a_repeated_create_and_submit_changes_nothing(
    start_engine: EngineStarter, repartition: bool, caplog: pytest.LogCaptureFixture
) -> None:
    engine = await start_engine()
    done, waiting, stopped = (f"{name}-{uuid.uuid4().hex[:8]}" for name in ("done", "waiting", "stopped"))
    ids = {order: await create_then_submit(engine, order, repartition) for order in (done, waiting, stopped)}
    await wait_for_listeners(engine, ids.values())
    await (await workflow(engine, ids[stopped])).stop()
    await say_ready(engine, done)
    await wait_for_status(engine, [ids[done]], "COMPLETED")
    before = {order: engine.get_instance_payload(ids[order]) for order in ids}

    caplog.set_level(logging.INFO, logger="dagger.service.services")
    for order in ids:
        assert await create_then_submit(engine, order, repartition) == ids[order]
    # A workflow created afterwards on the same partitions is handled after the repeated ones.
    marker = await create_pizzas(engine, 1, repartition=repartition, prefix="marker")
    await wait_for_status(engine, marker, "EXECUTING")

    assert {order: engine.get_instance_payload(ids[order]) for order in ids} == before
    logged = Counter(
        record.args[0]  # type: ignore[index]
        for record in caplog.records
        if REPEATED in record.getMessage() and record.levelno == logging.INFO
    )
    assert logged == Counter(ids.values()), "each repeated creation is logged once at INFO"
    sent = await orders_sent(engine)
    assert {order: sent[order] for order in ids} == {done: 1, waiting: 1, stopped: 1}, "an order was sent again"


async def test_submitting_a_completed_workflow_obtained_otherwise_raises(start_engine: EngineStarter) -> None:
    engine = await start_engine()
    order = f"done-{uuid.uuid4().hex[:8]}"
    workflow_of_order = await create_then_submit(engine, order, repartition=False)
    await wait_for_listeners(engine, [workflow_of_order])
    await say_ready(engine, order)
    await wait_for_status(engine, [workflow_of_order], "COMPLETED")

    completed = await workflow(engine, workflow_of_order)
    with pytest.raises(TaskInvalidState):
        await engine.submit(completed)
