"""How a walk passes over tasks that have ended, and what skipping leaves behind: a resumed workflow moves on
from where it stopped, skipped tasks start nothing and stay skipped, a failed parallel step starts no more
children, and what a skipped or finished part held (correlation keys, timers, monitors) is given back."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import pytest

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.modeler.definition import ParallelCompositeProcessTemplateDagBuilder
from dagger.service.services import Dagger
from dagger.tasks.task import (
    DecisionTask,
    DefaultTemplateDAGInstance,
    IntervalTask,
    ParallelCompositeTask,
    SkipOnMaxDurationTask,
    TaskOperator,
    TaskStatus,
)
from dagger.templates.template import (
    DecisionTaskTemplateBuilder,
    IntervalTaskTemplateBuilder,
    ITemplateDAG,
    ParallelCompositeTaskTemplateBuilder,
    TriggerTaskTemplateBuilder,
)
from tests.unit.workflows import (
    Fulfilment,
    Note,
    OrderCommand,
    OrderListener,
    Overdue,
    Poll,
    Wait,
    executed,
    order_template,
)


def statuses(workflow: DefaultTemplateDAGInstance) -> dict[str, str]:
    """The status of every task by the last part of its name (the workflow's own under ``"workflow"``)."""
    found = {(task.task_name or "").rsplit(".", 1)[-1]: task.status.code for task in workflow.tasks.values()}
    return {**found, "workflow": workflow.status.code}


def task_named(workflow: DefaultTemplateDAGInstance, name: str) -> Any:
    return next(task for task in workflow.tasks.values() if (task.task_name or "").rsplit(".", 1)[-1] == name)


def set_status(workflow: DefaultTemplateDAGInstance, code: str, *names: str) -> None:
    for name in names:
        task_named(workflow, name).status = TaskStatus(code=code, value=code)


async def created(template: ITemplateDAG, **parameters: Any) -> DefaultTemplateDAGInstance:
    """A workflow created and not yet started."""
    executed.clear()
    return await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, **{"order_number": "A1", **parameters}
    )


async def started(template: ITemplateDAG, **parameters: Any) -> DefaultTemplateDAGInstance:
    executed.clear()
    return await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, **{"order_number": "A1", **parameters}
    )


def pending_timers(engine: Any, workflow: DefaultTemplateDAGInstance) -> set[UUID]:
    return {task_id for workflow_id, task_id in engine._store.triggers if workflow_id == workflow.id}


def process(name: str, *task_builders: Any, **options: Any) -> Any:
    helper = DAGBuilderHelper(Dagger.app)
    return helper.generic_process_builder(
        process_name=name, root_task=helper.build_and_link_tasks(list(task_builders)), **options
    )


def note(name: str) -> Any:
    return DAGBuilderHelper(Dagger.app).generic_executor_task_builder(task_type=Note, name=name)


def listener(topic: str, process_name: str, **options: Any) -> Any:
    return DAGBuilderHelper(Dagger.app).generic_listener_task_builder(
        topic=topic, task_type=OrderListener, process_name=process_name, **options, value_serializer="json"
    )


def command(topic: str, process_name: str) -> Any:
    return DAGBuilderHelper(Dagger.app).generic_command_task_builder(
        topic=topic, task_type=OrderCommand, process_name=process_name
    )


def workflow_of(name: str, *process_builders: Any) -> ITemplateDAG:
    helper = DAGBuilderHelper(Dagger.app)
    return helper.generic_template(template_name=name, root_process=helper.build_and_link_processes(process_builders))


PAYMENT = ("PAYMENT_command_task", "PAYMENT_listener_task")


