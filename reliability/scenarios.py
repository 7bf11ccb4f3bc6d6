"""The fault-suite scenarios: each drives a cluster through a fault while jobs run, and counts the outcome."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer

from examples.pizza.runner import ROOT, send_messages
from reliability.cluster import Cluster, Workflow, completed
from reliability.poison import Poison, Position, dead_letter_reasons, inject, poisons
from reliability.responder import HOSTAGE_PREFIX, Responder

POLL_SECONDS = 1.0
FAULT_POLL_SECONDS = 0.2
"""How often progress is read while a fault is still to come, so that it strikes near its mark."""
WORKERS = 3
HELD_BACK = 0.1
"""The share of a batch with faults whose first command the responder holds until every fault has fired, so
that work is in flight whenever a fault strikes."""
PARTITIONS = 6

Fault = Callable[[Cluster, aiohttp.ClientSession], Awaitable[str]]
"""Something done to the cluster mid-run; it returns what it did, for the report."""


@dataclass
class Outcome:
    """What one scenario counted."""

    scenario: str
    workflows: int
    completed: int = 0
    commands: int = 0
    duplicated: int = 0
    run_twice: int = 0
    application_errors: int = 0
    seconds: float = 0.0
    events: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    peak_rss_mib: float = 0.0
    exactly_once: bool = False

    @property
    def lost(self) -> int:
        """Workflows that did not complete."""
        return self.workflows - self.completed

    @property
    def ok(self) -> bool:
        """Whether every workflow completed, none ran twice, the application code raised nothing, no other check
        failed and, exactly-once, no command came twice."""
        return (
            self.lost == 0
            and not self.run_twice
            and not self.application_errors
            and not self.problems
            and not (self.exactly_once and self.duplicated)
        )

    def summary(self) -> str:
        """One line of counts."""
        verdict = "PASS" if self.ok else "FAIL"
        guarantee = " (exactly-once)" if self.exactly_once else ""
        return (
            f"{verdict} {self.scenario}{guarantee}: {self.workflows} workflows, "
            f"{self.completed} completed, {self.lost} lost, "
            f"{self.commands} commands received, {self.duplicated} sent twice, {self.run_twice} run twice, "
            f"{self.application_errors} application errors, {self.seconds:.1f} s, "
            f"peak worker RSS {self.peak_rss_mib:.0f} MiB"
        )


class Run:
    """Batches of jobs through a cluster, answered by one responder, with faults fired when given shares of a
    batch have completed. Use it as an ``async with`` block: the responder serves inside it."""

    def __init__(self, cluster: Cluster, session: aiohttp.ClientSession, outcome: Outcome, timeout: float) -> None:
        self.cluster = cluster
        self.session = session
        self.outcome = outcome
        self.timeout = timeout
        self.responder = Responder(cluster.bootstrap_servers, cluster.topics)
        self.released: set[str] = set()
        self.requests: dict[str, bytes] = {}

    async def __aenter__(self) -> Run:
        await self.responder.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.responder.__aexit__(*exc_info)
        self.outcome.commands = self.responder.commands
        self.outcome.duplicated = self.responder.duplicated
        self.outcome.run_twice = self.responder.run_twice

    async def jobs(self, count: int, faults: list[tuple[float, Fault]] = []) -> dict[str, Workflow]:  # noqa: B006
        """Send ``count`` job requests, unkeyed, and wait until all complete or the time is up; return the
        workflows last seen."""
        held_back = int(count * HELD_BACK) if faults else 0
        prefixes = [HOSTAGE_PREFIX] * held_back + ["job-"] * (count - held_back)
        job_ids = [f"{prefix}{uuid.uuid4().hex[:12]}" for prefix in prefixes]
        await self.request(job_ids)
        return await self.complete(job_ids, faults)

    async def request(self, job_ids: list[str]) -> None:
        """Send one job request per id, unkeyed, each with a ticket of its own."""
        self.requests.update({job: json.dumps({"job_id": job, "ticket": uuid.uuid4().hex}).encode() for job in job_ids})
        await self.resend(job_ids)

    async def resend(self, job_ids: list[str]) -> None:
        """Send the requests of ``job_ids`` (again), unkeyed, as they were sent first."""
        async with AIOKafkaProducer(bootstrap_servers=self.cluster.bootstrap_servers, linger_ms=5) as producer:
            await send_messages(producer, self.cluster.topics.requests, ((None, self.requests[job]) for job in job_ids))

    async def complete(self, job_ids: list[str], faults: list[tuple[float, Fault]] = []) -> dict[str, Workflow]:  # noqa: B006
        """Wait until the jobs complete, firing the faults on the way; count them; return the workflows last seen."""
        workflows = await self._wait(job_ids, sorted(faults, key=lambda fault: fault[0]))
        self.outcome.workflows += len(job_ids)
        self.outcome.completed += len(completed(workflows, job_ids))
        return workflows

    async def hostage(self) -> str:
        """Start a job the responder does not answer until released; return its id once its command is held."""
        job = f"{HOSTAGE_PREFIX}{uuid.uuid4().hex[:12]}"
        await self.request([job])
        deadline = time.monotonic() + self.timeout
        while job not in self.responder.held:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the command of {job} did not come")
            await asyncio.sleep(POLL_SECONDS)
        return job

    async def _wait(self, job_ids: list[str], faults: list[tuple[float, Fault]]) -> dict[str, Workflow]:
        deadline = time.monotonic() + self.timeout
        workflows: dict[str, Workflow] = {}
        while time.monotonic() < deadline:
            workflows = await self.cluster.workflows(self.session)
            self.sample_memory()
            done = len(completed(workflows, job_ids))
            while faults and done >= faults[0][0] * len(job_ids):
                _, fault = faults.pop(0)
                self.outcome.events.append(
                    f"at {done}/{len(job_ids)} completed: {await fault(self.cluster, self.session)}"
                )
            if not faults:
                await self.release(job_ids)
                if done == len(job_ids):
                    return workflows
            await asyncio.sleep(FAULT_POLL_SECONDS if faults else POLL_SECONDS)
        pending = [job for job in job_ids if job not in completed(workflows, job_ids)]
        self.outcome.problems.append(f"timed out after {self.timeout:.0f} s; {len(pending)} not completed:")
        self.outcome.problems.extend(f"  {job}: {where_it_waits(workflows.get(job))}" for job in pending[:10])
        return workflows

    async def release(self, job_ids: list[str]) -> None:
        """Answer the held commands of the hostages among ``job_ids``, once each."""
        for job in job_ids:
            if job in self.responder.held and job not in self.released:
                self.released.add(job)
                await self.responder.release(job)

    def sample_memory(self) -> None:
        """Record the largest resident memory of a live worker."""
        for worker in self.cluster.live():
            try:
                rss = worker.rss_bytes() / 2**20
            except OSError:
                continue
            self.outcome.peak_rss_mib = max(self.outcome.peak_rss_mib, rss)


def where_it_waits(workflow: Workflow | None) -> str:
    """The unfinished tasks of a workflow, for the report."""
    if workflow is None:
        return "no worker holds it"
    waiting = {
        task.get("task_name", task_id).rsplit(".", 1)[-1]: task["status"]["code"]
        for task_id, task in workflow["tasks"].items()
        if task["status"]["code"] not in ("COMPLETED", "SKIPPED")
    }
    return (
        f"workflow {workflow['id']} is {workflow['status']['code']}, update {workflow['update_count']}; tasks {waiting}"
    )


def differences(before: object, after: object, path: str = "") -> list[str]:
    """Where two decoded JSON documents differ, as ``path: before -> after``."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after))
        return [line for key in keys for line in differences(before.get(key), after.get(key), f"{path}.{key}")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        pairs = enumerate(zip(before, after, strict=True))
        return [line for i, (old, new) in pairs for line in differences(old, new, f"{path}[{i}]")]
    return [] if before == after else [f"{path or '.'}: {before!r} -> {after!r}"]


def kill_worker(index: int, restart_after: float | None = None, lose_disk: bool = False) -> Fault:
    """SIGKILL worker ``index``; optionally delete its data dir; optionally start it again after a pause."""

    async def fault(cluster: Cluster, session: aiohttp.ClientSession) -> str:
        worker = cluster.workers[index]
        worker.kill()
        done = f"SIGKILL worker {index}"
        if lose_disk:
            worker.remove_data()
            done += ", data dir deleted"
        if restart_after is not None:
            await asyncio.sleep(restart_after)
            await cluster.restart(worker, session)
            done += f", restarted after {restart_after:.0f} s"
        return done

    return fault


async def add_worker(cluster: Cluster, session: aiohttp.ClientSession) -> str:
    """Start one more worker."""
    await cluster.add(session)
    return f"worker {len(cluster.workers) - 1} added"


async def restart_broker(cluster: Cluster, session: aiohttp.ClientSession) -> str:
    """Restart the local broker (``scripts/kafka.sh restart``) on its data."""
    began = time.monotonic()
    script = await asyncio.create_subprocess_exec(str(Path(ROOT) / "scripts" / "kafka.sh"), "restart")
    if await script.wait() != 0:
        raise RuntimeError("scripts/kafka.sh restart failed")
    return f"broker restarted ({time.monotonic() - began:.1f} s down)"


Scenario = Callable[[Cluster, aiohttp.ClientSession, int, Outcome, float], Awaitable[None]]


async def scale_out(
    cluster: Cluster, session: aiohttp.ClientSession, count: int, outcome: Outcome, timeout: float
) -> None:
    """3 workers on 6 partitions; answers on a randomly keyed and on an unkeyed topic."""
    await start_workers(cluster, session, WORKERS)
    async with Run(cluster, session, outcome, timeout) as run:
        await run.jobs(count)


async def sigkill(
    cluster: Cluster, session: aiohttp.ClientSession, count: int, outcome: Outcome, timeout: float
) -> None:
    """SIGKILL a worker once 30% of the jobs completed; start it again 3 s later."""
    await start_workers(cluster, session, WORKERS)
    async with Run(cluster, session, outcome, timeout) as run:
        await run.jobs(count, [(0.3, kill_worker(1, restart_after=3))])


async def membership(
    cluster: Cluster, session: aiohttp.ClientSession, count: int, outcome: Outcome, timeout: float
) -> None:
    """2 workers; a third joins at 20%; at 50% the first is killed and its disk is lost for good."""
    await start_workers(cluster, session, 2)
    async with Run(cluster, session, outcome, timeout) as run:
        await run.jobs(count, [(0.2, add_worker), (0.5, kill_worker(0, lose_disk=True))])


async def broker_restart(
    cluster: Cluster, session: aiohttp.ClientSession, count: int, outcome: Outcome, timeout: float
) -> None:
    """The broker restarts once 30% of the jobs completed."""
    await start_workers(cluster, session, WORKERS)
    async with Run(cluster, session, outcome, timeout) as run:
        await run.jobs(count, [(0.3, restart_broker)])


async def lost_disk(
    cluster: Cluster, session: aiohttp.ClientSession, count: int, outcome: Outcome, timeout: float
) -> None:
    """All jobs complete and what the workers read is committed; a worker is killed, its data dir deleted,
    and started again: every workflow comes back from the changelogs unchanged, and a second batch of jobs
    completes."""
    await start_workers(cluster, session, WORKERS)
    async with Run(cluster, session, outcome, timeout) as run:
        await run.jobs(count)
        await cluster.wait_committed()
        before = await cluster.wait_settled(session)
        outcome.events.append(await kill_worker(0, restart_after=1, lose_disk=True)(cluster, session))
        after = await cluster.wait_settled(session)
        compare(before, after, outcome, "after the rebuild")
        await run.jobs(count // 2)


async def redelivery(
    cluster: Cluster, session: aiohttp.ClientSession, count: int, outcome: Outcome, timeout: float
) -> None:
    """All jobs complete; every request is then sent again, as Kafka redelivers what a crashed worker read: the
    workers create and submit each workflow again, and every workflow stays as it was."""
    await start_workers(cluster, session, WORKERS)
    async with Run(cluster, session, outcome, timeout) as run:
        await run.jobs(count)
        before = await cluster.wait_settled(session)
        await run.resend(list(run.requests))
        await cluster.wait_committed()
        outcome.events.append(f"{len(run.requests)} requests sent again and read")
        compare(before, await cluster.wait_settled(session), outcome, "after the requests came again")


def compare(before: dict[str, Workflow], after: dict[str, Workflow], outcome: Outcome, when: str) -> None:
    """Count the workflows of ``before`` that are the same ``after``; a difference is a problem, shown for one."""
    changed = [job for job, workflow in before.items() if after.get(job) != workflow]
    if changed:
        missing = sum(job not in after for job in changed)
        outcome.problems.append(
            f"{len(changed)} workflows differ {when} ({missing} missing), e.g. {changed[:3]}; "
            f"{changed[0]}: {differences(before[changed[0]], after.get(changed[0]))}"
        )
    outcome.events.append(f"{len(before) - len(changed)} of {len(before)} workflows identical {when}")


async def poison(
    cluster: Cluster, session: aiohttp.ClientSession, count: int, outcome: Outcome, timeout: float
) -> None:
    """Every kind of poison message on the listener topics at 30%: each is dead-lettered with its reason, no
    worker stops, and every job completes."""
    await start_workers(cluster, session, WORKERS)
    async with Run(cluster, session, outcome, timeout) as run:
        hostage = await run.hostage()
        pids = [worker.pid for worker in cluster.workers]
        sent: dict[Position, Poison] = {}

        async def strike(cluster: Cluster, session: aiohttp.ClientSession) -> str:
            sent.update(await inject(cluster.bootstrap_servers, poisons(cluster.topics, hostage)))
            return f"{len(sent)} poison messages sent"

        await run.jobs(count, [(0.3, strike)])
        found = await dead_letter_reasons(cluster.bootstrap_servers, cluster.dead_letter_topic, set(sent), timeout)
        for position, bad in sent.items():
            reasons = found.get(position, [])
            verdict = "dead-lettered as" if bad.reason in reasons else "NOT dead-lettered as"
            outcome.events.append(f"{bad.name} ({position[0]}[{position[1]}]@{position[2]}): {verdict} {bad.reason}")
            if bad.reason not in reasons:
                outcome.problems.append(f"{bad.name}: dead letters {reasons}, expected {bad.reason}")
        await run.release([hostage])
        await run.complete([hostage])
        if [worker.pid for worker in cluster.live()] != pids:
            outcome.problems.append("a worker stopped")
        outcome.events.append(f"{len(cluster.live())} of {len(pids)} workers still running, none restarted")


MEMORY_BATCHES = 3
"""Batches measured after the first, which warms the workers up."""
MEMORY_GROWTH_ALLOWED = 1.25
"""How much larger the workers' memory outside RocksDB's caches may be after the last batch than after the
first measured one."""


async def memory(
    cluster: Cluster, session: aiohttp.ClientSession, count: int, outcome: Outcome, timeout: float
) -> None:
    """Batches of jobs one after the other: after a first batch that warms the workers up, their memory outside
    RocksDB's caches after the last batch is about what it was after the second, whatever the number of
    completed workflows they hold. The caches (memtables and block cache) fill up to their fixed budget
    (``docs/engine.md``) and are reported beside it."""
    await start_workers(cluster, session, WORKERS)
    async with Run(cluster, session, outcome, timeout) as run:
        outside: list[float] = []
        for _ in range(1 + MEMORY_BATCHES):
            await run.jobs(count)
            resident, in_caches, limits = await cluster.memory(session)
            outside.append((resident - in_caches) / 2**20)
            outcome.events.append(
                f"{outcome.completed} completed: workers' memory {resident / 2**20:.0f} MiB in all,"
                f" {in_caches / 2**20:.0f} MiB of it in RocksDB's caches (of {limits / 2**20:.0f} MiB),"
                f" {outside[-1]:.0f} MiB outside them"
            )
        measured_from = outside[1]
        if outside[-1] > measured_from * MEMORY_GROWTH_ALLOWED:
            outcome.problems.append(
                f"memory outside RocksDB's caches grew from {measured_from:.0f} to {outside[-1]:.0f} MiB"
            )


async def start_workers(cluster: Cluster, session: aiohttp.ClientSession, count: int) -> None:
    """Start ``count`` workers, one after the other, and wait until they have shared out the partitions."""
    for _ in range(count):
        await cluster.add(session)
    await cluster.wait_settled(session)


SCENARIOS: dict[str, Scenario] = {
    "scale-out": scale_out,
    "sigkill": sigkill,
    "membership": membership,
    "broker-restart": broker_restart,
    "lost-disk": lost_disk,
    "redelivery": redelivery,
    "poison": poison,
    "memory": memory,
}


async def run_scenario(
    name: str, broker: str, count: int, timeout: float, processing_guarantee: str = "at_least_once"
) -> Outcome:
    """Run scenario ``name`` with ``count`` jobs on a fresh cluster of workers with ``processing_guarantee``;
    stop the cluster whatever happens."""
    outcome = Outcome(scenario=name, workflows=0, exactly_once=processing_guarantee == "exactly_once")
    cluster = Cluster(broker, PARTITIONS, processing_guarantee)
    began = time.monotonic()
    try:
        async with aiohttp.ClientSession() as session:
            await SCENARIOS[name](cluster, session, count, outcome, timeout)
    except Exception as error:
        outcome.problems.append(f"{type(error).__name__}: {error}")
    finally:
        outcome.seconds = time.monotonic() - began
        outcome.application_errors = cluster.application_errors()
        if not outcome.ok:
            outcome.events.append(f"logs and data kept: {cluster.where_files_are()}")
        cluster.stop(keep_files=not outcome.ok)
    return outcome
