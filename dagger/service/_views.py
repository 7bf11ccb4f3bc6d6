"""The REST routes on faust's web server: readiness, memory and the workflows of this worker or of the whole cluster.

The workflow routes answer for the whole cluster by default and for this worker's partitions with
``?scope=local``; :mod:`dagger.service._cluster` asks the other workers. Every workflow answer says
what it covers in the ``X-Dagger-Scope`` and ``X-Dagger-Partitions`` headers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from itertools import chain
from typing import TYPE_CHECKING, Any
from uuid import UUID

from aiohttp.web import StreamResponse
from faust.web import Blueprint, Request, Response, View

from dagger.service._cluster import (
    CLUSTER,
    LOCAL,
    SCOPE_PARAMETER,
    SCOPES,
    Cluster,
    Coverage,
    Silence,
    coverage_headers,
    unanswered,
)

if TYPE_CHECKING:
    from dagger.service.services import Dagger

logger = logging.getLogger("dagger.service.services")

service_blueprint = Blueprint("service_state")
tasks_blueprint = Blueprint("template_tasks")


def running_engine() -> Dagger | Any:
    """The engine these routes serve (``Dagger.app``); None before one is created."""
    from dagger.service.services import Dagger

    return Dagger.app


def error(view: View, status: int, message: str, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON error body ``{"error": ..., "detail": ...}`` with ``status`` (and ``headers``)."""
    return view.json(
        {"error": message, "detail": detail}, status=status, headers=None if headers is None else dict(headers)
    )


def scope_of(request: Request) -> str | None:
    """The ``scope`` query parameter (``cluster`` when absent); None for a value that is not a scope."""
    scope = request.query.get(SCOPE_PARAMETER, CLUSTER)
    return scope if scope in SCOPES else None


def invalid_scope(view: View, request: Request) -> Response:
    """400: the ``scope`` query parameter is neither ``local`` nor ``cluster``."""
    given = request.query.get(SCOPE_PARAMETER)
    return error(view, 400, "invalid scope", f"scope must be {LOCAL!r} or {CLUSTER!r}, not {given!r}")


def not_answered(view: View, silences: list[Silence], coverage: Coverage, what: str) -> Response:
    """503: ``what`` cannot be answered for the whole cluster; names the silent workers and the uncovered partitions."""
    message = "workers unreachable" if silences else "partitions not covered"
    detail = f"{what}: {unanswered(silences, coverage)}; a rebalance may be in progress, try again"
    return error(view, 503, message, detail, coverage_headers(CLUSTER, coverage.covered))


@service_blueprint.route("/ready", name="task_resource")
class ServiceStateView(View):
    """``GET /service/ready``: whether the engine has started."""

    async def get(self, request: Request) -> Response:
        """Return ``{"is_ready": true|false}``."""
        running = running_engine()
        return self.json({"is_ready": bool(running is not None and running.started_flag)})


def resident_bytes() -> int | None:
    """This process's resident memory in bytes, from ``/proc`` (None where there is none)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@service_blueprint.route("/memory", name="memory")
class ServiceMemoryView(View):
    """``GET /service/memory``: this worker's resident memory and how full its RocksDB budget is."""

    async def get(self, request: Request) -> Response:
        """Return ``{"resident_bytes": ..., "rocksdb": {...}}``; ``rocksdb`` is null before the store opens."""
        running = running_engine()
        budget = None if running is None else running._store.memory_budget
        return self.json({"resident_bytes": resident_bytes(), "rocksdb": None if budget is None else budget.usage()})


@tasks_blueprint.route("/instance/{dag_id}", name="dag_by_id")
class DagProcessView(View):
    """``GET /tasks/instance/{id}``: one workflow with all its tasks, from whichever worker holds it."""

    async def get(self, request: Request, dag_id: str) -> Response:
        """Return the workflow as stored; 400 for an id that is not a UUID, 404 when no worker holds it.

        503 when this worker lacks it and some worker did not answer or some partition was not answered for.
        """
        scope = scope_of(request)
        if scope is None:
            return invalid_scope(self, request)
        try:
            workflow_id = UUID(dag_id)
        except ValueError:
            return error(self, 400, "invalid workflow id", f"{dag_id!r} is not a UUID")
        running = running_engine()
        try:
            partitions = running.settled_partitions()
            payload = running.get_instance_payload(workflow_id)
        except Exception:
            logger.exception("Reading workflow %s failed", workflow_id)
            return error(self, 503, "store unavailable", "the workflow could not be read; try again")
        if payload is not None:
            return self.bytes(payload, content_type="application/json", headers=coverage_headers(scope, partitions))
        if scope == LOCAL:
            detail = f"no workflow {workflow_id} on this worker"
            return error(self, 404, "workflow not found", detail, coverage_headers(LOCAL, partitions))
        lookup = await Cluster(running.faust_app, running.partitions).find_workflow(workflow_id, partitions)
        headers = coverage_headers(CLUSTER, lookup.coverage.covered)
        if lookup.payload is not None:
            return self.bytes(lookup.payload, content_type="application/json", headers=headers)
        if lookup.silences or not lookup.coverage.complete:
            return not_answered(self, lookup.silences, lookup.coverage, f"workflow {workflow_id} is not on this worker")
        return error(self, 404, "workflow not found", f"no workflow {workflow_id} on any worker", headers)


@tasks_blueprint.route("/instances", name="task_resource")
class TemplateProcessView(View):
    """``GET /tasks/instances``: every workflow of the cluster, or of this worker's partitions with ``?scope=local``."""

    async def get(self, request: Request) -> Response | StreamResponse:
        """Return a JSON list of workflows, each with all its tasks, sent as it is read.

        In cluster scope, 503 unless the answers of all workers together cover every partition exactly once.
        """
        scope = scope_of(request)
        if scope is None:
            return invalid_scope(self, request)
        running = running_engine()
        try:
            partitions = running.settled_partitions()
            batches = running._store.workflow_batches()
            local = chain([next(batches, [])], batches)
        except Exception:
            logger.exception("Listing workflows failed")
            return error(self, 503, "store unavailable", "the workflows could not be listed; try again")
        if scope == LOCAL:
            return await send_list(request, local, coverage_headers(LOCAL, partitions))
        listing = await Cluster(running.faust_app, running.partitions).list_workflows(partitions)
        if listing.silences or not listing.coverage.complete:
            return not_answered(self, listing.silences, listing.coverage, "the workflows of the cluster are incomplete")
        others = ([items] for items in listing.items)
        return await send_list(request, chain(local, others), coverage_headers(CLUSTER, listing.coverage.covered))


async def send_list(request: Request, batches: Iterable[list[bytes]], headers: Mapping[str, str]) -> StreamResponse:
    """Answer 200 with the JSON list of the encoded items of ``batches``, a batch at a time.

    The worker holds one batch of the list at a time, however long it is. A failure to read a batch once
    the answer has begun cuts the list short: it then lacks its closing ``]`` and the connection closes.
    """
    response = StreamResponse(status=200, headers={**headers, "Content-Type": "application/json"})
    await response.prepare(request)  # type: ignore[arg-type]
    opening = b"["
    try:
        for batch in batches:
            if batch:
                await response.write(opening + b",".join(batch))
                opening = b","
    except Exception:
        logger.exception("Listing workflows failed part way; the answer is cut short")
        response.force_close()
        return response
    await response.write(b"[]" if opening == b"[" else b"]")
    await response.write_eof()
    return response
