"""The cluster side of the REST routes: partition headers, coverage, merging lists and who is asked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from dagger.service._cluster import (
    LOCAL,
    PARTITIONS_HEADER,
    SCOPE_HEADER,
    Cluster,
    Coverage,
    coverage_headers,
    format_partitions,
    is_json_list,
    list_items,
    parse_partitions,
)


def test_partitions_header_round_trips() -> None:
    assert format_partitions([4, 0, 1]) == "0,1,4"
    assert format_partitions([]) == ""
    assert parse_partitions("0,1,4") == frozenset({0, 1, 4})
    assert parse_partitions("") == frozenset()
    assert parse_partitions(" 3 , 2") == frozenset({2, 3})


@pytest.mark.parametrize("value", [None, "a", "1,x", "1.5"])
def test_a_missing_or_malformed_partitions_header_is_none(value: str | None) -> None:
    assert parse_partitions(value) is None


def test_coverage_headers() -> None:
    assert coverage_headers(LOCAL, {2, 0}) == {SCOPE_HEADER: "local", PARTITIONS_HEADER: "0,2"}


def test_answers_covering_every_partition_once_are_complete() -> None:
    coverage = Coverage.of([frozenset({0, 2}), frozenset({1}), frozenset({3})], 4)
    assert coverage.complete
    assert coverage.covered == frozenset(range(4))
    assert coverage.describe() == ""


def test_missing_partitions_are_named() -> None:
    coverage = Coverage.of([frozenset({0}), frozenset()], 4)
    assert not coverage.complete
    assert coverage.missing == (1, 2, 3)
    assert coverage.describe() == "partitions 1,2,3 are missing"


def test_partitions_answered_twice_are_named() -> None:
    coverage = Coverage.of([frozenset({0, 1}), frozenset({1, 2})], 3)
    assert not coverage.complete
    assert coverage.missing == ()
    assert coverage.duplicated == (1,)
    assert "partitions 1 were answered for by more than one worker" in coverage.describe()


def test_partitions_beyond_the_count_do_not_make_coverage_complete() -> None:
    coverage = Coverage.of([frozenset({0, 1, 7})], 2)
    assert not coverage.complete
    assert coverage.duplicated == (7,)


def test_no_answers_cover_nothing() -> None:
    assert Coverage.of([], 2).missing == (0, 1)


def test_the_items_of_a_list_are_kept_byte_for_byte() -> None:
    assert list_items(b'[{"id": "a", "x": 1.50},{"id": "b"}]') == b'{"id": "a", "x": 1.50},{"id": "b"}'
    assert list_items(b' [ {"id": "c"} ] ') == b'{"id": "c"}'
    assert list_items(b"[\n]") == b""


def test_only_list_shaped_bodies_are_lists() -> None:
    assert is_json_list(b" [1] ")
    assert not is_json_list(b'{"error": "x"}')
    assert not is_json_list(b"")


class Worker:
    """A stand-in for another worker's web server: fixed answers per path, and the requests it got.

    A path without an answer is answered 404, covering no partitions.
    """

    def __init__(self, answers: Mapping[str, tuple[int, bytes, str | None]]) -> None:
        self.answers = answers
        self.requests: list[URL] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request.rel_url)
        status, body, partitions = self.answers.get(request.path, (404, b"{}", ""))
        headers = {} if partitions is None else {PARTITIONS_HEADER: partitions}
        return web.Response(status=status, body=body, headers=headers, content_type="application/json")


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    """``await serve(worker)``: run ``worker`` on a local port and return its URL."""
    runners: list[web.AppRunner] = []

    async def start(worker: Worker) -> str:
        app = web.Application()
        app.router.add_get("/{tail:.*}", worker.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def http_client() -> AsyncIterator[aiohttp.ClientSession]:
    """The HTTP session a worker asks the others with."""
    async with aiohttp.ClientSession() as session:
        yield session


def cluster(own: str, others: list[str], http_client: Any, partitions: int = 4) -> Cluster:
    """A :class:`Cluster` whose assignment metadata names ``own`` and ``others``."""
    metadata: dict[str, dict[str, list[int]]] = {url: {} for url in [own, *others]}
    app = SimpleNamespace(
        conf=SimpleNamespace(canonical_url=URL(own)),
        router=SimpleNamespace(tables_metadata=lambda: metadata),
        http_client=http_client,
    )
    return Cluster(app, partitions)  # type: ignore[arg-type]


OWN = "http://127.0.0.1:1"


async def test_the_other_workers_exclude_this_one(http_client: Any) -> None:
    assert cluster(OWN, ["http://b:2", "http://a:3"], http_client).other_workers() == ["http://a:3", "http://b:2"]


async def test_a_list_takes_every_other_worker_and_asks_only_for_local_answers(serve: Any, http_client: Any) -> None:
    worker = Worker({"/tasks/instances": (200, b'[{"id": "remote"}]', "2")})
    url = await serve(worker)
    empty = await serve(Worker({"/tasks/instances": (200, b"[ ]", "3")}))
    listing = await cluster(OWN, [url, empty], http_client).list_workflows([0, 1])
    assert listing.coverage.complete and not listing.silences
    assert listing.items == [b'{"id": "remote"}']
    assert [(request.path, request.query.get("scope")) for request in worker.requests] == [
        ("/tasks/instances", "local")
    ]


async def test_a_list_missing_partitions_is_incomplete(serve: Any, http_client: Any) -> None:
    url = await serve(Worker({"/tasks/instances": (200, b"[]", "2")}))
    listing = await cluster(OWN, [url], http_client).list_workflows([0, 1])
    assert listing.coverage.missing == (3,)
    assert not listing.silences


async def test_unreachable_and_failing_workers_are_silences(serve: Any, http_client: Any) -> None:
    failing = await serve(Worker({"/tasks/instances": (503, b'{"error": "x"}', "")}))
    unnamed = await serve(Worker({"/tasks/instances": (200, b"[]", None)}))
    unreachable = "http://127.0.0.1:9"
    listing = await cluster(OWN, [failing, unnamed, unreachable], http_client).list_workflows([0, 1, 2, 3])
    by_worker = {silence.worker: silence.reason for silence in listing.silences}
    assert set(by_worker) == {failing, unnamed, unreachable}
    assert by_worker[failing] == "answered 503"
    assert "without naming its partitions" in by_worker[unnamed]
    assert listing.coverage.missing == ()


async def test_a_workflow_is_found_on_the_worker_that_has_it(serve: Any, http_client: Any) -> None:
    workflow_id = uuid.uuid4()
    stored = b'{"id": "%s", "n": 1.50}' % str(workflow_id).encode()
    lacking = await serve(Worker({}))
    holding = Worker({f"/tasks/instance/{workflow_id}": (200, stored, "3")})
    lookup = await cluster(OWN, [lacking, await serve(holding)], http_client).find_workflow(workflow_id, [0, 1])
    assert lookup.payload == stored
    assert holding.requests[0].query.get("scope") == LOCAL


async def test_a_workflow_no_worker_has_is_not_found_with_complete_coverage(serve: Any, http_client: Any) -> None:
    url = await serve(Worker({}))
    workflow_id = uuid.uuid4()
    complete = await cluster(OWN, [url], http_client, partitions=2).find_workflow(workflow_id, [0, 1])
    assert complete.payload is None and complete.coverage.complete and not complete.silences
    partial = await cluster(OWN, [url], http_client, partitions=3).find_workflow(workflow_id, [0, 1])
    assert partial.coverage.missing == (2,)
