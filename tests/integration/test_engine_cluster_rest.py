"""The REST routes of two pizza workers sharing one consumer group on four partitions, on the real broker.

Each workflow lives on one worker; either worker answers for the whole cluster by asking the other.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiokafka import AIOKafkaProducer

from dagger.service._cluster import PARTITIONS_HEADER, SCOPE_HEADER, Coverage, parse_partitions
from dagger.service._partitions import partition_for
from examples.pizza.runner import WorkerProcess, send_requests
from examples.pizza.settings import WorkerSettings, workflow_id
from examples.pizza.shop import PizzaShop
from tests.support import wait_for

PARTITIONS = 4
ORDERS_PER_PARTITION = 3
READY_TIMEOUT = 90.0
SETTLE_TIMEOUT = 90.0
TEST_TIMEOUT = 300.0


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: its status, its headers and its body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def partitions(self) -> frozenset[int] | None:
        """The partitions the answer says it covers."""
        return parse_partitions(self.headers.get(PARTITIONS_HEADER))

    def ids(self) -> set[str]:
        """The workflow ids of a list answer."""
        return {item["id"] for item in json.loads(self.body)}


async def get(session: aiohttp.ClientSession, url: str) -> Reply:
    """GET ``url``; never a 500, and every error is a JSON ``{"error", "detail"}`` body."""
    async with session.get(url) as response:
        reply = Reply(response.status, dict(response.headers), await response.read())
    assert reply.status != 500, f"GET {url} answered 500: {reply.body!r}"
    if reply.status >= 400:
        assert json.loads(reply.body).keys() == {"error", "detail"}, reply.body
    return reply


def worker_in_group(broker: str, env: Mapping[str, str]) -> WorkerProcess:
    """A pizza worker with ``env`` added to its environment (its group name, its partition count)."""
    worker = WorkerProcess(broker, prefix="cluster-rest")
    worker.env.update(env)
    worker.settings = WorkerSettings.from_env(worker.env)
    return worker


def orders_on_every_partition() -> list[str]:
    """Order ids whose workflows fill every partition with :data:`ORDERS_PER_PARTITION` workflows."""
    per_partition: dict[int, list[str]] = {partition: [] for partition in range(PARTITIONS)}
    number = 0
    while any(len(orders) < ORDERS_PER_PARTITION for orders in per_partition.values()):
        order_id = f"order-{number}"
        orders = per_partition[partition_for(order_id, PARTITIONS)]
        if len(orders) < ORDERS_PER_PARTITION:
            orders.append(order_id)
        number += 1
    return [order_id for orders in per_partition.values() for order_id in orders]


async def local_lists(session: aiohttp.ClientSession, workers: list[WorkerProcess]) -> list[Reply]:
    """Each worker's ``?scope=local`` list."""
    return [await get(session, f"{worker.base_url}/tasks/instances?scope=local") for worker in workers]


async def split_between(session: aiohttp.ClientSession, workers: list[WorkerProcess]) -> bool:
    """Whether every worker has settled on some partitions, together all of them, each once."""
    covered = [reply.partitions or frozenset() for reply in await local_lists(session, workers)]
    return all(covered) and Coverage.of(covered, PARTITIONS).complete


async def all_completed(session: aiohttp.ClientSession, worker: WorkerProcess, ids: set[str]) -> bool:
    """Whether ``worker``'s cluster list has every workflow of ``ids``, each COMPLETED."""
    reply = await get(session, f"{worker.base_url}/tasks/instances")
    if reply.status != 200:
        return False
    statuses = {item["id"]: item["status"]["code"] for item in json.loads(reply.body)}
    return all(statuses.get(workflow) == "COMPLETED" for workflow in ids)


