"""Several fault-suite workers in one consumer group, and the cluster's workflows read over REST."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from typing import Any

import aiohttp
from aiokafka.admin import AIOKafkaAdminClient

from dagger.service._cluster import PARTITIONS_HEADER, parse_partitions
from examples.pizza.runner import WorkerError, WorkerProcess
from reliability.workflow import APPLICATION_ERROR, JobTopics

READY_TIMEOUT = 90.0

QUIET_SECONDS = 8.0
"""How long the group's committed offsets stay put before what the workers read counts as committed (faust
commits every 2.8 s)."""

Workflow = dict[str, Any]
"""A workflow as ``GET /tasks/instances`` gives it."""


class JobWorker(WorkerProcess):
    """``python -m reliability.worker``."""

    module = "reliability.worker"


class Cluster:
    """Workers of one application (``DAGGER_APP_NAME``) on ``partitions`` partitions, started and stopped at will."""

    def __init__(self, broker: str, partitions: int, processing_guarantee: str = "at_least_once") -> None:
        self.broker = broker
        self.partitions = partitions
        self.application_name = f"reliability-{uuid.uuid4().hex[:8]}"
        self.env = {
            "DAGGER_APP_NAME": self.application_name,
            "DAGGER_PARTITIONS": str(partitions),
            "DAGGER_PROCESSING_GUARANTEE": processing_guarantee,
        }
        self.topics = JobTopics.named_after(self.application_name)
        self.dead_letter_topic = f"{self.application_name}-dead-letters"
        self.workers: list[JobWorker] = []

    @property
    def bootstrap_servers(self) -> str:
        """The broker as ``host:port``."""
        return self.broker.split("://", 1)[-1]

    def live(self) -> list[JobWorker]:
        """The workers whose process is running."""
        return [worker for worker in self.workers if worker.running]

    async def add(self, session: aiohttp.ClientSession) -> JobWorker:
        """Start one more worker and wait until it is ready."""
        worker = JobWorker(self.broker, prefix="reliability", env=self.env)
        self.workers.append(worker)
        worker.start()
        await worker.wait_ready(session, READY_TIMEOUT)
        return worker

    async def wait_settled(self, session: aiohttp.ClientSession, timeout: float = READY_TIMEOUT) -> dict[str, Workflow]:
        """Wait until the live workers own every partition exactly once, the same way twice in a row; return
        the workflows by job id as they then listed them, tables recovered."""
        deadline = asyncio.get_running_loop().time() + timeout
        previous: list[frozenset[int]] | None = None
        while asyncio.get_running_loop().time() < deadline:
            answers = await self._ask_live(session)
            owned = [partitions for partitions, _ in answers]
            complete = sorted(p for partitions in owned for p in partitions) == list(range(self.partitions))
            if complete and owned == previous:
                return by_job(workflows for _, workflows in answers)
            previous = owned
            await asyncio.sleep(1.0)
        raise WorkerError(f"the workers did not settle on the partitions within {timeout:.0f} s")

    async def wait_committed(self, quiet: float = QUIET_SECONDS, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the group's committed offsets have not moved for ``quiet`` seconds: what the workers
        read is committed, and a crash now makes them read nothing again."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            previous, since = None, loop.time()
            while loop.time() < deadline:
                offsets = await admin.list_consumer_group_offsets(self.application_name)
                committed = {tp: position.offset for tp, position in offsets.items()}
                if committed != previous:
                    previous, since = committed, loop.time()
                elif loop.time() - since >= quiet:
                    return
                await asyncio.sleep(1.0)
        finally:
            await admin.close()
        raise WorkerError(f"the group's committed offsets kept moving for {timeout:.0f} s")

    async def restart(self, worker: JobWorker, session: aiohttp.ClientSession) -> None:
        """Start a stopped or killed worker again, on the same data dir and port."""
        worker.start()
        await worker.wait_ready(session, READY_TIMEOUT)

    async def workflows(self, session: aiohttp.ClientSession) -> dict[str, Workflow]:
        """The workflows by job id, over every live worker's own workflows; a worker that does not answer
        adds nothing."""
        answers = await self._ask_live(session)
        return by_job(workflows for _, workflows in answers)

    async def memory(self, session: aiohttp.ClientSession) -> tuple[int, int, int]:
        """Over the live workers: their resident memory, what of it their RocksDB caches hold and the caches'
        limits, in bytes (``GET /service/memory``); raises when a worker does not answer."""
        resident = in_caches = limits = 0
        for worker in self.live():
            async with session.get(f"{worker.base_url}/service/memory", timeout=aiohttp.ClientTimeout(10)) as response:
                response.raise_for_status()
                answer = await response.json()
            resident += answer["resident_bytes"]
            rocksdb = answer["rocksdb"]
            in_caches += rocksdb["memtables_bytes"] + rocksdb["block_cache_bytes"]
            limits += rocksdb["memtables_limit_bytes"] + rocksdb["block_cache_limit_bytes"]
        return resident, in_caches, limits

    async def _ask_live(self, session: aiohttp.ClientSession) -> list[tuple[frozenset[int], list[Workflow]]]:
        """What each live worker holds, asked all at once (see :meth:`_ask_local`)."""
        return await asyncio.gather(*(self._ask_local(worker, session) for worker in self.live()))

    async def _ask_local(
        self, worker: JobWorker, session: aiohttp.ClientSession
    ) -> tuple[frozenset[int], list[Workflow]]:
        """What a worker holds (``?scope=local``): its settled partitions and its workflows; nothing if it does
        not answer."""
        try:
            async with session.get(
                f"{worker.base_url}/tasks/instances", params={"scope": "local"}, timeout=aiohttp.ClientTimeout(10)
            ) as response:
                if response.status != 200:
                    return frozenset(), []
                partitions = parse_partitions(response.headers.get(PARTITIONS_HEADER)) or frozenset()
                return partitions, list(json.loads(await response.read()))
        except (aiohttp.ClientError, TimeoutError):
            return frozenset(), []

    def application_errors(self) -> int:
        """How many exceptions the workers' application code raised, from their logs."""
        return sum(APPLICATION_ERROR in line for worker in self.workers for line in worker.log_lines())

    def stop(self, keep_files: bool = False) -> None:
        """Stop every worker; remove their data dirs and logs unless ``keep_files``."""
        for worker in self.workers:
            worker.stop()
            if not keep_files:
                worker.remove_workdir()

    def where_files_are(self) -> str:
        """Each worker's work dir (its log and data)."""
        return ", ".join(f"worker {number}: {worker.workdir}" for number, worker in enumerate(self.workers))


def completed(workflows: dict[str, Workflow], job_ids: Iterable[str]) -> list[str]:
    """The jobs of ``job_ids`` whose workflow has COMPLETED."""
    return [job for job in job_ids if job in workflows and workflows[job]["status"]["code"] == "COMPLETED"]


def by_job(listings: Iterable[list[Workflow]]) -> dict[str, Workflow]:
    """The workflows of several listings by their job id."""
    return {str(workflow["runtime_parameters"].get("job_id")): workflow for listing in listings for workflow in listing}


__all__ = ["Cluster", "JobWorker", "WorkerError", "Workflow", "completed"]
