"""Records whose fields are stored directly behave as faust builds them: defaults, coercion, post-init, errors."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.partitioner import DefaultPartitioner

from dagger import codec
from dagger._record_fields import assemble
from dagger.service._partitions import key_partitioner, partition_for
from dagger.tasks.task import DefaultTemplateDAGInstance, ExecutorTask, TaskStatus, Trigger


class CountedStep(ExecutorTask[str, str], coerce=True, namespace="tests.record_fields.CountedStep"):
    """An application task whose record coerces its fields, as faust does when asked to."""

    count: int = 0
    label: str = ""


class PlainStep(ExecutorTask[str, str], namespace="tests.record_fields.PlainStep"):
    count: int = 0


def test_a_record_that_coerces_keeps_faust_coercion_when_set_and_built() -> None:
    step = CountedStep(id=uuid.uuid1(), count="7")  # type: ignore[arg-type]
    step.label = 12  # type: ignore[assignment]
    assert (step.count, step.label) == (7, "12")


def test_a_record_that_does_not_coerce_stores_what_it_is_given() -> None:
    step = PlainStep(id=uuid.uuid1(), count="7")  # type: ignore[arg-type]
    step.count = "8"  # type: ignore[assignment]
    assert step.count == "8"


def test_assembling_gives_what_the_constructor_gives() -> None:
    workflow_id = uuid.uuid1()
    values = {"id": workflow_id, "template_name": "T", "time_created": 5, "lastupdated": 6, "status": None}
    assembled = assemble(DefaultTemplateDAGInstance, values)
    built = DefaultTemplateDAGInstance(**values)
    assert codec.to_data(assembled) == codec.to_data(built)
    assert assembled.status == TaskStatus()


def test_assembled_records_get_their_own_mutable_defaults_and_run_post_init() -> None:
    first = assemble(DefaultTemplateDAGInstance, {"id": uuid.uuid1()})
    second = assemble(DefaultTemplateDAGInstance, {"id": uuid.uuid1()})
    first.runtime_parameters["k"] = "v"
    first.next_dags.append(uuid.uuid1())
    first.status.code = "COMPLETED"
    assert (second.runtime_parameters, second.next_dags, second.status.code) == ({}, [], "NOT_STARTED")
    assert first.time_created > 0 and first.lastupdated == first.time_created
    assert assemble(Trigger, {}).trigger_time > 0


def test_assembling_without_a_required_field_is_refused() -> None:
    with pytest.raises(TypeError, match="'id'"):
        assemble(DefaultTemplateDAGInstance, {"template_name": "T"})


def test_a_record_decodes_through_assembly_with_its_fields_typed() -> None:
    step = PlainStep(id=uuid.uuid1(), count=3, parent_id=uuid.uuid1())
    decoded = codec.loads(codec.dumps(step))
    assert type(decoded) is PlainStep
    assert (decoded.id, decoded.parent_id, decoded.count) == (step.id, step.parent_id, 3)
    assert isinstance(decoded.status, TaskStatus)


@pytest.mark.parametrize("partitions", [1, 2, 3, 8, 31])
def test_keys_go_where_kafkas_default_partitioner_sends_them(partitions: int) -> None:
    all_partitions = list(range(partitions))
    keys = [f"order-{n}".encode() for n in range(300)] + [b"", "zürich".encode()]
    for key in keys:
        expected = DefaultPartitioner()(key, all_partitions, all_partitions)
        assert key_partitioner(key, all_partitions, all_partitions) == expected
        assert partition_for(key, partitions) == partition_for(key.decode(), partitions) == expected


def test_a_message_without_a_key_goes_to_an_available_partition() -> None:
    assert {key_partitioner(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}
    assert key_partitioner(None, [0, 1], []) in {0, 1}


def test_a_record_whose_creation_faust_defers_is_left_to_faust() -> None:
    class Deferred(ExecutorTask[str, str], lazy_creation=True, namespace="tests.record_fields.Deferred"):
        count: int = 0

    Deferred.make_final()
    step = Deferred(id=uuid.uuid1(), count=2)
    assert step.count == 2 and codec.loads(codec.dumps(step)).count == 2