@pytest.mark.parametrize(
    ("ended", "expected_executed", "expected"),
    [
        pytest.param(
            {"COMPLETED": ["PAYMENT_command_task"]},
            [],
            {"PAYMENT_listener_task": "EXECUTING", "PAYMENT": "EXECUTING"},
            id="command-done",
        ),
        pytest.param(
            {"COMPLETED": list(PAYMENT)},
            ["OrderWorkflow.SHIPPING.SHIPPING_command_task"],
            {"PAYMENT": "COMPLETED", "SHIPPING_listener_task": "EXECUTING"},
            id="listener-done",
        ),
        pytest.param(
            {"COMPLETED": [*PAYMENT, "PAYMENT"]},
            ["OrderWorkflow.SHIPPING.SHIPPING_command_task"],
            {"PAYMENT": "COMPLETED", "SHIPPING_listener_task": "EXECUTING"},
            id="process-done",
        ),
        pytest.param(
            {"SKIPPED": [*PAYMENT, "PAYMENT"]},
            ["OrderWorkflow.SHIPPING.SHIPPING_command_task"],
            {"PAYMENT": "SKIPPED", "PAYMENT_listener_task": "SKIPPED", "SHIPPING_listener_task": "EXECUTING"},
            id="process-skipped",
        ),
        pytest.param(
            {"COMPLETED": ["PAYMENT_command_task"], "SKIPPED": ["PAYMENT_listener_task"]},
            ["OrderWorkflow.SHIPPING.SHIPPING_command_task"],
            {"PAYMENT_listener_task": "SKIPPED", "PAYMENT": "COMPLETED", "SHIPPING_listener_task": "EXECUTING"},
            id="listener-skipped",
        ),
        pytest.param(
            {"SKIPPED": ["PAYMENT_command_task"]},
            [],
            {"PAYMENT_command_task": "SKIPPED", "PAYMENT_listener_task": "EXECUTING"},
            id="command-skipped",
        ),
    ],
)
async def test_a_resumed_workflow_moves_on_from_the_tasks_that_had_ended(engine, ended, expected_executed, expected):
    """What a worker that died between two steps left: the walk passes the ended tasks, keeping their status."""
    workflow = await created(order_template())
    set_status(workflow, "EXECUTING", "PAYMENT")
    for code, names in ended.items():
        set_status(workflow, code, *names)

    await engine.submit(workflow)

    assert executed == expected_executed, "an ended task ran again or the walk stopped at it"
    assert {name: statuses(workflow)[name] for name in expected} == expected


def parallel_then_after(name: str) -> ITemplateDAG:
    first = process("FIRST", listener("FIRST_EVENTS", "FIRST")).build()
    second = process("SECOND", listener("SECOND_EVENTS", "SECOND")).build()
    both = ParallelCompositeProcessTemplateDagBuilder(Dagger.app).set_name("BOTH").set_type(ParallelCompositeTask)
    both.set_parallel_process_templates(first).set_parallel_process_templates(second)  # type: ignore[attr-defined]
    return workflow_of(name, both, process("AFTER", note("after")))


@pytest.mark.parametrize("code", ["COMPLETED", "SKIPPED"])
async def test_a_resumed_workflow_moves_on_from_a_parallel_step_that_had_ended(engine, code):
    workflow = await created(parallel_then_after(f"ResumedParallel{code}"))
    set_status(workflow, code, "BOTH", "FIRST", "SECOND", "FIRST_listener_task", "SECOND_listener_task")

    await engine.submit(workflow)

    assert executed == [f"ResumedParallel{code}.AFTER.after_executor_task"]
    assert statuses(workflow)["BOTH"] == code
    assert statuses(workflow)["workflow"] == "COMPLETED"


class TakeSecond(DecisionTask[str, str]):
    async def evaluate(self, **kwargs: Any) -> UUID | None:
        return self.next_dags[1]


def branching(name: str, first_branch: Any, second_branch: Any) -> ITemplateDAG:
    decision = DecisionTaskTemplateBuilder(Dagger.app).set_type(TakeSecond).set_name("choose")
    decision.set_next(first_branch).set_next(second_branch)
    return workflow_of(
        name, DAGBuilderHelper(Dagger.app).generic_process_builder(process_name="DECIDE", root_task=decision.build())
    )


async def test_a_resumed_workflow_runs_the_branch_its_decision_had_chosen(engine):
    helper = DAGBuilderHelper(Dagger.app)
    branches = [helper.build_and_link_tasks([note(f"{branch}_a"), note(f"{branch}_b")]) for branch in ("one", "two")]
    workflow = await created(branching("ResumedDecision", *branches))
    set_status(workflow, "EXECUTING", "DECIDE")
    set_status(workflow, "COMPLETED", "choose")
    set_status(workflow, "SKIPPED", "one_a_executor_task", "one_b_executor_task")

    await engine.submit(workflow)

    assert executed == [
        "ResumedDecision.DECIDE.two_a_executor_task",
        "ResumedDecision.DECIDE.two_b_executor_task",
    ]
    assert statuses(workflow)["one_a_executor_task"] == "SKIPPED"
    assert statuses(workflow)["workflow"] == "COMPLETED"


