"""The pizza benchmark's latency: percentiles, and the matching of requests, "ready" messages and saved versions."""

from __future__ import annotations

import json
import math

import pytest
from aiokafka.structs import ConsumerRecord

from benchmarks._latency import Save, TimestampLog, WorkflowTimes, percentile, workflow_times


def test_a_percentile_interpolates_between_the_closest_ranks() -> None:
    values = [40, 10, 30, 20]
    assert percentile(values, 0) == 10
    assert percentile(values, 50) == 25
    assert percentile(values, 100) == 40
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)


def test_the_percentile_of_one_value_is_that_value_and_of_none_is_nan() -> None:
    assert percentile([7], 99) == 7
    assert math.isnan(percentile([], 50))


def test_create_to_complete_ends_at_the_completed_version_and_the_step_at_the_next_save_after_ready() -> None:
    saves = {"a": [Save(105, "EXECUTING"), Save(130, "EXECUTING"), Save(150, "COMPLETED")]}
    times = workflow_times({"a": 100}, {"a": 120}, saves)
    assert times == {"a": WorkflowTimes(requested_ms=100, ready_ms=120, stepped_ms=130, completed_ms=150)}
    assert (times["a"].create_to_complete_ms, times["a"].step_ms) == (50, 10)


def test_the_version_that_created_the_workflow_is_never_the_step_even_when_written_after_ready() -> None:
    saves = {"a": [Save(112, "EXECUTING"), Save(140, "COMPLETED")]}
    assert workflow_times({"a": 100}, {"a": 110}, saves)["a"].stepped_ms == 140


def test_a_save_in_the_same_millisecond_as_ready_is_the_step() -> None:
    saves = {"a": [Save(105, "EXECUTING"), Save(120, "COMPLETED")]}
    assert workflow_times({"a": 100}, {"a": 120}, saves)["a"].step_ms == 0


def test_an_order_missing_its_ready_message_or_completion_is_left_out() -> None:
    saves = {
        "no ready": [Save(105, "EXECUTING"), Save(150, "COMPLETED")],
        "not completed": [Save(105, "EXECUTING"), Save(150, "EXECUTING")],
        "no save after ready": [Save(105, "COMPLETED")],
    }
    requested = {"no ready": 100, "not completed": 100, "no save after ready": 100, "no saves": 100}
    ready = {"not completed": 120, "no save after ready": 120, "no saves": 120}
    assert workflow_times(requested, ready, saves) == {}


def record(topic: str, timestamp: int, key: str | None, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic, 0, 0, timestamp, 0, None if key is None else key.encode(), value, None, 0, len(value), ()
    )


def saved(order_id: str, status: str) -> bytes:
    return json.dumps({"id": "w", "status": {"code": status}, "runtime_parameters": {"order_id": order_id}}).encode()


def test_the_log_matches_records_by_order_id_and_keeps_only_the_first_request_and_ready_message() -> None:
    log = TimestampLog("app-requests", "app-ready")
    for message in (
        record("app-requests", 100, "a", b"{}"),
        record("app-requests", 101, "b", b"{}"),
        record("app-kv_table-changelog", 104, "w", saved("a", "EXECUTING")),
        record("app-orders", 106, "a", b"{}"),
        record("app-ready", 110, "a", b"{}"),
        record("app-ready", 111, "a", b"{}"),
        record("app-kv_table-changelog", 115, "w", b""),
        record("app-kv_table-changelog", 118, "w", saved("a", "COMPLETED")),
        record("app-requests", 200, "a", b"{}"),
    ):
        log.add(message)
    assert log.workflow_times(["a", "b"]) == {"a": WorkflowTimes(100, 110, 118, 118)}
