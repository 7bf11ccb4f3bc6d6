"""How messages reach listeners (one payload, many workflows; ``match_only_one``; a listener that raises; a
listener that reprocesses), what stopping a workflow hands its tasks and keeps, and what a task records: when it
started, when it was last updated, its status value, and its id while it executes."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.service.services import Dagger
from dagger.tasks._executor import running_task_id
from dagger.tasks.task import (
    CorreletableKeyTasks,
    CorreletableLookUpKey,
    DefaultTemplateDAGInstance,
    ExecutorTask,
    ITask,
    SkipOnMaxDurationTask,
)
from dagger.templates.template import ITemplateDAG
from tests.unit.workflows import BoxListener, Note, OrderCommand, OrderListener, every_task_type_template, executed


def statuses(workflow: DefaultTemplateDAGInstance) -> dict[str, str]:
    """The status of every task by the last part of its name (the workflow's own under ``"workflow"``)."""
    found = {(task.task_name or "").rsplit(".", 1)[-1]: task.status.code for task in workflow.tasks.values()}
    return {**found, "workflow": workflow.status.code}


def task_named(workflow: DefaultTemplateDAGInstance, name: str) -> Any:
    return next(task for task in workflow.tasks.values() if (task.task_name or "").rsplit(".", 1)[-1] == name)


def two_listeners(name: str, first_type: type[ITask], second_type: type[ITask], **first_options: Any) -> ITemplateDAG:
    """ONE waits on ``ONE_EVENTS`` with ``first_type`` (built with ``first_options``), then TWO on ``TWO_EVENTS``
    with ``second_type``."""
    helper = DAGBuilderHelper(Dagger.app)
    processes = [
        helper.generic_process_builder(
            process_name=process,
            root_task=helper.generic_listener_task_builder(
                topic=f"{process}_EVENTS",
                task_type=listener_type,
                process_name=process,
                **options,
                value_serializer="json",
            ).build(),
        )
        for process, listener_type, options in (("ONE", first_type, first_options), ("TWO", second_type, {}))
    ]
    return helper.generic_template(template_name=name, root_process=helper.build_and_link_processes(processes))


async def start(template: ITemplateDAG, workflow_id: UUID | None = None, **parameters: Any) -> Any:
    """Start a workflow; the in-memory engine hands a message to the waiting workflows in the order of their ids."""
    return await template.create_instance(
        workflow_id or uuid.uuid1(), "order_number", repartition=False, submit_task=True, **parameters
    )


class OnlyOne(OrderListener):
    match_only_one: bool = True


async def test_a_match_only_one_listener_hands_each_correlation_value_to_one_waiting_task(engine):
    template = two_listeners("OnlyOne", OrderListener, OnlyOne)
    first, second, other = [
        await start(template, UUID(int=number), order_number=order, box_id=f"B{number}")
        for number, order in ((1, "A1"), (2, "A1"), (3, "A2"))
    ]
    for workflow in (first, second, other):
        await engine.deliver("ONE_EVENTS", {"order_number": workflow.runtime_parameters["order_number"]})

    await engine.deliver("TWO_EVENTS", {"order_numbers": ["A1", "A2"]})

    assert [workflow.status.code for workflow in (first, second, other)] == ["COMPLETED", "EXECUTING", "COMPLETED"]


async def test_a_task_that_ignores_a_message_does_not_count_as_the_one_that_took_it(engine):
    template = two_listeners("IgnoredFirst", BoxListener, OnlyOne)
    not_there_yet = await start(template, UUID(int=1), order_number="A1", box_id="B1")
    waiting = await start(template, UUID(int=2), order_number="A1", box_id="B2")
    await engine.deliver("ONE_EVENTS", {"box_id": "B2"})
    assert statuses(not_there_yet)["TWO_listener_task"] == "NOT_STARTED"

    await engine.deliver("TWO_EVENTS", {"order_number": "A1"})

    assert waiting.status.code == "COMPLETED"
    assert statuses(not_there_yet)["TWO_listener_task"] == "NOT_STARTED"


class Fussy(OrderListener):
    async def on_message(self, runtime_parameters: dict[str, str], *args: Any, **kwargs: Any) -> bool:
        if runtime_parameters.get("fussy"):
            raise ValueError("not this one")
        return await super().on_message(runtime_parameters, *args, **kwargs)


async def test_a_listener_that_raises_does_not_keep_the_message_from_the_other_workflows(engine):
    template = two_listeners("Fussy", Fussy, OrderListener)
    fussy = await start(template, UUID(int=1), order_number="A1", fussy="yes")
    calm = await start(template, UUID(int=2), order_number="A1")

    await engine.deliver("ONE_EVENTS", {"order_number": "A1"})

    assert statuses(fussy)["ONE"] == "EXECUTING"
    assert statuses(calm)["ONE"] == "COMPLETED"


class HalfReadable(OrderListener):
    async def get_correlatable_keys_from_payload(self, payload: Any) -> list[Any]:
        return [("order_number",), ("order_number", payload["order_number"])]


async def test_an_unusable_correlation_pair_is_passed_over_and_the_next_one_delivered(engine):
    workflow = await start(two_listeners("HalfReadable", HalfReadable, OrderListener), order_number="A1")

    await engine.deliver("ONE_EVENTS", {"order_number": "A1"})

    assert statuses(workflow)["ONE"] == "COMPLETED"


async def test_a_message_that_does_not_complete_its_listener_is_saved(engine):
    workflow = await start(two_listeners("NotDone", OrderListener, OrderListener), order_number="A1")
    saves = engine.saves

    await engine.deliver("ONE_EVENTS", {"order_number": "A1", "box_id": "B9", "done": False})

    assert statuses(workflow)["ONE_listener_task"] == "EXECUTING"
    assert workflow.runtime_parameters["box_id"] == "B9"
    assert engine.saves > saves, "the message's change to the runtime parameters was not saved"


async def test_a_completed_listener_that_reprocesses_handles_every_later_message_and_saves_it(engine):
    workflow = await start(
        two_listeners("Reprocess", OrderListener, OrderListener, reprocess_on_message=True), order_number="A1"
    )
    await engine.deliver("ONE_EVENTS", {"order_number": "A1"})
    assert statuses(workflow)["ONE_listener_task"] == "COMPLETED"
    assert statuses(workflow)["TWO_listener_task"] == "EXECUTING"
    assert "A1_ONE_EVENTS" in engine.keys_of(workflow.id)
    saves = engine.saves

    await engine.deliver("ONE_EVENTS", {"order_number": "A1", "box_id": "B2"})

    assert workflow.runtime_parameters["box_id"] == "B2"
    assert statuses(workflow)["ONE_listener_task"] == "COMPLETED"
    assert statuses(workflow)["TWO_listener_task"] == "EXECUTING"
    assert engine.saves > saves


stop_calls: list[tuple[str, dict[str, Any], Any]] = []


class Cancellable(OrderListener):
    async def stop(self, runtime_parameters: dict[str, str] | None = None, workflow_instance: Any = None) -> None:
        stop_calls.append((self.task_name or "", dict(runtime_parameters or {}), workflow_instance))
        if runtime_parameters is not None:
            runtime_parameters["cancelled_by"] = self.task_name or ""


async def test_stop_calls_the_hook_of_each_executing_task_with_the_given_parameters_and_keeps_what_it_writes(engine):
    stop_calls.clear()
    workflow = await start(two_listeners("Cancel", Cancellable, Cancellable), order_number="A1")
    saves = engine.saves

    await workflow.stop({"reason": "customer"})

    assert [name for name, _, _ in stop_calls] == ["Cancel.ONE.ONE_listener_task"], "a hook of a waiting-only task"
    _, parameters_seen, workflow_seen = stop_calls[0]
    assert parameters_seen["reason"] == "customer" and parameters_seen["order_number"] == "A1"
    assert workflow_seen is workflow
    assert workflow.runtime_parameters["reason"] == "customer"
    assert workflow.runtime_parameters["cancelled_by"] == "Cancel.ONE.ONE_listener_task"
    assert statuses(workflow)["workflow"] == "STOPPED"
    assert engine.saves > saves, "the stopped workflow was not saved"


async def test_stopping_a_workflow_leaves_the_monitor_of_its_running_process_stopped(engine):
    helper = DAGBuilderHelper(Dagger.app)
    waiting = helper.generic_listener_task_builder(
        topic="SLOW_EVENTS", task_type=OrderListener, process_name="SLOW", value_serializer="json"
    )
    slow = helper.generic_process_builder(process_name="SLOW", root_task=waiting.build(), max_run_duration=60)
    workflow = await start(helper.generic_template(template_name="StopMonitor", root_process=slow.build()))
    monitor = next(task for task in workflow.tasks.values() if isinstance(task, SkipOnMaxDurationTask))

    await workflow.stop()

    assert monitor.status.code == "STOPPED"
    assert statuses(workflow)["SLOW"] == "STOPPED"
    assert engine._store.triggers == {}


async def test_a_stopped_workflow_is_deleted_when_the_engine_deletes_ended_workflows(engine):
    engine.delete_workflow_on_complete = True
    workflow = await start(two_listeners("StopDelete", OrderListener, OrderListener), order_number="A1")

    await workflow.stop()

    assert workflow.status.code == "STOPPED"
    assert engine.deleted == [workflow.id]


async def test_each_task_records_when_it_started_and_a_status_value_equal_to_its_code(engine, manual_clock):
    start_time = int(manual_clock.time())
    template = every_task_type_template("Timestamps")
    template.set_dynamic_builders_for_process_template("DYNAMIC", [])
    parameters = {"order_number": "A1", "amount": "150", "period": "10", "deadline": str(start_time + 100)}
    workflow = await start(template, ship_at=str(start_time + 50), **parameters)
    await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1", "box_id": "B7"})
    assert task_named(workflow, "poll").time_submitted == start_time

    manual_clock.advance(10)
    await engine.fire_due_timers()
    await engine.deliver("BOX_EVENTS", {"box_id": "B7"})

    started_later = {"poll", "FULFILMENT_listener_task", "wait"}
    for task in [workflow, *workflow.tasks.values()]:
        assert task.status.value == task.status.code, task.task_name
        if task.status.code in ("NOT_STARTED", "SKIPPED") or task.task_name == "":
            continue
        name = (task.task_name or "").rsplit(".", 1)[-1]
        expected = start_time + 10 if name in started_later else start_time
        assert task.time_submitted == expected, name
    assert statuses(workflow)["wait"] == "EXECUTING"


def test_a_new_task_was_last_updated_when_created_and_a_stored_one_keeps_its_time(manual_clock):
    created = Note(uuid.uuid1())
    assert created.time_created == created.lastupdated == int(manual_clock.time())

    stored = Note(uuid.uuid1(), time_created=100, lastupdated=250)
    assert (stored.time_created, stored.lastupdated) == (100, 250)


def test_each_chunk_of_a_correlation_index_has_its_own_set_of_waiting_tasks():
    first, second = CorreletableKeyTasks(), CorreletableKeyTasks()
    first.lookup_keys.add(CorreletableLookUpKey(workflow_id=uuid.uuid1(), task_id=uuid.uuid1()))
    assert len(first.lookup_keys) == 1
    assert second.lookup_keys == set()


seen_running: list[tuple[UUID, UUID | None]] = []


class RecordsItsId(ExecutorTask[str, str]):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: Any = None) -> None:
        seen_running.append((self.id, running_task_id()))


async def test_while_an_executor_executes_its_id_is_the_running_task_id(engine):
    seen_running.clear()
    helper = DAGBuilderHelper(Dagger.app)
    tasks = [helper.generic_executor_task_builder(task_type=RecordsItsId, name=name) for name in ("a", "b")]
    command = helper.generic_command_task_builder(topic="SEND", task_type=OrderCommand, process_name="P")
    process = helper.generic_process_builder(process_name="P", root_task=helper.build_and_link_tasks([*tasks, command]))
    executed.clear()
    workflow = await start(helper.generic_template(template_name="Running", root_process=process.build()))

    assert workflow.status.code == "COMPLETED"
    assert [task_id for task_id, _ in seen_running] == [task_named(workflow, f"{n}_executor_task").id for n in "ab"]
    assert all(running == task_id for task_id, running in seen_running)
    assert running_task_id() is None
