"""How workflows move from task to task, with the reference's defects fixed."""

from __future__ import annotations

import uuid
from typing import Any

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.service.services import Dagger
from dagger.tasks.task import (
    DecisionTask,
    DefaultTemplateDAGInstance,
    IntervalTask,
    MonitoringTask,
    ParallelCompositeTask,
    SkipOnMaxDurationTask,
    TaskStatus,
    TaskStatusEnum,
    TriggerTask,
)
from dagger.templates.template import DecisionTaskTemplateBuilder
from tests.unit.workflows import (
    BoxListener,
    Explode,
    Note,
    OrderListener,
    every_task_type_template,
    order_template,
)

PARAMETERS = {"order_number": "A1", "amount": "150", "period": "10", "deadline": "1700000100", "ship_at": "1700000050"}


def code(workflow: DefaultTemplateDAGInstance, name: str) -> str:
    return next(task.status.code for task in workflow.tasks.values() if task.task_name == name)


async def start_order(engine: Any, number: str = "A1") -> DefaultTemplateDAGInstance:
    return await order_template().create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, order_number=number
    )


async def test_order_workflow_runs_to_completion_and_leaves_no_correlation_entries(engine):
    workflow = await start_order(engine)
    assert code(workflow, "OrderWorkflow.PAYMENT.PAYMENT_command_task") == "COMPLETED"
    assert code(workflow, "OrderWorkflow.PAYMENT.PAYMENT_listener_task") == "EXECUTING"
    assert workflow.status.code == "EXECUTING"

    await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1"})
    assert code(workflow, "OrderWorkflow.PAYMENT") == "COMPLETED"
    assert code(workflow, "OrderWorkflow.SHIPPING.SHIPPING_listener_task") == "EXECUTING"
    assert engine.keys_of(workflow.id) == {"A1_SHIPPING_EVENTS"}

    await engine.deliver("SHIPPING_EVENTS", {"order_number": "A1"})
    assert workflow.status.code == "COMPLETED" and workflow.time_completed > 0
    assert all(task.status.code == "COMPLETED" for task in workflow.tasks.values())
    assert engine.keys_of(workflow.id) == set()


async def test_one_payload_completes_many_workflows_and_leaves_others_waiting(engine):
    workflows = [await start_order(engine, number) for number in ("A1", "A2", "A3")]
    await engine.deliver("PAYMENT_EVENTS", {"order_numbers": ["A1", "A3"]})
    assert [code(w, "OrderWorkflow.PAYMENT") for w in workflows] == ["COMPLETED", "EXECUTING", "COMPLETED"]


async def test_message_for_another_topic_or_unknown_key_changes_nothing(engine):
    workflow = await start_order(engine)
    saves = engine.saves
    await engine.deliver("PAYMENT_EVENTS", {"order_number": "nobody"})
    await engine.deliver("SHIPPING_EVENTS", {"order_number": "A1"})
    assert code(workflow, "OrderWorkflow.SHIPPING.SHIPPING_listener_task") == "NOT_STARTED"
    assert engine.saves == saves


async def test_decision_skips_every_branch_not_taken(engine):
    template = every_task_type_template()
    template.set_dynamic_builders_for_process_template("DYNAMIC", [])
    for amount, taken, skipped in (("150", "big", "small"), ("50", "small", "big")):
        template.set_dynamic_builders_for_process_template("DYNAMIC", [_builder()])
        workflow = await template.create_instance(
            uuid.uuid1(), "order_number", repartition=False, submit_task=True, **{**PARAMETERS, "amount": amount}
        )
        await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1"})
        assert code(workflow, f"EveryTask.PAYMENT.{taken}_executor_task") == "COMPLETED"
        assert code(workflow, f"EveryTask.PAYMENT.{skipped}_executor_task") == "SKIPPED"
        assert code(workflow, "EveryTask.PAYMENT") == "COMPLETED"


def _builder():
    from tests.unit.workflows import preprocessing_builder

    return preprocessing_builder("CLEAN")


class NoBranch(DecisionTask[str, str]):
    async def evaluate(self, **kwargs: Any) -> uuid.UUID | None:
        return None


async def test_decision_taking_no_branch_completes_its_process(engine):
    helper = DAGBuilderHelper(Dagger.app)
    decision = DecisionTaskTemplateBuilder(engine).set_type(NoBranch).set_name("route")
    decision.set_next(helper.generic_executor_task_builder(task_type=Note, name="a").build())
    decision.set_next(helper.generic_executor_task_builder(task_type=Note, name="b").build())
    process = helper.generic_process_builder(process_name="P", root_task=decision.build())
    after = helper.generic_process_builder(
        process_name="AFTER", root_task=helper.generic_executor_task_builder(task_type=Note, name="c").build()
    )
    template = helper.generic_template(
        template_name="D", root_process=helper.build_and_link_processes([process, after])
    )
    workflow = await template.create_instance(uuid.uuid1(), "k", repartition=False, submit_task=True, k="1")
    assert code(workflow, "D.P.a_executor_task") == "SKIPPED" and code(workflow, "D.P.b_executor_task") == "SKIPPED"
    assert code(workflow, "D.P") == "COMPLETED" and code(workflow, "D.AFTER.c_executor_task") == "COMPLETED"
    assert workflow.status.code == "COMPLETED"