async def test_walking_a_running_process_again_keeps_its_start_and_its_single_duration_monitor(engine, manual_clock):
    workflow = await started(
        workflow_of("Rewalked", process("SLOW", listener("SLOW_EVENTS", "SLOW"), max_run_duration=60))
    )
    slow = task_named(workflow, "SLOW")
    started_at = slow.time_submitted

    manual_clock.advance(30)
    await workflow.start(workflow_instance=workflow)

    assert slow.time_submitted == started_at
    assert len([task for task in workflow.tasks.values() if isinstance(task, SkipOnMaxDurationTask)]) == 1


class FailLoudly(Note):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: Any = None) -> None:
        executed.append(self.task_name or "")
        raise RuntimeError("boom")


async def test_once_a_failing_child_has_failed_the_workflow_no_other_parallel_child_starts(engine):
    helper = DAGBuilderHelper(Dagger.app)
    children = [
        process(name, helper.generic_executor_task_builder(task_type=FailLoudly, name=name.lower())).build()
        for name in ("FIRST", "SECOND")
    ]
    both = ParallelCompositeProcessTemplateDagBuilder(Dagger.app).set_name("BOTH").set_type(ParallelCompositeTask)
    for child in children:
        both.set_parallel_process_templates(child)  # type: ignore[attr-defined]
    workflow = await started(workflow_of("FailFast", both, process("AFTER", note("after"))))

    assert statuses(workflow)["workflow"] == "FAILURE"
    assert len(executed) == 1, f"children started after the workflow had failed: {executed}"


def at_least_one_with_a_limited_child(name: str, after: Any) -> ITemplateDAG:
    """ATLEAST_ONE over FIRST (a listener, at most 60 s) and SECOND (a listener), then ``after``."""
    first = process("FIRST", listener("FIRST_EVENTS", "FIRST"), max_run_duration=60).build()
    second = process("SECOND", listener("SECOND_EVENTS", "SECOND")).build()
    both = ParallelCompositeProcessTemplateDagBuilder(Dagger.app).set_name("BOTH").set_type(ParallelCompositeTask)
    both.set_parallel_process_templates(first).set_parallel_process_templates(second)  # type: ignore[attr-defined]
    both.set_parallel_operator_type(TaskOperator.ATLEAST_ONE)  # type: ignore[attr-defined]
    return workflow_of(name, both, after)


async def test_a_finished_workflow_completes_the_monitors_and_releases_the_listeners_its_unfinished_children_held(
    engine, manual_clock
):
    workflow = await started(at_least_one_with_a_limited_child("Leftovers", process("AFTER", note("after"))))
    monitor = next(task for task in workflow.tasks.values() if isinstance(task, SkipOnMaxDurationTask))
    assert task_named(workflow, "BOTH").time_submitted == manual_clock.time()

    await engine.deliver("SECOND_EVENTS", {"order_number": "A1"})

    assert statuses(workflow)["workflow"] == "COMPLETED"
    assert statuses(workflow)["FIRST_listener_task"] == "EXECUTING"
    assert monitor.status.code == "COMPLETED"
    assert pending_timers(engine, workflow) == set()
    assert engine.keys_of(workflow.id) == set()


def skip_to_template(name: str) -> ITemplateDAG:
    """PAYMENT (a monitored process: command, listener), SHIPPING (command, listener that may be skipped to),
    LABEL (an executor)."""
    payment = process("PAYMENT", command("PAYMENT_COMMAND", "PAYMENT"), listener("PAYMENT_EVENTS", "PAYMENT"))
    payment.set_type(Fulfilment)
    shipping = process(
        "SHIPPING",
        command("SHIPPING_COMMAND", "SHIPPING"),
        listener("SHIPPING_EVENTS", "SHIPPING", allow_skip_to=True),
    )
    return workflow_of(name, payment, shipping, process("LABEL", note("label")))


async def test_skipping_to_a_listener_skips_only_what_is_before_it_and_starts_nothing_skipped(engine, manual_clock):
    workflow = await started(skip_to_template("SkipTo"))
    manual_clock.advance(5)

    await engine.deliver("SHIPPING_EVENTS", {"order_number": "A1"})

    assert executed == ["SkipTo.PAYMENT.PAYMENT_command_task", "SkipTo.LABEL.label_executor_task"]
    found = statuses(workflow)
    assert (found["PAYMENT_listener_task"], found["PAYMENT"], found["SHIPPING_command_task"]) == ("SKIPPED",) * 3
    assert (found["SHIPPING_listener_task"], found["SHIPPING"]) == ("COMPLETED", "COMPLETED")
    assert (found["label_executor_task"], found["workflow"]) == ("COMPLETED", "COMPLETED")
    assert task_named(workflow, "SHIPPING_listener_task").time_submitted == manual_clock.time()
    assert engine.keys_of(workflow.id) == set(), "a skipped listener still waits for its message"


