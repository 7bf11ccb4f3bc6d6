"""How the codec writes values: the JSON each kind of value becomes, whatever its exact type, and what it refuses."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from enum import Enum, StrEnum
from uuid import UUID

import pytest

from dagger import codec
from dagger.tasks.task import (
    CorrelatableMapValue,
    CorreletableKeyTasks,
    CorreletableLookUpKey,
    DefaultTemplateDAGInstance,
    ExecutorTask,
    TaskStatus,
    TaskStatusEnum,
)

ID = UUID(int=7)


class Colour(Enum):
    RED = "red"


class Size(StrEnum):
    LARGE = "large"


class Count(int):
    pass


def test_each_kind_of_value_becomes_its_json_form() -> None:
    assert codec.plain(None) is None
    assert [codec.plain(value) for value in ("text", 3, 2.5, True)] == ["text", 3, 2.5, True]
    assert codec.plain(ID) == str(ID)
    assert codec.plain(Colour.RED) == "red"
    assert codec.plain((1, ID)) == [1, str(ID)]
    assert codec.plain(frozenset({ID})) == [str(ID)]
    assert codec.plain({ID: [Colour.RED]}) == {str(ID): ["red"]}


def test_subclasses_are_written_as_their_base_kind() -> None:
    assert codec.plain(Size.LARGE) is Size.LARGE and json.dumps(codec.plain(Size.LARGE)) == '"large"'
    assert codec.plain(Count(4)) == 4
    assert codec.plain(OrderedDict(a=ID)) == {"a": str(ID)}
    assert codec.plain(TaskStatus(code="COMPLETED", value="Completed")) == {
        "code": "COMPLETED",
        "value": "Completed",
        "__faust": {"ns": "dagger.tasks.task.TaskStatus"},
    }


@pytest.mark.parametrize("value", [b"bytes", object(), 1j])
def test_a_value_json_cannot_hold_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match=f"cannot encode a {type(value).__name__}"):
        codec.plain(value)


def test_a_record_is_written_as_compact_json_with_its_namespace() -> None:
    record = CorrelatableMapValue(correlatable_key_attr="order", correlatable_key_attr_value="A1")
    assert codec.dumps(record) == (
        b'{"correlatable_key_attr":"order","correlatable_key_attr_value":"A1",'
        b'"__faust":{"ns":"dagger.tasks.task.CorrelatableMapValue"}}'
    )
    assert codec.loads(codec.dumps(TaskStatus(code=TaskStatusEnum.SKIPPED.name, value="x"))).code == "SKIPPED"


def test_records_with_uuids_enums_and_sets_are_written_as_their_json_data() -> None:
    step = ExecutorTask(id=ID, parent_id=UUID(int=8), next_dags=[UUID(int=9)], task_name="é")
    step.runtime_parameters = {"colour": Colour.RED, "seen": {ID}}  # type: ignore[attr-defined]
    assert json.loads(codec.dumps(step)) == codec.to_data(step)
    assert codec.to_data(step)["parent_id"] == str(UUID(int=8))
    assert '"task_name":"é"' in codec.dumps(step).decode()


def test_a_mapping_keyed_by_uuids_is_written_with_string_keys() -> None:
    chunk = CorreletableKeyTasks(lookup_keys={CorreletableLookUpKey(workflow_id=ID, task_id=ID)}, key="k")
    decoded = codec.loads(codec.dumps(chunk))
    assert decoded.lookup_keys == chunk.lookup_keys
    workflow = DefaultTemplateDAGInstance(id=ID, tasks={ID: ExecutorTask(id=ID)})
    assert list(json.loads(codec.dumps(workflow))["tasks"]) == [str(ID)]
    assert list(codec.loads(codec.dumps(workflow)).tasks) == [ID]


def test_integers_beyond_64_bits_round_trip() -> None:
    record = CorrelatableMapValue(correlatable_key_attr="n", correlatable_key_attr_value=2**70)  # type: ignore[arg-type]
    assert b"1180591620717411303424" in codec.dumps(record)
    assert codec.loads(codec.dumps(record)).correlatable_key_attr_value == 2**70


def test_a_record_written_with_pythons_nan_still_decodes() -> None:
    written = json.dumps(
        {
            "correlatable_key_attr": float("nan"),
            "correlatable_key_attr_value": "v",
            "__faust": {"ns": CorrelatableMapValue._options.namespace},
        }
    )
    assert "NaN" in written
    assert math.isnan(codec.loads(written.encode()).correlatable_key_attr)


@pytest.mark.parametrize("payload", [b"{not json", b"", b"\xff\xfe", b"[1, 2"])
def test_bytes_that_are_not_json_are_refused(payload: bytes) -> None:
    with pytest.raises(codec.RecordDecodeError, match="not JSON"):
        codec.loads(payload)
