"""A worker stopped while its workflows wait, replaced by a new engine of the same application."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from typing import Any

import pytest

from dagger.service.services import Dagger
from examples.pizza.shop import PizzaShop
from examples.pizza.workflow import HELPER_TEMPLATE
from tests.integration.engines import EngineStarter, create_pizzas, statuses, tasks_by_name, wait_for_status
from tests.support import bootstrap_servers, wait_for


async def wait_until_waiting(engine: Dagger, ids: list[uuid.UUID]) -> None:
    async def all_waiting() -> bool:
        for workflow_id in ids:
            found = await engine.get_instance(workflow_id, log=False)
            listener = None if found is None else tasks_by_name(found)["Order_listener_task"]
            if listener is None or listener.status.code != "EXECUTING":
                return False
        return True

    await wait_for(all_waiting, timeout=30, message="every workflow to wait for the shop")


@pytest.mark.parametrize("shop_answers", ["after-restart", "while-down"])
@pytest.mark.parametrize("datadir", ["same", "fresh"])
async def test_waiting_workflows_complete_on_a_new_engine(
    start_engine: EngineStarter, datadir: str, shop_answers: str
) -> None:
    first = await start_engine()
    orders = await create_pizzas(first, 10)
    orders.update(await create_pizzas(first, 10, template_name=HELPER_TEMPLATE, repartition=True, prefix="helper"))
    await wait_until_waiting(first, list(orders))
    waiting = {workflow_id: first.get_instance_payload(workflow_id) for workflow_id in orders}
    await start_engine.stop(first)

    setup = first.test_setup  # type: ignore[attr-defined]
    if datadir == "fresh":
        setup = dataclasses.replace(setup, datadir=start_engine.fresh_datadir())
        assert not setup.datadir.exists()
    else:
        assert (setup.datadir / "v1" / "tables" / "kv_table-0.db").is_dir(), "the stopped engine left no tables"

    answered: list[dict[str, Any]] = []
    if shop_answers == "while-down":
        # Every "ready" message is on the topic before the new engine starts: it resumes from its group's offset.
        async with PizzaShop(bootstrap_servers(), setup.topics) as shop:
            await wait_for(lambda: len(shop.orders) >= len(orders), timeout=30, message="the shop to answer all")
        answered = shop.orders
        second = await start_engine(setup)
        await wait_for_status(second, orders, "COMPLETED")
    else:
        second = await start_engine(setup)
        recovered = {workflow_id: second.get_instance_payload(workflow_id) for workflow_id in orders}
        assert recovered == waiting, "the new engine does not hold the workflows as the stopped one left them"
        assert set((await statuses(second, orders)).values()) == {"EXECUTING"}
        async with PizzaShop(bootstrap_servers(), setup.topics) as shop:
            await wait_for_status(second, orders, "COMPLETED")
        answered = shop.orders

    assert Counter(order["order_id"] for order in answered) == Counter(orders.values()), (
        "each order should have been sent once, by the first engine"
    )
    for workflow_id in orders:
        found = await second.get_instance(workflow_id, log=False)
        assert found is not None and found.runtime_parameters["delivered"] == "yes"