async def test_walking_again_after_a_skip_to_keeps_the_skipped_tasks_skipped(engine):
    first = process("FIRST", listener("FIRST_EVENTS", "FIRST"))
    second = process(
        "SECOND", listener("SECOND_EVENTS", "SECOND"), listener("THIRD_EVENTS", "THIRD", allow_skip_to=True)
    )
    workflow = await started(workflow_of("SkipThenWalk", first, second))
    await engine.deliver("THIRD_EVENTS", {"order_number": "A1", "done": False})
    skipped = ["FIRST_listener_task", "FIRST", "SECOND_listener_task"]
    assert [statuses(workflow)[name] for name in skipped] == ["SKIPPED"] * 3

    await workflow.start(workflow_instance=workflow)

    assert [statuses(workflow)[name] for name in skipped] == ["SKIPPED"] * 3
    assert statuses(workflow)["THIRD_listener_task"] == "EXECUTING"


async def test_a_listener_skipped_over_that_may_be_skipped_to_still_takes_its_message(engine):
    payment = process("PAYMENT", listener("PAYMENT_EVENTS", "PAYMENT", allow_skip_to=True))
    shipping = process("SHIPPING", listener("SHIPPING_EVENTS", "SHIPPING", allow_skip_to=True))
    workflow = await started(
        workflow_of("SkippedOver", payment, shipping, process("LAST", listener("LAST_EVENTS", "LAST")))
    )
    await engine.deliver("SHIPPING_EVENTS", {"order_number": "A1"})
    assert statuses(workflow)["PAYMENT_listener_task"] == "SKIPPED"
    assert statuses(workflow)["LAST_listener_task"] == "EXECUTING"

    await engine.deliver("PAYMENT_EVENTS", {"order_number": "A1", "box_id": "B7"})

    assert statuses(workflow)["PAYMENT_listener_task"] == "COMPLETED"
    assert workflow.runtime_parameters["box_id"] == "B7"
    assert statuses(workflow)["PAYMENT"] == "SKIPPED", "a skipped process was completed by a late child"
    assert statuses(workflow)["LAST_listener_task"] == "EXECUTING"


async def test_a_branch_not_taken_gives_back_its_listener_and_skips_the_children_of_its_parallel_step(engine):
    labels = ParallelCompositeTaskTemplateBuilder(Dagger.app, 2, note("label").build())
    labels.set_type(ParallelCompositeTask).set_name("labels")
    first_branch = DAGBuilderHelper(Dagger.app).build_and_link_tasks([listener("WAIT_EVENTS", "WAIT"), labels])
    workflow = await started(branching("NotTaken", first_branch, note("chosen").build()))
    parallel = task_named(workflow, "labels")

    assert statuses(workflow)["WAIT_listener_task"] == "SKIPPED"
    assert {workflow.get_task(child).status.code for child in parallel.parallel_child_task_list} == {"SKIPPED"}
    assert executed == ["NotTaken.DECIDE.chosen_executor_task"]
    assert statuses(workflow)["workflow"] == "COMPLETED"
    assert engine.keys_of(workflow.id) == set()


def slow_process_template(name: str) -> ITemplateDAG:
    """SLOW (monitored, at most 60 s): a trigger due in 1000 s, then LATE; then AFTER."""
    wait = TriggerTaskTemplateBuilder(Dagger.app).set_type(Wait).set_name("wait")
    wait.set_time_to_execute_lookup_key("ship_at")  # type: ignore[attr-defined]
    slow = process("SLOW", wait, note("late"), max_run_duration=60, process_type=Fulfilment)
    return workflow_of(name, slow, process("AFTER", note("after")))


