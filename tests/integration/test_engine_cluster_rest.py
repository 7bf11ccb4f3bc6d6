"""The REST routes of two pizza workers sharing one consumer group on four partitions, on the real broker.

Each workflow lives on one worker; either worker answers for the whole cluster by asking the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from itertools import count

import aiohttp
from aiokafka import AIOKafkaProducer

from dagger.service._cluster import PARTITIONS_HEADER, SCOPE_HEADER
from dagger.service._partitions import partition_for
from examples.pizza.runner import WorkerProcess, send_requests
from examples.pizza.settings import workflow_id
from examples.pizza.shop import PizzaShop
from tests.integration.groups import SETTLE_TIMEOUT, get, local_lists, owned_partitions, pizza_group, statuses_are
from tests.support import wait_for

PARTITIONS = 4
ORDERS_PER_PARTITION = 3
TEST_TIMEOUT = 300.0


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


async def all_completed(session: aiohttp.ClientSession, worker: WorkerProcess, ids: set[str]) -> bool:
    """Whether ``worker``'s cluster list has every workflow of ``ids``, each COMPLETED."""
    reply = await get(session, f"{worker.base_url}/tasks/instances")
    if reply.status != 200:
        return False
    statuses = {item["id"]: item["status"]["code"] for item in json.loads(reply.body)}
    return all(statuses.get(workflow) == "COMPLETED" for workflow in ids)


async def test_two_workers_answer_for_the_whole_cluster(kafka_broker: str) -> None:
    order_ids = orders_on_every_partition()
    ids = {str(workflow_id(order_id)) for order_id in order_ids}
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
        pizza_group(kafka_broker, session, 2, PARTITIONS) as workers,
    ):
        first, second = workers
        settings = first.settings
        async with (
            PizzaShop(settings.bootstrap_servers, settings.topics),
            AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers) as producer,
        ):
            await send_requests(producer, settings.requests_topic, order_ids)
            await wait_for(lambda: all_completed(session, first, ids), SETTLE_TIMEOUT, "every workflow")

        await check_instances_on_both(session, workers, ids)
        await check_lists(session, workers, ids)
        cancelled = await check_cancellations_across_workers(session, workers)
        unanswered = await check_cancellation_while_the_owner_is_silent(session, workers)
        await check_takeover(session, survivor=first, stopped=second, ids=ids | cancelled | {unanswered})


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


async def check_cancellations_across_workers(session: aiohttp.ClientSession, workers: list[WorkerProcess]) -> set[str]:
    """An order waiting on each worker is cancelled by a message the other worker reads: its cancellation agent
    gets the workflow from the owner, which stops it with the agent's parameters and the stop hooks' writes.
    Returns the ids of the cancelled workflows."""
    owned = await owned_partitions(session, workers)
    orders = [
        next(f"waiting-{n}" for n in count() if partition_for(f"waiting-{n}", PARTITIONS) in mine) for mine in owned
    ]
    settings = workers[0].settings
    async with AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers) as producer:
        await send_requests(producer, settings.requests_topic, orders)
        waiting = {order: str(workflow_id(order)) for order in orders}
        await wait_for(
            lambda: statuses_are(session, workers[0], waiting.values(), "EXECUTING"), SETTLE_TIMEOUT, "orders waiting"
        )
        for order, other in zip(orders, reversed(owned), strict=True):
            cancellation = json.dumps({"order_id": order, "reason": f"{order} is not wanted"}).encode()
            await producer.send_and_wait(settings.cancellations_topic, value=cancellation, partition=min(other))
    await wait_for(lambda: statuses_are(session, workers[0], waiting.values(), "STOPPED"), SETTLE_TIMEOUT, "stops")
    for order, workflow in waiting.items():
        reply = await get(session, f"{workers[0].base_url}/tasks/instance/{workflow}")
        parameters = json.loads(reply.body)["runtime_parameters"]
        assert parameters["cancel_reason"] == f"{order} is not wanted", parameters
        assert parameters["stopped_while"] == "waiting for the pizza", parameters
    return set(waiting.values())


async def check_cancellation_while_the_owner_is_silent(
    session: aiohttp.ClientSession, workers: list[WorkerProcess]
) -> str:
    """While the worker holding an order is frozen, the other worker's cancellation agent gets
    ``WorkflowUnavailable`` from ``get_instance`` after its bounded wait, logs why, and goes on; the order
    still waits once the holder is back. Returns the id of the order's workflow."""
    reader, holder = workers
    reader_partitions, holder_partitions = await owned_partitions(session, workers)
    order = next(f"silent-{n}" for n in count() if partition_for(f"silent-{n}", PARTITIONS) in holder_partitions)
    waiting = str(workflow_id(order))
    settings = reader.settings
    async with AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers) as producer:
        await send_requests(producer, settings.requests_topic, [order])
        await wait_for(lambda: statuses_are(session, reader, [waiting], "EXECUTING"), SETTLE_TIMEOUT, "order waiting")
        os.kill(holder.pid, signal.SIGSTOP)
        try:
            cancellation = json.dumps({"order_id": order, "reason": "nobody answers"}).encode()
            await producer.send_and_wait(settings.cancellations_topic, cancellation, partition=min(reader_partitions))
            await wait_for(
                lambda: any(f"Order {order} not cancelled" in line for line in reader.log_lines()),
                SETTLE_TIMEOUT,
                "the cancellation to fail",
            )
        finally:
            os.kill(holder.pid, signal.SIGCONT)
    [failure] = [line for line in reader.log_lines() if f"Order {order} not cancelled" in line]
    assert f"workflow {waiting} is not on this worker and no other answered for it" in failure, failure
    assert holder.base_url in failure, failure
    assert await statuses_are(session, reader, [waiting], "EXECUTING")
    return waiting


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
