"""Listener messages at the engine's size limit, read by one worker for a workflow another worker holds.

Two pizza workers share four partitions and take listener messages of up to the default
``max_listener_message_bytes`` (1 MiB). Each "ready" message is written to a partition of the worker
that does not hold its workflow, so it travels every hop: forwarded on the correlation topic, then
handled by the workflow's owner. A message of the limit and one byte less complete their workflows;
one byte more is dead-lettered, with a marker in place of its value. An engine whose own topic was
created too small for the limit refuses to start.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer

from dagger.service._partitions import partition_for
from dagger.wire import REASON
from examples.pizza.runner import send_requests
from examples.pizza.settings import workflow_id
from tests.integration.engines import EngineStarter, dead_letters_from
from tests.integration.groups import SETTLE_TIMEOUT, owned_partitions, pizza_group, status_of, statuses_are
from tests.support import create_topics, wait_for

PARTITIONS = 4
LIMIT = 1_048_576
"""The pizza workers' ``max_listener_message_bytes``: the engine's default."""
TEST_TIMEOUT = 300.0


def ready_message(order_id: str, size: int) -> bytes:
    """The shop's JSON "ready" message for ``order_id``, padded to exactly ``size`` bytes."""
    empty = json.dumps({"order_id": order_id, "status": "ready", "padding": ""}).encode()
    message = json.dumps({"order_id": order_id, "status": "ready", "padding": "p" * (size - len(empty))}).encode()
    assert len(message) == size
    return message


async def test_messages_at_the_limit_travel_every_hop_and_larger_ones_are_dead_lettered(kafka_broker: str) -> None:
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
        pizza_group(kafka_broker, session, 2, PARTITIONS) as workers,
    ):
        settings, asked = workers[0].settings, workers[0]
        holder, reader = await owned_partitions(session, workers)
        orders = [f"large-{n}" for n in range(100) if partition_for(f"large-{n}", PARTITIONS) in holder][:3]
        workflows = {order_id: str(workflow_id(order_id)) for order_id in orders}
        sizes = dict(zip(orders, (LIMIT - 1, LIMIT, LIMIT + 1), strict=True))
        async with AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, max_request_size=2 * LIMIT
        ) as producer:
            await send_requests(producer, settings.requests_topic, orders)
            await wait_for(
                lambda: statuses_are(session, asked, workflows.values(), "EXECUTING"), SETTLE_TIMEOUT, "orders waiting"
            )
            sent = {
                order_id: await producer.send_and_wait(
                    settings.topics.ready, ready_message(order_id, size), key=order_id.encode(), partition=min(reader)
                )
                for order_id, size in sizes.items()
            }

        fitting = [workflows[order_id] for order_id, size in sizes.items() if size <= LIMIT]
        await wait_for(lambda: statuses_are(session, asked, fitting, "COMPLETED"), SETTLE_TIMEOUT, "large replies")
        oversized = orders[-1]
        [letter] = await dead_letters_from(
            f"{settings.application_name}-dead-letters",
            settings.topics.ready,
            sent[oversized].partition,
            sent[oversized].offset,
            1,
        )
        assert dict(letter.headers)[REASON] == b"oversized"
        assert json.loads(letter.value) == {
            "dagger_omitted_value": {
                "size": LIMIT + 1,
                "topic": settings.topics.ready,
                "partition": str(sent[oversized].partition),
                "offset": str(sent[oversized].offset),
            }
        }
        assert await status_of(session, asked, workflows[oversized]) == "EXECUTING"


async def test_an_engine_topic_created_too_small_is_refused_at_start_up(start_engine: EngineStarter) -> None:
    setup = start_engine.new_setup()
    correlation = f"{setup.application_name}-correlation"
    await create_topics([correlation], **{"max.message.bytes": "100000"})
    with pytest.raises(ValueError, match=f"{correlation} \\(100000\\)"):
        await start_engine(setup)
