"""The engine's own message formats on Kafka: header names, message kinds and the bodies of its requests.

Beside :mod:`dagger.codec` (the format of the records themselves), this module says how the engine
marks and reads the messages it sends to itself and to the dead-letter topic. It does no I/O: its
functions turn values into headers and bodies and back, and raise ``ValueError`` for what they cannot
read. Applications may use the names too, for example a receiver that recognises a command sent again
by its :data:`IDEMPOTENCY_KEY`.

The tasks topic carries a created workflow (no kind), a submitted one (:data:`SUBMIT`) or a
:func:`stop request <encode_stop>` (:data:`STOP`); the correlation topic a listener message forwarded
to the owner of a correlation value (:data:`EVENT`) or an :class:`IndexUpdate`; the delivery topic a
listener message for one waiting task (:func:`delivery_headers`). A dead letter carries its reason and
the position of the message as the application sent it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dagger import codec

KIND = "dagger-kind"
"""The header that says what an engine message asks for."""
IDEMPOTENCY_KEY = "dagger-idempotency-key"
"""The header of a command: the id of the task that sent it, the same each time it is sent again."""

LISTENER_TOPIC = "dagger-topic"
WORKFLOW_ID = "dagger-workflow-id"
TASK_ID = "dagger-task-id"
CORRELATION_VALUE = "dagger-correlation-value"

REASON = "dagger-dead-letter-reason"
DETAIL = "dagger-dead-letter-detail"
SOURCE_TOPIC = "dagger-source-topic"
SOURCE_PARTITION = "dagger-source-partition"
SOURCE_OFFSET = "dagger-source-offset"
SOURCE_KEY = "dagger-source-key"
SOURCE_HEADERS = (SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, SOURCE_KEY)

SUBMIT = b"submit"
STOP = b"stop"
EVENT = b"event"
INDEX_ADD = b"index-add"
INDEX_REMOVE = b"index-remove"

UNDECODABLE = "undecodable"
OVERSIZED = "oversized"
TOMBSTONE = "tombstone"
CORRELATION_FAILED = "correlation-failed"
NO_CORRELATION_VALUE = "no-correlation-value"
UNMATCHED = "unmatched"
HANDLER_FAILED = "on-message-failed"
MALFORMED = "malformed"
NOT_FORWARDED = "not-forwarded"

DETAIL_LIMIT = 1000
"""Characters of a dead letter's detail kept in its header."""

Headers = dict[str, bytes]