async def test_two_workers_answer_for_the_whole_cluster(kafka_broker: str) -> None:
    first = worker_in_group(kafka_broker, {"DAGGER_PARTITIONS": str(PARTITIONS)})
    second = worker_in_group(
        kafka_broker, {"DAGGER_PARTITIONS": str(PARTITIONS), "DAGGER_APP_NAME": first.env["DAGGER_APP_NAME"]}
    )
    workers = [first, second]
    settings = first.settings
    assert second.settings.requests_topic == settings.requests_topic
    order_ids = orders_on_every_partition()
    ids = {str(workflow_id(order_id)) for order_id in order_ids}
    try:
        async with (
            asyncio.timeout(TEST_TIMEOUT),
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
        ):
            for worker in workers:
                worker.start()
                await worker.wait_ready(session, READY_TIMEOUT)
            await wait_for(lambda: split_between(session, workers), SETTLE_TIMEOUT, "the partitions to be split")

            async with PizzaShop(settings.bootstrap_servers, settings.topics):
                producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
                await producer.start()
                try:
                    await send_requests(producer, settings.requests_topic, order_ids)
                finally:
                    await producer.stop()
                await wait_for(lambda: all_completed(session, first, ids), SETTLE_TIMEOUT, "every workflow")

            await check_instances_on_both(session, workers, ids)
            await check_lists(session, workers, ids)
            await check_takeover(session, survivor=first, stopped=second, ids=ids)
    finally:
        for worker in workers:
            worker.stop()
            print(f"--- log of {worker.base_url}\n{worker.log_tail()}")
            worker.remove_workdir()


async def check_instances_on_both(session: aiohttp.ClientSession, workers: list[WorkerProcess], ids: set[str]) -> None:
    """Every workflow from either worker with the same bytes; an unknown id is 404 on both."""
    for workflow in sorted(ids):
        replies = [await get(session, f"{worker.base_url}/tasks/instance/{workflow}") for worker in workers]
        assert [reply.status for reply in replies] == [200, 200], workflow
        assert replies[0].body == replies[1].body, workflow
        assert json.loads(replies[0].body)["id"] == workflow
    unknown = uuid.uuid4()
    for worker in workers:
        reply = await get(session, f"{worker.base_url}/tasks/instance/{unknown}")
        assert reply.status == 404, reply.body
        assert str(unknown) in json.loads(reply.body)["detail"]


async def check_lists(session: aiohttp.ClientSession, workers: list[WorkerProcess], ids: set[str]) -> None:
    """The local lists split the workflows by partition; the cluster list of either worker has them all."""
    local = await local_lists(session, workers)
    held = [reply.ids() for reply in local]
    assert all(reply.status == 200 and reply.headers[SCOPE_HEADER] == "local" for reply in local)
    assert held[0] < ids and held[1] < ids
    assert held[0].isdisjoint(held[1])
    assert held[0] | held[1] == ids
    assert local[0].partitions is not None and local[1].partitions is not None
    assert local[0].partitions.isdisjoint(local[1].partitions)
    assert local[0].partitions | local[1].partitions == set(range(PARTITIONS))
    for reply in local:
        for item in json.loads(reply.body):
            assert partition_for(item["runtime_parameters"]["order_id"], PARTITIONS) in (reply.partitions or ())
    for worker in workers:
        reply = await get(session, f"{worker.base_url}/tasks/instances")
        assert reply.status == 200, reply.body
        assert reply.headers[SCOPE_HEADER] == "cluster"
        assert reply.headers[PARTITIONS_HEADER] == "0,1,2,3"
        assert reply.ids() == ids
        assert len(json.loads(reply.body)) == len(ids)


async def check_takeover(
    session: aiohttp.ClientSession, *, survivor: WorkerProcess, stopped: WorkerProcess, ids: set[str]
) -> None:
    """While ``stopped`` stops and ``survivor`` takes over, answers are 200 or 503; at the end, 200 with all."""
    statuses: list[int] = []
    stopping = asyncio.ensure_future(asyncio.to_thread(stopped.stop))
    some = sorted(ids)[:4]

    async def taken_over() -> bool:
        for workflow in some:
            reply = await get(session, f"{survivor.base_url}/tasks/instance/{workflow}")
            statuses.append(reply.status)
            assert reply.status in (200, 503), reply.body
        reply = await get(session, f"{survivor.base_url}/tasks/instances")
        statuses.append(reply.status)
        assert reply.status in (200, 503), reply.body
        return stopping.done() and reply.status == 200 and reply.ids() == ids

    await wait_for(taken_over, SETTLE_TIMEOUT, lambda: f"the survivor to take over (statuses {statuses})")
    assert stopping.result() == 0
    reply = await get(session, f"{survivor.base_url}/tasks/instances?scope=local")
    assert reply.partitions == set(range(PARTITIONS))
    assert reply.ids() == ids
