"""The REST routes of a running engine, over HTTP on faust's web server."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from dagger.service.services import Dagger
from examples.pizza.shop import PizzaShop
from tests.integration.engines import EngineStarter, create_pizzas, wait_for_status
from tests.support import bootstrap_servers

REFERENCE_KEYS = {
    "allow_skip_to",
    "correlatable_key",
    "id",
    "lastupdated",
    "message",
    "next_dags",
    "parent_id",
    "partition_key_lookup",
    "reprocess_on_message",
    "root_dag",
    "runtime_parameters",
    "sensor_tasks_to_correletable_map",
    "status",
    "task_name",
    "task_type",
    "tasks",
    "template_name",
    "time_completed",
    "time_created",
    "time_submitted",
    "update_count",
}
RECORD_METADATA = "__faust"
"""Every encoded record names its class under this key (as faust's ``to_representation`` does)."""


def base_url(engine: Dagger) -> str:
    conf = engine.faust_app.conf
    return f"http://127.0.0.1:{conf.web_port}"


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str, Any]:
    """GET ``url``: the status, the content type and the decoded JSON body."""
    async with session.get(url) as response:
        assert response.status != 500, f"GET {url} answered 500: {await response.text()}"
        return response.status, response.content_type, await response.json(content_type=None)


def assert_plain_uuid(value: Any, what: str) -> None:
    assert isinstance(value, str), f"{what} is {value!r}, not a plain string"
    assert str(uuid.UUID(value)) == value, f"{what} {value!r} is not a canonical UUID string"


def assert_reference_shape(body: dict[str, Any]) -> None:
    """A workflow as the reference serves it: its top-level keys, UUIDs as strings, status as code and value."""
    assert body.keys() >= REFERENCE_KEYS, f"missing keys {REFERENCE_KEYS - body.keys()}"
    assert body.keys() - REFERENCE_KEYS <= {RECORD_METADATA}, f"unexpected keys {body.keys() - REFERENCE_KEYS}"
    assert_plain_uuid(body["id"], "id")
    assert_plain_uuid(body["root_dag"], "root_dag")
    assert body["parent_id"] is None
    assert body["next_dags"] == []
    assert body["status"]["code"] == body["status"]["value"]
    assert body["status"].keys() - {RECORD_METADATA} == {"code", "value"}
    assert body["tasks"], "the workflow has no tasks"
    for key, task in body["tasks"].items():
        assert_plain_uuid(key, "a key of tasks")
        assert task["id"] == key
        assert_plain_uuid(task["parent_id"], f"parent_id of task {key}")
        for successor in task["next_dags"]:
            assert_plain_uuid(successor, f"a next_dags entry of task {key}")
        assert task["status"].keys() - {RECORD_METADATA} == {"code", "value"}
    for key, correlation in body["sensor_tasks_to_correletable_map"].items():
        assert_plain_uuid(key, "a key of sensor_tasks_to_correletable_map")
        assert correlation["correlatable_key_attr"] == "order_id"


async def test_ready_instances_and_instance(start_engine: EngineStarter) -> None:
    engine = await start_engine(web_enabled=True)
    url = base_url(engine)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        status, content_type, body = await get(session, f"{url}/service/ready")
        assert (status, content_type, body) == (200, "application/json", {"is_ready": True})

        async with PizzaShop(bootstrap_servers(), engine.pizza_topics) as shop:  # type: ignore[attr-defined]
            orders = await create_pizzas(engine, 5)
            await wait_for_status(engine, orders, "COMPLETED")
            assert len(shop.orders) == len(orders)

        status, content_type, listed = await get(session, f"{url}/tasks/instances")
        assert (status, content_type) == (200, "application/json")
        assert isinstance(listed, list)
        by_id = {item["id"]: item for item in listed}
        assert set(by_id) == {str(workflow_id) for workflow_id in orders}
        for workflow_id, order_id in orders.items():
            item = by_id[str(workflow_id)]
            assert_reference_shape(item)
            assert item["status"]["code"] == "COMPLETED"
            assert item["template_name"] == "PizzaWorkflow"
            assert item["partition_key_lookup"] == "order_id"
            assert item["runtime_parameters"] == {
                "order_id": order_id,
                "oven": "wood-fired",
                "delivered": "yes",
            }
            assert sorted(task["status"]["code"] for task in item["tasks"].values()) == ["COMPLETED"] * 5

            status, content_type, single = await get(session, f"{url}/tasks/instance/{workflow_id}")
            assert (status, content_type) == (200, "application/json")
            assert single == item

        status, content_type, memory = await get(session, f"{url}/service/memory")
        assert (status, content_type) == (200, "application/json")
        assert memory["resident_bytes"] > 0
        rocksdb = memory["rocksdb"]
        assert rocksdb["memtables_limit_bytes"] == 32 * 2**20
        assert rocksdb["block_cache_limit_bytes"] == 64 * 2**20
        assert 0 < rocksdb["memtables_bytes"] <= rocksdb["memtables_limit_bytes"]
        assert 0 <= rocksdb["block_cache_bytes"] <= rocksdb["block_cache_limit_bytes"]


async def test_instance_errors_are_json(start_engine: EngineStarter) -> None:
    engine = await start_engine(web_enabled=True)
    url = base_url(engine)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        status, content_type, body = await get(session, f"{url}/tasks/instances")
        assert (status, content_type, body) == (200, "application/json", [])

        for invalid in ("not-a-uuid", "1234", "00000000-0000-0000-0000-00000000000g"):
            status, content_type, body = await get(session, f"{url}/tasks/instance/{invalid}")
            assert (status, content_type) == (400, "application/json"), invalid
            assert body.keys() == {"error", "detail"}, body
            assert all(isinstance(text, str) and text for text in body.values()), body

        unknown = uuid.uuid4()
        status, content_type, body = await get(session, f"{url}/tasks/instance/{unknown}")
        assert (status, content_type) == (404, "application/json")
        assert body.keys() == {"error", "detail"}, body
        assert str(unknown) in body["detail"]
