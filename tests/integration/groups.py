"""Pizza worker processes sharing one consumer group, and what their REST routes answer.

``pizza_group(broker, count, partitions)`` starts ``count`` workers of one application on ``partitions``
partitions, waits until they have split the partitions between them, and stops them (showing each
one's log) when the block ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from dagger.service._cluster import PARTITIONS_HEADER, Coverage, parse_partitions
from examples.pizza.runner import WorkerProcess
from examples.pizza.settings import WorkerSettings
from tests.support import wait_for

READY_TIMEOUT = 90.0
SETTLE_TIMEOUT = 90.0


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
    worker = WorkerProcess(broker, prefix="pizza-group")
    worker.env.update(env)
    worker.settings = WorkerSettings.from_env(worker.env)
    return worker


async def status_of(session: aiohttp.ClientSession, worker: WorkerProcess, workflow: str) -> str | None:
    """The status of ``workflow`` as ``worker`` answers for the cluster; None when it gives none."""
    reply = await get(session, f"{worker.base_url}/tasks/instance/{workflow}")
    return json.loads(reply.body)["status"]["code"] if reply.status == 200 else None


async def statuses_are(
    session: aiohttp.ClientSession, worker: WorkerProcess, workflows: Iterable[str], status: str
) -> bool:
    """Whether every workflow of ``workflows`` is ``status``, as ``worker`` answers for the cluster."""
    return all([await status_of(session, worker, workflow) == status for workflow in workflows])


async def local_lists(session: aiohttp.ClientSession, workers: list[WorkerProcess]) -> list[Reply]:
    """Each worker's ``?scope=local`` list."""
    return [await get(session, f"{worker.base_url}/tasks/instances?scope=local") for worker in workers]


async def owned_partitions(session: aiohttp.ClientSession, workers: list[WorkerProcess]) -> list[frozenset[int]]:
    """The partitions each worker says its local list covers."""
    return [reply.partitions or frozenset() for reply in await local_lists(session, workers)]


async def split_between(session: aiohttp.ClientSession, workers: list[WorkerProcess], partitions: int) -> bool:
    """Whether every worker has settled on some partitions, together all of them, each once."""
    covered = await owned_partitions(session, workers)
    return all(covered) and Coverage.of(covered, partitions).complete


@asynccontextmanager
async def pizza_group(
    broker: str, session: aiohttp.ClientSession, count: int, partitions: int
) -> AsyncIterator[list[WorkerProcess]]:
    """Start ``count`` pizza workers of one application on ``partitions`` partitions, one after the other, and
    wait until they have split the partitions; stop them all when the block ends."""
    first = worker_in_group(broker, {"DAGGER_PARTITIONS": str(partitions)})
    workers = [first] + [
        worker_in_group(broker, {"DAGGER_PARTITIONS": str(partitions), "DAGGER_APP_NAME": first.env["DAGGER_APP_NAME"]})
        for _ in range(count - 1)
    ]
    try:
        for worker in workers:
            worker.start()
            await worker.wait_ready(session, READY_TIMEOUT)
        await wait_for(
            lambda: split_between(session, workers, partitions), SETTLE_TIMEOUT, "the partitions to be split"
        )
        yield workers
    finally:
        for worker in workers:
            worker.stop()
            print(f"--- log of {worker.base_url}\n{worker.log_tail()}")
            worker.remove_workdir()
