"""Commands that workflows send: each carries its task's id as an idempotency key."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer

from dagger.wire import IDEMPOTENCY_KEY
from tests.integration.engines import EngineStarter, create_pizzas, tasks_by_name, workflow
from tests.support import bootstrap_servers, wait_for


async def test_commands_carry_the_sending_tasks_id_as_idempotency_key(start_engine: EngineStarter) -> None:
    engine = await start_engine()
    orders = await create_pizzas(engine, 5)
    consumer = AIOKafkaConsumer(
        engine.pizza_topics.orders,  # type: ignore[attr-defined]
        bootstrap_servers=bootstrap_servers(),
        group_id=f"command-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    keys: dict[str, bytes | None] = {}
    try:

        async def read_all() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    keys[record.key.decode()] = dict(record.headers).get(IDEMPOTENCY_KEY)
            return len(keys) >= len(orders)

        await wait_for(read_all, timeout=30, message="every order command")
    finally:
        await consumer.stop()

    for workflow_id, order_id in orders.items():
        command = tasks_by_name(await workflow(engine, workflow_id))["Order_command_task"]
        assert keys[order_id] == str(command.id).encode()
