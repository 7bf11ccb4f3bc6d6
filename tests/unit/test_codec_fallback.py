"""Decoding records whose class is not imported in the reading process: the declared type stands in."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from dagger import codec
from dagger.tasks.task import (
    DefaultTemplateDAGInstance,
    ITask,
    ITemplateDAGInstance,
    KafkaCommandTask,
    KafkaListenerTask,
    TaskStatus,
)


class PaymentCommandTask(KafkaCommandTask[str, str], namespace="tests.unit.codec_fallback.PaymentCommandTask"):
    """An application task: a reader of the update topic may not have its module."""

    amount: int = 0
    receipt: TaskStatus | None = None


def unknown(data: dict[str, Any]) -> str:
    """Rename the class ``data`` names to one this process has never registered; return the new name."""
    namespace = f"app.tasks.Unknown{uuid.uuid4().hex}"
    data[codec.METADATA_KEY] = {"ns": namespace}
    return namespace


def payment_workflow() -> tuple[DefaultTemplateDAGInstance, PaymentCommandTask, KafkaListenerTask]:
    workflow = DefaultTemplateDAGInstance(uuid.uuid1(), template_name="payments", runtime_parameters={"k": "v"})
    payment = PaymentCommandTask(
        uuid.uuid1(),
        task_name="pay",
        parent_id=workflow.id,
        status=TaskStatus(code="COMPLETED", value="Completed"),
        next_dags=[uuid.uuid1()],
        topic="payments",
        amount=1250,
        receipt=TaskStatus(code="SENT", value="Sent"),
    )
    listener = KafkaListenerTask(uuid.uuid1(), task_name="wait", topic="answers", parent_id=workflow.id)
    workflow.add_task(payment)
    workflow.add_task(listener)
    return workflow, payment, listener


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dagger.codec" and r.levelno == logging.WARNING]


def test_unknown_nested_task_decodes_as_the_declared_type_keeping_its_fields() -> None:
    workflow, payment, listener = payment_workflow()
    data = codec.to_data(workflow)
    unknown(data["tasks"][str(payment.id)])

    decoded = ITemplateDAGInstance.from_data(json.loads(json.dumps(data)))

    assert type(decoded) is DefaultTemplateDAGInstance and type(decoded.tasks[listener.id]) is KafkaListenerTask
    assert decoded.tasks[listener.id] == listener
    task = decoded.tasks[payment.id]
    assert type(task) is ITask
    assert {name: getattr(task, name) for name in ITask._options.fields} == {
        name: getattr(payment, name) for name in ITask._options.fields
    }
    assert task.status == TaskStatus(code="COMPLETED", value="Completed") and isinstance(task.next_dags[0], uuid.UUID)
    assert (task.topic, task.amount) == ("payments", 1250), "the fields ITask does not declare stay reachable"
    assert task.receipt == codec.to_data(payment.receipt), "a record in an undeclared field stays its JSON"
    assert not hasattr(task, codec.METADATA_KEY)
    assert decoded.runtime_parameters == {"k": "v"} and decoded.template_name == "payments"


def test_undeclared_fields_never_hide_the_declared_types_attributes() -> None:
    workflow, payment, _ = payment_workflow()
    data = codec.to_data(workflow)
    task_data = data["tasks"][str(payment.id)]
    unknown(task_data)
    task_data.update(execute="not a method", get_id="nor this")

    task = codec.from_data(data).tasks[payment.id]

    assert task.get_id() == payment.id and callable(task.execute)


def test_unknown_top_level_class_decodes_as_the_class_loads_is_called_on() -> None:
    workflow, payment, listener = payment_workflow()
    data = codec.to_data(workflow)
    unknown(data)
    payload = json.dumps(data).encode()

    for decoded in (ITemplateDAGInstance.loads(payload), ITemplateDAGInstance.from_data(json.loads(payload))):
        assert type(decoded) is ITemplateDAGInstance and decoded.id == workflow.id
        assert decoded.tasks == {payment.id: payment, listener.id: listener}
        assert type(decoded.tasks[payment.id]) is PaymentCommandTask, "known classes inside still decode as such"
    decoded_task = ITask.loads(payload)
    assert type(decoded_task) is ITask and decoded_task.id == workflow.id
    assert decoded_task.template_name == "payments", "fields ITask does not declare stay reachable"


def test_each_unknown_type_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dagger.codec")
    workflow, payment, _ = payment_workflow()
    second = PaymentCommandTask(uuid.uuid1(), task_name="refund", parent_id=workflow.id)
    workflow.add_task(second)
    data = codec.to_data(workflow)
    payment_type = unknown(data["tasks"][str(payment.id)])
    data["tasks"][str(second.id)][codec.METADATA_KEY] = {"ns": payment_type}
    workflow_type = unknown(data)
    payload = json.dumps(data)

    for _ in range(3):
        ITemplateDAGInstance.loads(payload)

    warned = warnings_of(caplog)
    assert len(warned) == 2, warned
    assert sum(payment_type in message for message in warned) == 1
    assert sum(workflow_type in message for message in warned) == 1
    assert any(payment_type in message and "ITask" in message for message in warned), warned


def test_unknown_type_with_no_declared_type_is_still_refused(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dagger.codec")
    data = codec.to_data(payment_workflow()[0])
    namespace = unknown(data)

    with pytest.raises(codec.RecordDecodeError, match=f"unknown record type '{namespace}'.*imported"):
        codec.loads(json.dumps(data))
    with pytest.raises(codec.RecordDecodeError, match="unknown record type"):
        codec.from_data(data)
    assert warnings_of(caplog) == []


def test_strict_decoding_refuses_an_unknown_nested_type(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dagger.codec")
    workflow, payment, _ = payment_workflow()
    data = codec.to_data(workflow)
    assert codec.loads(json.dumps(data), expected=ITemplateDAGInstance, strict=True) == workflow
    namespace = unknown(data["tasks"][str(payment.id)])

    with pytest.raises(codec.RecordDecodeError, match=f"unknown record type '{namespace}'"):
        codec.loads(json.dumps(data), expected=ITemplateDAGInstance, strict=True)
    assert warnings_of(caplog) == []