def headers_of(message: Any) -> Headers:
    """A Kafka message's headers as a dict."""
    headers = message.headers or {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {key: value for key, value in items}


def with_idempotency_key(headers: Any, key: bytes) -> Any:
    """``headers`` (None, a mapping or a list of pairs) with the idempotency key added, unless the sender set one."""
    if headers is None:
        return {IDEMPOTENCY_KEY: key}
    if isinstance(headers, Mapping):
        return headers if IDEMPOTENCY_KEY in headers else {**headers, IDEMPOTENCY_KEY: key}
    items: list[Any] = list(headers)
    if any(name == IDEMPOTENCY_KEY for name, _ in items):
        return items
    return [*items, (IDEMPOTENCY_KEY, key)]


def encode_stop(workflow_id: UUID, runtime_parameters: dict[str, Any] | None) -> bytes:
    """A request to stop workflow ``workflow_id``, with the caller's runtime parameters (None: none given)."""
    parameters = None if runtime_parameters is None else codec.plain(runtime_parameters)
    return json.dumps({"workflow_id": str(workflow_id), "runtime_parameters": parameters}).encode()


def decode_stop(value: bytes | None) -> tuple[UUID, dict[str, Any] | None]:
    """The workflow id and runtime parameters of a stop request; a bare id (an earlier form) has no parameters."""
    if value is None:
        raise ValueError("a stop request without a value")
    text = value.decode(errors="replace").strip()
    if not text.startswith("{"):
        return UUID(text), None
    request = _json_object(text, "stop request")
    parameters = request.get("runtime_parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ValueError(f"runtime_parameters is a {type(parameters).__name__}, not an object")
    return _uuid(request, "workflow_id"), parameters


@dataclass(frozen=True)
class IndexUpdate:
    """An entry to add to or remove from the correlation index, sent to the owner of its correlation value."""

    topic: str
    workflow_id: UUID
    task_id: UUID
    partition_key: str | None = None

    def encode(self) -> bytes:
        """The update's body."""
        return json.dumps(
            {
                "topic": self.topic,
                "workflow_id": str(self.workflow_id),
                "task_id": str(self.task_id),
                "partition_key": self.partition_key,
            }
        ).encode()

    @classmethod
    def decode(cls, value: bytes | None) -> IndexUpdate:
        """Read an update's body."""
        update = _json_object(value, "index update")
        topic, partition_key = update.get("topic"), update.get("partition_key")
        if not isinstance(topic, str) or not (partition_key is None or isinstance(partition_key, str)):
            raise ValueError(f"index update of the wrong shape: {update!r}")
        return cls(topic, _uuid(update, "workflow_id"), _uuid(update, "task_id"), partition_key)


def event_headers(listener_topic: str, source: Headers) -> Headers:
    """The headers of a listener message forwarded to the owner of one of its correlation values."""
    return {KIND: EVENT, LISTENER_TOPIC: listener_topic.encode(), **source}


def delivery_headers(
    listener_topic: str, workflow_id: UUID, task_id: UUID, correlation_value: str, source: Headers
) -> Headers:
    """The headers of a listener message forwarded to the owner of the workflow whose task waits for it."""
    return {
        LISTENER_TOPIC: listener_topic.encode(),
        WORKFLOW_ID: str(workflow_id).encode(),
        TASK_ID: str(task_id).encode(),
        CORRELATION_VALUE: correlation_value.encode(),
        **source,
    }


def listener_topic_of(headers: Headers) -> str:
    """The listener topic a forwarded message was read from."""
    return headers.get(LISTENER_TOPIC, b"").decode(errors="replace")


def delivery_target(headers: Headers) -> tuple[UUID, UUID]:
    """The workflow and task a delivered message is for."""
    try:
        return UUID(headers[WORKFLOW_ID].decode()), UUID(headers[TASK_ID].decode())
    except (KeyError, ValueError) as error:
        raise ValueError(f"delivery without a workflow and task: {error}") from None


def source_headers(message: Any) -> Headers:
    """The source position (and key, if any) of ``message``: what it carries if the engine forwarded it, else
    its own."""
    headers = headers_of(message)
    if SOURCE_TOPIC in headers:
        return {name: headers[name] for name in SOURCE_HEADERS if name in headers}
    own = {
        SOURCE_TOPIC: str(message.topic).encode(),
        SOURCE_PARTITION: str(message.partition).encode(),
        SOURCE_OFFSET: str(message.offset).encode(),
    }
    return own if message.key is None else {**own, SOURCE_KEY: message.key}


def position(source: Headers) -> dict[str, str]:
    """The ``topic``, ``partition`` and ``offset`` of source headers, as text (``?`` where one is missing)."""
    names = {"topic": SOURCE_TOPIC, "partition": SOURCE_PARTITION, "offset": SOURCE_OFFSET}
    return {field: source.get(name, b"?").decode(errors="replace") for field, name in names.items()}


def dead_letter_headers(source: Headers, reason: str, detail: str) -> Headers:
    """The headers of a dead letter: its source, its reason and its detail (cut to :data:`DETAIL_LIMIT`)."""
    return {**source, REASON: reason.encode(), DETAIL: detail[:DETAIL_LIMIT].encode(errors="replace")}


def omitted_value(source: Headers, size: int) -> bytes:
    """The marker that stands in a dead letter for a value of ``size`` bytes too large to keep."""
    return json.dumps({"dagger_omitted_value": {"size": size, **position(source)}}).encode()


def _json_object(value: bytes | str | None, what: str) -> dict[str, Any]:
    try:
        decoded = json.loads(value or b"")
    except ValueError as error:
        raise ValueError(f"{what} is not JSON: {error}") from None
    if not isinstance(decoded, dict):
        raise ValueError(f"{what} is a {type(decoded).__name__}, not an object")
    return decoded


def _uuid(data: dict[str, Any], name: str) -> UUID:
    try:
        return UUID(str(data[name]))
    except (KeyError, ValueError) as error:
        raise ValueError(f"no {name}: {type(error).__name__}: {error}") from None
