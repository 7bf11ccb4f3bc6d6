"""Which workers share this worker's consumer group, and what they answer for their own partitions.

A workflow lives on exactly one worker: the one that owns its partition. To answer for the whole
cluster, a worker asks every other member of its group, at the web address that member advertises in
faust's assignment metadata (its ``canonical_url``), with ``?scope=local``: a local request is
answered from the asked worker's own partitions only, so requests never travel further. Every
answer names the partitions it covers (``X-Dagger-Partitions``); answers are trusted only when
together they cover every partition exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

import aiohttp
from faust.types import AppT
from yarl import URL

logger = logging.getLogger(__name__)

SCOPE_PARAMETER = "scope"
LOCAL = "local"
CLUSTER = "cluster"
SCOPES = (LOCAL, CLUSTER)

SCOPE_HEADER = "X-Dagger-Scope"
PARTITIONS_HEADER = "X-Dagger-Partitions"

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=3.0)
"""How long a worker waits for another worker's answer."""


def format_partitions(partitions: Iterable[int]) -> str:
    """The value of ``X-Dagger-Partitions``: the partitions sorted, comma-separated (``"0,1,4"``; none: ``""``)."""
    return ",".join(str(partition) for partition in sorted(partitions))


def parse_partitions(value: str | None) -> frozenset[int] | None:
    """Read an ``X-Dagger-Partitions`` value; None when it is absent or malformed."""
    if value is None:
        return None
    try:
        return frozenset(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        return None


def coverage_headers(scope: str, partitions: Iterable[int]) -> dict[str, str]:
    """The headers saying what an answer covers: its scope and its partitions."""
    return {SCOPE_HEADER: scope, PARTITIONS_HEADER: format_partitions(partitions)}


def list_items(body: bytes) -> bytes:
    """The items of JSON list ``body`` (``[...]``) as they are written there, comma-separated, undecoded."""
    return body.strip()[1:-1].strip()


def is_json_list(body: bytes) -> bool:
    """Whether ``body`` has the shape of a JSON list (it starts with ``[`` and ends with ``]``)."""
    stripped = body.strip()
    return stripped.startswith(b"[") and stripped.endswith(b"]")


@dataclass(frozen=True)
class Coverage:
    """How answers covering some partitions each cover partitions ``0 .. count-1``."""

    covered: frozenset[int]
    missing: tuple[int, ...]
    duplicated: tuple[int, ...]

    @classmethod
    def of(cls, answered: Iterable[frozenset[int]], count: int) -> Coverage:
        """The coverage of answers each covering one set of partitions, out of ``count`` partitions."""
        seen: set[int] = set()
        duplicated: set[int] = set()
        for partitions in answered:
            duplicated |= seen & partitions
            seen |= partitions
        expected = set(range(count))
        return cls(
            covered=frozenset(seen),
            missing=tuple(sorted(expected - seen)),
            duplicated=tuple(sorted(duplicated | (seen - expected))),
        )

    @property
    def complete(self) -> bool:
        """Whether every partition is covered exactly once."""
        return not self.missing and not self.duplicated

    def describe(self) -> str:
        """What is wrong with the coverage, in words (empty when it is complete)."""
        problems = []
        if self.missing:
            problems.append(f"partitions {format_partitions(self.missing)} are missing")
        if self.duplicated:
            problems.append(
                f"partitions {format_partitions(self.duplicated)} were answered for by more than one worker"
            )
        return "; ".join(problems)


@dataclass(frozen=True)
class Answer:
    """A worker's answer to a local request: its status, body and the partitions it covers."""

    worker: str
    status: int
    body: bytes
    partitions: frozenset[int]


@dataclass(frozen=True)
class Silence:
    """A worker that gave no usable answer, and why."""

    worker: str
    reason: str


def describe_silences(silences: Sequence[Silence]) -> str:
    """The workers that did not answer, each with its reason."""
    return ", ".join(f"{silence.worker} ({silence.reason})" for silence in silences)


def unanswered(silences: Sequence[Silence], coverage: Coverage) -> str | None:
    """Why answers do not settle a question for the whole cluster: the silent workers and the partitions not
    answered for exactly once; None when every worker answered and every partition was covered once."""
    problems = [f"no answer from {describe_silences(silences)}"] if silences else []
    if not coverage.complete:
        problems.append(coverage.describe())
    return "; ".join(problems) or None


@dataclass(frozen=True)
class Lookup:
    """The cluster's answer for one workflow: its stored JSON if a worker has it, and who answered."""

    payload: bytes | None
    coverage: Coverage
    silences: list[Silence]


@dataclass(frozen=True)
class Listing:
    """The other workers' workflows (the items of each one's list), and who answered for which partitions."""

    items: list[bytes]
    coverage: Coverage
    silences: list[Silence]


class Cluster:
    """The other workers of this worker's consumer group, asked over faust's HTTP client.

    Requests go through ``app.http_client``: the one aiohttp session of the engine's faust app, created
    on first use and closed by faust when the app (and with it the engine) stops. Sharing it keeps the
    connections to the other workers open between requests, and the engine has no session of its own
    to close. Each request is bounded by :data:`REQUEST_TIMEOUT`.
    """

    def __init__(self, app: AppT, partition_count: int) -> None:
        self.app = app
        self.partition_count = partition_count

    def other_workers(self) -> list[str]:
        """The web addresses of the group's other members, as the last partition assignment named them."""
        own = str(self.app.conf.canonical_url)
        return sorted(url for url in self.app.router.tables_metadata() if url != own)

    async def find_workflow(self, workflow_id: UUID, local_partitions: Iterable[int]) -> Lookup:
        """Ask every other worker for workflow ``workflow_id``, which this worker (``local_partitions``) lacks."""
        answers, silences = await self._ask_others(f"/tasks/instance/{workflow_id}")
        payload = None
        answered = [frozenset(local_partitions)]
        for answer in answers:
            if answer.status == 200:
                payload = answer.body
                answered.append(answer.partitions)
            elif answer.status == 404:
                answered.append(answer.partitions)
            else:
                silences.append(Silence(answer.worker, f"answered {answer.status}"))
        return Lookup(payload, Coverage.of(answered, self.partition_count), silences)

    async def list_workflows(self, local_partitions: Iterable[int]) -> Listing:
        """The workflows of every other worker, and whether with this worker's partitions they cover the cluster."""
        answers, silences = await self._ask_others("/tasks/instances")
        items = []
        answered = [frozenset(local_partitions)]
        for answer in answers:
            if answer.status == 200 and is_json_list(answer.body):
                items.append(list_items(answer.body))
                answered.append(answer.partitions)
            else:
                silences.append(Silence(answer.worker, f"answered {answer.status}"))
        return Listing([found for found in items if found], Coverage.of(answered, self.partition_count), silences)

    async def _ask_others(self, path: str) -> tuple[list[Answer], list[Silence]]:
        replies = await asyncio.gather(*(self._ask(worker, path) for worker in self.other_workers()))
        answers = [reply for reply in replies if isinstance(reply, Answer)]
        silences = [reply for reply in replies if isinstance(reply, Silence)]
        return answers, silences

    async def _ask(self, worker: str, path: str) -> Answer | Silence:
        """GET ``path`` of ``worker`` for its own partitions only; any failure to get an answer is a silence."""
        try:
            url = URL(worker).with_path(path).with_query({SCOPE_PARAMETER: LOCAL})
            async with self.app.http_client.get(url, timeout=REQUEST_TIMEOUT) as response:
                body = await response.read()
                partitions = parse_partitions(response.headers.get(PARTITIONS_HEADER))
                status = response.status
        except TimeoutError:
            return Silence(worker, f"no answer within {REQUEST_TIMEOUT.total:g} s")
        except Exception as error:
            logger.debug("Asking %s for %s failed", worker, path, exc_info=True)
            return Silence(worker, str(error) or type(error).__name__)
        if partitions is None:
            return Silence(worker, f"answered {status} without naming its partitions")
        return Answer(worker, status, body, partitions)