async def test_a_failing_task_fails_its_process_and_workflow_and_starts_nothing_after_it(engine):
    helper = DAGBuilderHelper(Dagger.app)
    tasks = helper.build_and_link_tasks(
        [
            helper.generic_executor_task_builder(task_type=Explode, name="x"),
            helper.generic_executor_task_builder(task_type=Note, name="y"),
        ]
    )
    first = helper.generic_process_builder(process_name="P", root_task=tasks)
    second = helper.generic_process_builder(
        process_name="Q", root_task=helper.generic_executor_task_builder(task_type=Note, name="z").build()
    )
    template = helper.generic_template(template_name="F", root_process=helper.build_and_link_processes([first, second]))
    workflow = await template.create_instance(uuid.uuid1(), "k", repartition=False, submit_task=True, k="1")
    failed = next(task for task in workflow.tasks.values() if task.task_name == "F.P.x_executor_task")
    assert failed.status.code == "FAILURE" and failed.message == "RuntimeError: boom"
    assert code(workflow, "F.P.y_executor_task") == "NOT_STARTED" and code(workflow, "F.Q") == "NOT_STARTED"
    assert code(workflow, "F.P") == "FAILURE" and workflow.status.code == "FAILURE"


async def test_timer_tasks_keep_the_status_they_are_completed_with(engine):
    workflow = DefaultTemplateDAGInstance(uuid.uuid1())
    for task_type in (TriggerTask, IntervalTask, MonitoringTask):
        for status in ("SKIPPED", "FAILURE"):
            task = task_type(uuid.uuid1())
            workflow.add_task(task)
            await task.on_complete(workflow_instance=workflow, status=TaskStatus(code=status, value=status))
            assert task.status.code == status


async def test_trigger_interval_and_monitor_on_the_clock(engine, manual_clock):
    template = every_task_type_template()
    template.set_dynamic_builders_for_process_template("DYNAMIC", [_builder()])
    parameters = {**PARAMETERS, "deadline": str(manual_clock.time() + 100), "ship_at": str(manual_clock.time() + 50)}
    parameters["complete_by_time"] = str(int(manual_clock.time()) + 30)
    workflow = await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, **parameters
    )
    await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1", "box_id": "B7"})
    assert code(workflow, "EveryTask.FULFILMENT.poll") == "EXECUTING" and workflow.runtime_parameters["polls"] == 1

    manual_clock.advance(10)
    await engine._store.execute_system_timer_task()
    assert code(workflow, "EveryTask.FULFILMENT.poll") == "COMPLETED" and workflow.runtime_parameters["polls"] == 2
    assert code(workflow, "EveryTask.FULFILMENT.FULFILMENT_listener_task") == "EXECUTING"

    await engine.deliver("BOX_EVENTS", {"box_id": "B7"})
    assert code(workflow, "EveryTask.FULFILMENT.wait") == "EXECUTING"
    manual_clock.advance(25)
    await engine._store.execute_system_timer_task()
    assert "overdue" in workflow.runtime_parameters
    assert code(workflow, "EveryTask.FULFILMENT.wait") == "EXECUTING"
    manual_clock.advance(20)
    await engine._store.execute_system_timer_task()
    assert code(workflow, "EveryTask.FULFILMENT.wait") == "COMPLETED"
    assert workflow.status.code == "COMPLETED"
    assert engine._store.triggers == {} and engine.keys_of(workflow.id) == set()


class NeverDone(IntervalTask[str, str]):
    async def interval_execute(self, runtime_parameters: Any) -> bool:
        return False

    async def execute(self, runtime_parameters: Any, workflow_instance: Any = None) -> None:
        runtime_parameters["forced"] = "yes"


async def test_interval_task_forced_to_complete_at_its_deadline_completes(engine, manual_clock):
    workflow = DefaultTemplateDAGInstance(uuid.uuid1())
    now = int(manual_clock.time())
    task = NeverDone(uuid.uuid1(), interval_execute_period=30, time_to_force_complete=now + 45)
    workflow.add_task(task)
    assert await task.start(workflow) is False and task.time_to_execute == now + 30
    manual_clock.advance(30)
    assert await task.start(workflow) is False and task.time_to_execute == now + 45
    manual_clock.advance(15)
    assert await task.start(workflow) is True
    assert task.status.code == "COMPLETED" and workflow.runtime_parameters["forced"] == "yes"
    assert engine._store.triggers == {}


async def test_listener_without_its_correlation_value_registers_no_key_until_the_value_is_set(engine):
    template = every_task_type_template()
    template.set_dynamic_builders_for_process_template("DYNAMIC", [_builder()])
    workflow = await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, **PARAMETERS
    )
    other = await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, **PARAMETERS
    )
    box_listener = next(t for t in workflow.tasks.values() if isinstance(t, BoxListener))
    assert workflow.sensor_tasks_to_correletable_map[box_listener.id].correlatable_key_attr_value is None
    assert not any(key.endswith("_BOX_EVENTS") for key in engine.keys_of(workflow.id) | engine.keys_of(other.id))

    await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1", "box_id": "B1"})
    assert "B1_BOX_EVENTS" in engine.keys_of(workflow.id)


