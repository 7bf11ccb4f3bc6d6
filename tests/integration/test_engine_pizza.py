"""The pizza workflow from creation to COMPLETED on the real broker, by both creation paths."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dagger.service.services import Dagger
from examples.pizza.shop import PizzaShop
from examples.pizza.workflow import BUILDERS_TEMPLATE, HELPER_TEMPLATE, PizzaTopics, register_pizza_templates
from tests.support import bootstrap_servers, broker_url, unique_name, wait_for


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Dagger]:
    topics = PizzaTopics(orders=unique_name("orders"), ready=unique_name("ready"))
    dagger = Dagger(
        broker=broker_url(),
        datadir=str(tmp_path / "data"),
        application_name=unique_name("pizza"),
        tasks_topic=unique_name("tasks"),
        bootstrap_topic=unique_name("bootstrap"),
        web_enabled=False,
        broker_session_timeout=6,
        broker_heartbeat_interval=1,
    )
    dagger.pizza_topics = topics  # type: ignore[attr-defined]
    register_pizza_templates(topics)
    await dagger.start()
    await wait_for(lambda: dagger.owned_partitions(), timeout=60, message="partition assignment")
    yield dagger
    await dagger.stop()


async def completed(engine: Dagger, ids: list[uuid.UUID]) -> int:
    done = 0
    for workflow_id in ids:
        workflow = await engine.get_instance(workflow_id, log=False)
        done += workflow is not None and workflow.status.code == "COMPLETED"
    return done


@pytest.mark.parametrize("template_name", [BUILDERS_TEMPLATE, HELPER_TEMPLATE])
@pytest.mark.parametrize("repartition", [False, True])
async def test_pizza_workflows_complete(engine: Dagger, template_name: str, repartition: bool) -> None:
    template = engine.get_template(template_name)
    ids = [uuid.uuid1() for _ in range(50)]
    async with PizzaShop(bootstrap_servers(), engine.pizza_topics) as shop:  # type: ignore[attr-defined]
        for number, workflow_id in enumerate(ids):
            await template.create_instance(
                workflow_id,
                "order_id",
                repartition=repartition,
                submit_task=True,
                order_id=f"order-{number}-{workflow_id}",
            )

        async def all_completed() -> bool:
            return await completed(engine, ids) == len(ids)

        await wait_for(all_completed, timeout=60, message="every workflow to complete")
        assert len(shop.orders) == len(ids)
