"""The engine's own message formats (:mod:`dagger.wire`): what is written is read back, and what cannot be read is
refused with a ``ValueError``."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from dagger import wire

WORKFLOW, TASK = uuid.uuid1(), uuid.uuid1()


def message(headers: Any = None, key: bytes | None = b"k", value: bytes | None = b"v") -> Any:
    """A consumed Kafka message as the engine sees it."""
    return SimpleNamespace(topic="replies", partition=3, offset=41, key=key, value=value, headers=headers)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (None, {"dagger-idempotency-key": b"t1"}),
        ({"trace": b"x"}, {"trace": b"x", "dagger-idempotency-key": b"t1"}),
        ([("trace", b"x")], [("trace", b"x"), ("dagger-idempotency-key", b"t1")]),
        ({"dagger-idempotency-key": b"mine"}, {"dagger-idempotency-key": b"mine"}),
        ([("dagger-idempotency-key", b"mine")], [("dagger-idempotency-key", b"mine")]),
    ],
)
def test_the_idempotency_key_is_added_unless_the_sender_set_one(headers: Any, expected: Any) -> None:
    assert wire.with_idempotency_key(headers, b"t1") == expected


@pytest.mark.parametrize("parameters", [None, {}, {"reason": "sold out", "attempts": 3, "tags": ["a", "b"]}])
def test_a_stop_request_is_read_back(parameters: dict[str, Any] | None) -> None:
    assert wire.decode_stop(wire.encode_stop(WORKFLOW, parameters)) == (WORKFLOW, parameters)


def test_a_stop_request_carries_parameters_as_a_stored_workflow_keeps_them() -> None:
    ticket = uuid.uuid4()
    assert wire.decode_stop(wire.encode_stop(WORKFLOW, {"ticket": ticket})) == (WORKFLOW, {"ticket": str(ticket)})


def test_a_bare_workflow_id_is_a_stop_request_without_parameters() -> None:
    assert wire.decode_stop(f" {WORKFLOW}\n".encode()) == (WORKFLOW, None)


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"",
        b"not an id",
        b"{not json",
        b'{"runtime_parameters": {}}',
        b'{"workflow_id": "nope"}',
        json.dumps({"workflow_id": str(WORKFLOW), "runtime_parameters": [1]}).encode(),
        b"[1, 2]",
    ],
)
def test_what_is_not_a_stop_request_is_refused(value: bytes | None) -> None:
    with pytest.raises(ValueError):
        wire.decode_stop(value)


@pytest.mark.parametrize("partition_key", [None, "order-7"])
def test_an_index_update_is_read_back(partition_key: str | None) -> None:
    update = wire.IndexUpdate("replies", WORKFLOW, TASK, partition_key)
    assert wire.IndexUpdate.decode(update.encode()) == update


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"[]",
        b'{"topic": "replies", "workflow_id": "x", "task_id": "y"}',
        json.dumps({"workflow_id": str(WORKFLOW), "task_id": str(TASK)}).encode(),
        json.dumps({"topic": 5, "workflow_id": str(WORKFLOW), "task_id": str(TASK)}).encode(),
        json.dumps({"topic": "t", "workflow_id": str(WORKFLOW), "task_id": str(TASK), "partition_key": 1}).encode(),
    ],
)
def test_what_is_not_an_index_update_is_refused(value: bytes | None) -> None:
    with pytest.raises(ValueError):
        wire.IndexUpdate.decode(value)


def test_a_delivery_names_its_listener_topic_workflow_and_task() -> None:
    source = wire.source_headers(message())
    headers = wire.delivery_headers("replies", WORKFLOW, TASK, "order-7", source)
    assert wire.listener_topic_of(headers) == "replies"
    assert wire.delivery_target(headers) == (WORKFLOW, TASK)
    assert headers[wire.CORRELATION_VALUE] == b"order-7"
    assert wire.source_headers(message(headers=list(headers.items()))) == source


@pytest.mark.parametrize("dropped", [wire.WORKFLOW_ID, wire.TASK_ID])
def test_a_delivery_without_its_target_is_refused(dropped: str) -> None:
    headers = wire.delivery_headers("replies", WORKFLOW, TASK, "order-7", {})
    del headers[dropped]
    with pytest.raises(ValueError):
        wire.delivery_target(headers)


def test_a_forwarded_message_keeps_the_position_the_application_gave_it() -> None:
    own = wire.source_headers(message())
    assert own == {
        wire.SOURCE_TOPIC: b"replies",
        wire.SOURCE_PARTITION: b"3",
        wire.SOURCE_OFFSET: b"41",
        wire.SOURCE_KEY: b"k",
    }
    forwarded = message(headers=wire.event_headers("replies", own), key=b"order-7")
    forwarded.topic, forwarded.partition, forwarded.offset = "app-correlation", 0, 9
    assert wire.source_headers(forwarded) == own
    assert wire.SOURCE_KEY not in wire.source_headers(message(key=None))


def test_a_dead_letter_says_why_and_where_from() -> None:
    source = wire.source_headers(message())
    headers = wire.dead_letter_headers(source, wire.UNMATCHED, "x" * 5000)
    assert headers[wire.REASON] == b"unmatched"
    assert len(headers[wire.DETAIL]) == wire.DETAIL_LIMIT
    assert {name: headers[name] for name in source} == source
    marker = json.loads(wire.omitted_value(source, 2_000_000))
    assert marker == {"dagger_omitted_value": {"size": 2_000_000, "topic": "replies", "partition": "3", "offset": "41"}}