async def test_rekeying_a_listener_removes_its_old_key(engine):
    workflow = await start_order(engine)
    workflow.runtime_parameters["order_number"] = "Z9"
    await workflow._update_global_runtime_parameters()
    assert engine.keys_of(workflow.id) == {"Z9_PAYMENT_EVENTS", "Z9_SHIPPING_EVENTS"}
    await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1"})
    assert code(workflow, "OrderWorkflow.PAYMENT") == "EXECUTING"
    await engine.deliver("PAYMENT_EVENTS", {"order_number": "Z9"})
    assert code(workflow, "OrderWorkflow.PAYMENT") == "COMPLETED"


async def test_stop_marks_every_unfinished_task_stopped_including_parallel_children(engine):
    template = every_task_type_template()
    template.set_dynamic_builders_for_process_template("DYNAMIC", [_builder()])
    workflow = await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, **PARAMETERS
    )
    await workflow.stop(workflow.runtime_parameters, workflow)
    packing = next(t for t in workflow.tasks.values() if t.task_name == "EveryTask.PACKING")
    assert isinstance(packing, ParallelCompositeTask)
    assert {workflow.get_task(child).status.code for child in packing.parallel_child_task_list} == {"STOPPED"}
    assert code(workflow, "EveryTask.PAYMENT.PAYMENT_command_task") == "COMPLETED"
    assert code(workflow, "EveryTask.PAYMENT.PAYMENT_listener_task") == "STOPPED"
    assert workflow.status.code == "STOPPED" and engine.keys_of(workflow.id) == set() and engine._store.triggers == {}
    await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1"})
    assert workflow.status.code == "STOPPED"


async def test_stopping_a_finished_workflow_changes_nothing(engine):
    workflow = await start_order(engine)
    await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1"})
    await engine.deliver("SHIPPING_EVENTS", {"order_number": "A1"})
    saves = engine.saves
    await workflow.stop()
    assert workflow.status.code == "COMPLETED" and engine.saves == saves


async def test_skip_to_a_listener_skips_the_unfinished_tasks_before_it(engine):
    helper = DAGBuilderHelper(Dagger.app)
    first = helper.generic_listener_task_builder(
        topic="FIRST", task_type=OrderListener, process_name="ONE", value_serializer="json"
    )
    later = helper.generic_listener_task_builder(
        topic="LATER", task_type=OrderListener, process_name="TWO", allow_skip_to=True, value_serializer="json"
    )
    processes = [
        helper.generic_process_builder(process_name=name, root_task=b.build())
        for name, b in (("ONE", first), ("TWO", later))
    ]
    template = helper.generic_template(template_name="S", root_process=helper.build_and_link_processes(processes))
    workflow = await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, order_number="A1"
    )
    await engine.deliver("LATER", {"order_number": "A1"})
    assert code(workflow, "S.ONE.ONE_listener_task") == "SKIPPED" and code(workflow, "S.ONE") == "SKIPPED"
    assert code(workflow, "S.TWO.TWO_listener_task") == "COMPLETED" and workflow.status.code == "COMPLETED"


async def test_process_running_past_its_maximum_duration_is_skipped(engine, manual_clock):
    helper = DAGBuilderHelper(Dagger.app)
    listener = helper.generic_listener_task_builder(
        topic="SLOW", task_type=OrderListener, process_name="SLOW", value_serializer="json"
    )
    slow = helper.generic_process_builder(process_name="SLOW", root_task=listener.build(), max_run_duration=60)
    after = helper.generic_process_builder(
        process_name="AFTER", root_task=helper.generic_executor_task_builder(task_type=Note, name="n").build()
    )
    template = helper.generic_template(template_name="M", root_process=helper.build_and_link_processes([slow, after]))
    workflow = await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, order_number="A1"
    )
    monitor = next(t for t in workflow.tasks.values() if isinstance(t, SkipOnMaxDurationTask))
    manual_clock.advance(61)
    await engine._store.execute_system_timer_task()
    assert code(workflow, "M.SLOW") == "SKIPPED" and code(workflow, "M.SLOW.SLOW_listener_task") == "SKIPPED"
    assert monitor.status.code == "COMPLETED" and workflow.status.code == "COMPLETED"
    assert engine.keys_of(workflow.id) == set()


async def test_delete_on_complete_removes_the_workflow(engine):
    engine.delete_workflow_on_complete = True
    workflow = await start_order(engine)
    await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1"})
    await engine.deliver("SHIPPING_EVENTS", {"order_number": "A1"})
    assert engine.deleted == [workflow.id] and workflow.id not in engine.workflows


def test_task_status_enum_values_equal_names():
    assert all(member.name == member.value for member in TaskStatusEnum)
