"""A worker stopped while its workflows wait, replaced by a new engine of the same application."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from typing import Any

import pytest

from dagger.service.services import Dagger
from dagger.utils import clock
from dagger.utils.clock import ManualClock
from examples.pizza.shop import PizzaShop
from examples.pizza.workflow import HELPER_TEMPLATE
from tests.integration.engines import (
    EngineStarter,
    create_pizzas,
    index_entries,
    statuses,
    tasks_by_name,
    wait_for_status,
)
from tests.integration.test_engine_stop import TIMED_TEMPLATE, timed_template
from tests.support import bootstrap_servers, wait_for


def register_timed(engine: Dagger) -> None:
    """The timed workflow: one timer due at the runtime parameter ``ring_at``."""
    Dagger.register_template(TIMED_TEMPLATE)(timed_template)


async def wait_until_waiting(engine: Dagger, ids: list[uuid.UUID]) -> None:
    async def all_waiting() -> bool:
        for workflow_id in ids:
            found = await engine.get_instance(workflow_id, log=False)
            listener = None if found is None else tasks_by_name(found)["Order_listener_task"]
            if listener is None or listener.status.code != "EXECUTING":
                return False
        return True

    await wait_for(all_waiting, timeout=30, message="every workflow to wait for the shop")


async def where_they_wait(engine: Dagger, orders: dict[uuid.UUID, str]) -> str:
    """For each workflow not COMPLETED: its listener's status and its correlation index entries on the engine."""
    found = []
    for workflow_id, order_id in orders.items():
        stored = await engine.get_instance(workflow_id, log=False)
        if stored is None or stored.status.code != "COMPLETED":
            listener = None if stored is None else tasks_by_name(stored)["Order_listener_task"].status.code
            found.append(f"{order_id}: listener {listener}, {len(index_entries(engine, order_id))} index entries")
    return "; ".join(found)


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
        try:
            await wait_for_status(second, orders, "COMPLETED")
        except AssertionError as failure:
            raise AssertionError(f"{failure}; {await where_they_wait(second, orders)}") from None
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


@pytest.mark.parametrize("restart_tasks_on_boot", [True, False])
async def test_timers_due_while_down_fire_when_a_worker_takes_over(
    start_engine: EngineStarter, manual_clock: ManualClock, restart_tasks_on_boot: bool
) -> None:
    """With ``restart_tasks_on_boot`` a timer that fell due while no worker ran fires at once, not a tick later."""
    first = await start_engine(register=register_timed)
    template = first.get_template(TIMED_TEMPLATE)
    ids = [uuid.uuid1() for _ in range(5)]
    for workflow_id in ids:
        await template.create_instance(
            workflow_id, "key", repartition=False, submit_task=True, key=str(workflow_id), ring_at=clock.now() + 100
        )
    await wait_for_status(first, ids, "EXECUTING")
    await start_engine.stop(first)

    manual_clock.advance(200)
    second = await start_engine(
        first.test_setup,  # type: ignore[attr-defined]
        register=register_timed,
        trigger_interval=3600,
        restart_tasks_on_boot=restart_tasks_on_boot,
    )
    if restart_tasks_on_boot:
        await wait_for_status(second, ids, "COMPLETED", timeout=30)
    else:
        await asyncio.sleep(3)
        assert set((await statuses(second, ids)).values()) == {"EXECUTING"}, "the timers should wait for a tick"
