"""Latency of each workflow, from the timestamps of the Kafka records a run wrote.

Three kinds of record are matched by order id: the benchmark's request (keyed by the order id), the
shop's "ready" message (keyed by the order id) and the worker's saved versions of the workflow (the
records of its workflows table's changelog, whose JSON value holds the workflow's status and, among its
runtime parameters, the order id). Every timestamp is the record's create time, in milliseconds since
the epoch, set by the producer that wrote it on this machine's clock.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiokafka.structs import ConsumerRecord

WORKFLOWS_CHANGELOG_SUFFIX = "-kv_table-changelog"
"""How the name of the changelog of the worker's workflows table ends."""
COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class Save:
    """One saved version of a workflow: when it was written and the workflow's status in it."""

    timestamp_ms: int
    status: str


@dataclass(frozen=True)
class WorkflowTimes:
    """When the records of one workflow were written, in milliseconds since the epoch."""

    requested_ms: int
    """The benchmark's request."""
    ready_ms: int
    """The shop's "ready" message."""
    stepped_ms: int
    """The version saved on handling the "ready" message."""
    completed_ms: int
    """The first version whose status is COMPLETED."""

    @property
    def create_to_complete_ms(self) -> int:
        """From the request to the COMPLETED version."""
        return self.completed_ms - self.requested_ms

    @property
    def step_ms(self) -> int:
        """From the "ready" message to the version saved on handling it."""
        return self.stepped_ms - self.ready_ms


def workflow_times(
    requested: Mapping[str, int], ready: Mapping[str, int], saves: Mapping[str, Sequence[Save]]
) -> dict[str, WorkflowTimes]:
    """The times of every order that has a request, a "ready" message, and a COMPLETED version saved after it.

    ``saves`` lists each order's saved versions in the order they were written. The version saved on
    handling the "ready" message is the first one after the version that created the workflow whose
    timestamp is not before the message's: the creating version can be written after the shop has
    already answered the order it sent.
    """
    found: dict[str, WorkflowTimes] = {}
    for order_id, requested_ms in requested.items():
        ready_ms = ready.get(order_id)
        if ready_ms is None:
            continue
        versions = saves.get(order_id, [])
        stepped = next((save for save in versions[1:] if save.timestamp_ms >= ready_ms), None)
        completed = next((save for save in versions if save.status == COMPLETED), None)
        if stepped is not None and completed is not None:
            found[order_id] = WorkflowTimes(requested_ms, ready_ms, stepped.timestamp_ms, completed.timestamp_ms)
    return found


def saved_version(message: ConsumerRecord[bytes, bytes]) -> tuple[str, str] | None:
    """The order id and status of a saved workflow version (a workflows changelog record); None for a deletion."""
    if not message.value:
        return None
    workflow = json.loads(message.value)
    return str(workflow.get("runtime_parameters", {}).get("order_id", "")), workflow["status"]["code"]


class TimestampLog:
    """Keeps the timestamps of the requests, "ready" messages and saved versions it is handed, by order id.

    Only the first request and the first "ready" message of an order count.
    """

    def __init__(self, requests_topic: str, ready_topic: str) -> None:
        self.requests_topic = requests_topic
        self.ready_topic = ready_topic
        self.requested: dict[str, int] = {}
        self.ready: dict[str, int] = {}
        self.saves: dict[str, list[Save]] = {}

    def add(self, message: ConsumerRecord[bytes, bytes]) -> None:
        """Note ``message`` if it is a request, a "ready" message or a saved workflow."""
        if message.topic == self.requests_topic and message.key is not None:
            self.requested.setdefault(message.key.decode(), message.timestamp)
        elif message.topic == self.ready_topic and message.key is not None:
            self.ready.setdefault(message.key.decode(), message.timestamp)
        elif message.topic.endswith(WORKFLOWS_CHANGELOG_SUFFIX):
            version = saved_version(message)
            if version is not None:
                order_id, status = version
                self.saves.setdefault(order_id, []).append(Save(message.timestamp, status))

    def workflow_times(self, order_ids: Sequence[str]) -> dict[str, WorkflowTimes]:
        """The times of those of ``order_ids`` that can be matched (see :func:`workflow_times`)."""
        requested = {order_id: self.requested[order_id] for order_id in order_ids if order_id in self.requested}
        return workflow_times(requested, self.ready, self.saves)


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` (0 to 100) percentile of ``values``, linearly interpolated between the closest ranks
    (NaN when there are none)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * share / 100
    below = math.floor(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)
