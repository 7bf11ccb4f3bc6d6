"""How the codec writes values: the JSON each kind of value becomes, whatever its exact type, and what it refuses."""

from __future__ import annotations

import json
from collections import OrderedDict
from enum import Enum, StrEnum
from uuid import UUID

import pytest

from dagger import codec
from dagger.tasks.task import CorrelatableMapValue, TaskStatus, TaskStatusEnum

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
