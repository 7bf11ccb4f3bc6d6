"""The pizza workflow from creation to COMPLETED on the real broker, by both creation paths."""

from __future__ import annotations

import pytest

from examples.pizza.shop import PizzaShop
from examples.pizza.workflow import BUILDERS_TEMPLATE, HELPER_TEMPLATE
from tests.integration.engines import EngineStarter, create_pizzas, wait_for_status
from tests.support import bootstrap_servers


@pytest.mark.parametrize("template_name", [BUILDERS_TEMPLATE, HELPER_TEMPLATE])
@pytest.mark.parametrize("repartition", [False, True])
async def test_pizza_workflows_complete(start_engine: EngineStarter, template_name: str, repartition: bool) -> None:
    engine = await start_engine()
    async with PizzaShop(bootstrap_servers(), engine.pizza_topics) as shop:  # type: ignore[attr-defined]
        orders = await create_pizzas(engine, 200, template_name=template_name, repartition=repartition)
        await wait_for_status(engine, orders, "COMPLETED")
        assert sorted(order["order_id"] for order in shop.orders) == sorted(orders.values())


async def test_pizza_workflows_complete_exactly_once(start_engine: EngineStarter) -> None:
    engine = await start_engine(processing_guarantee="exactly_once")
    async with PizzaShop(bootstrap_servers(), engine.pizza_topics) as shop:  # type: ignore[attr-defined]
        orders = await create_pizzas(engine, 200, template_name=HELPER_TEMPLATE, repartition=True)
        await wait_for_status(engine, orders, "COMPLETED")
        assert sorted(order["order_id"] for order in shop.orders) == sorted(orders.values())