async def test_a_process_past_its_maximum_duration_is_skipped_whole_and_starts_nothing_inside(engine, manual_clock):
    workflow = await started(slow_process_template("TooSlow"), ship_at=str(manual_clock.time() + 1000))
    wait = task_named(workflow, "wait")

    manual_clock.advance(30)
    await engine.fire_due_timers()
    assert statuses(workflow)["SLOW"] == "EXECUTING", "skipped before its maximum duration"

    manual_clock.advance(31)
    await engine.fire_due_timers()
    found = statuses(workflow)
    assert (found["SLOW"], found["wait"], found["late_executor_task"]) == ("SKIPPED",) * 3
    assert executed == ["TooSlow.AFTER.after_executor_task"]
    assert found["workflow"] == "COMPLETED"
    assert wait.id not in pending_timers(engine, workflow)


def monitored_template(name: str) -> ITemplateDAG:
    """FULFIL (monitored, at most 60 s): an executor; then NEXT waits on ``NEXT_EVENTS``."""
    fulfil = process("FULFIL", note("pack"), process_type=Fulfilment, max_run_duration=60)
    return workflow_of(name, fulfil, process("NEXT", listener("NEXT_EVENTS", "NEXT")))


async def test_a_process_that_ends_in_time_completes_its_monitors_and_leaves_no_timer(engine, manual_clock):
    due = int(manual_clock.time()) + 30
    workflow = await started(monitored_template("InTime"), complete_by_time=str(due))
    monitors = [task for task in workflow.tasks.values() if isinstance(task, SkipOnMaxDurationTask | Overdue)]

    assert statuses(workflow)["FULFIL"] == "COMPLETED"
    assert statuses(workflow)["NEXT_listener_task"] == "EXECUTING"
    assert sorted(type(monitor).__name__ for monitor in monitors) == ["Overdue", "SkipOnMaxDurationTask"]
    assert {monitor.status.code for monitor in monitors} == {"COMPLETED"}
    assert pending_timers(engine, workflow) == set()
    assert await engine.get_monitoring_task(task_named(workflow, "FULFIL"), workflow) in monitors

    manual_clock.advance(100)
    await engine.fire_due_timers()
    assert "overdue" not in workflow.runtime_parameters


async def test_a_monitored_process_without_a_due_time_runs_without_a_monitor(engine):
    workflow = await started(monitored_template("NoDueTime"))
    assert statuses(workflow)["FULFIL"] == "COMPLETED"
    assert not [task for task in workflow.tasks.values() if isinstance(task, Overdue)]


class PollFails(Poll):
    async def interval_execute(self, runtime_parameters: dict[str, Any]) -> bool:
        raise ValueError("the poll broke")


def polling_template(name: str, poll_type: type[IntervalTask[str, str]]) -> ITemplateDAG:
    poll = IntervalTaskTemplateBuilder(Dagger.app).set_type(poll_type).set_name("poll")
    poll.set_interval_execute_period_lookup_key("period")  # type: ignore[attr-defined]
    poll.set_time_to_force_complete_lookup_key("deadline")  # type: ignore[attr-defined]
    return workflow_of(name, process("POLL", poll, note("after")))


async def test_an_interval_that_raises_fails_the_task_and_the_workflow_with_its_error(engine, manual_clock):
    deadline = str(manual_clock.time() + 100)
    workflow = await started(polling_template("PollFails", PollFails), period="10", deadline=deadline)
    poll = task_named(workflow, "poll")

    assert poll.status.code == "FAILURE"
    assert poll.message is not None and "the poll broke" in poll.message
    assert statuses(workflow)["workflow"] == "FAILURE"
    assert executed == []


async def test_an_interval_that_raises_has_ended_when_start_returns(engine, manual_clock):
    workflow = DefaultTemplateDAGInstance(uuid.uuid1())
    poll = PollFails(uuid.uuid1(), interval_execute_period=10, time_to_force_complete=int(manual_clock.time()) + 100)
    workflow.add_task(poll)

    assert await poll.start(workflow) is True
    assert poll.status.code == "FAILURE"


async def test_an_interval_started_again_before_its_time_waits_without_polling(engine, manual_clock):
    deadline = str(manual_clock.time() + 100)
    workflow = await started(polling_template("PollEarly", Poll), period="10", deadline=deadline, polls_needed=3)
    poll = task_named(workflow, "poll")
    assert workflow.runtime_parameters["polls"] == 1

    manual_clock.advance(5)
    assert await poll.start(workflow) is False
    assert workflow.runtime_parameters["polls"] == 1, "polled before its period had passed"

    manual_clock.advance(5)
    await engine.fire_due_timers()
    assert workflow.runtime_parameters["polls"] == 2
