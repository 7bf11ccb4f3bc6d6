"""What travels on the tasks topic besides a created workflow: a submission and a stop request.

Every message of the tasks topic goes to the owner of a workflow's partition. Its ``dagger-kind``
header says what the owner is asked to do:

- no header: store a created workflow (and start it if it was created submitted);
- ``submit``: start a workflow the application submitted (the value is the workflow, as for a creation);
- ``stop``: stop a stored workflow; the value is a :func:`stop request <encode_stop>`.

Telling a submission from a creation lets the owner log a repeated creation once: a creation that
finds its workflow stored is logged at INFO, the submission that follows it at DEBUG.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from dagger import codec

KIND = "dagger-kind"
SUBMIT = b"submit"
STOP = b"stop"


def encode_stop(workflow_id: UUID, runtime_parameters: dict[str, Any] | None) -> bytes:
    """A request to stop workflow ``workflow_id``, with the caller's runtime parameters (None: none given)."""
    parameters = None if runtime_parameters is None else codec.plain(runtime_parameters)
    return json.dumps({"workflow_id": str(workflow_id), "runtime_parameters": parameters}).encode()


def decode_stop(value: bytes | None) -> tuple[UUID, dict[str, Any] | None]:
    """The workflow id and runtime parameters of a stop request; a bare id (an earlier form) has no parameters.

    Raises:
        ValueError: ``value`` is not a stop request.
    """
    if value is None:
        raise ValueError("a stop request without a value")
    text = value.decode(errors="replace").strip()
    if not text.startswith("{"):
        return UUID(text), None
    try:
        request = json.loads(text)
        parameters = request.get("runtime_parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise ValueError(f"runtime_parameters is a {type(parameters).__name__}, not an object")
        return UUID(request["workflow_id"]), parameters
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a stop request: {type(error).__name__}: {error}") from None
