"""The model's rules, each pinned where a one-line slip would break it: how a parallel step joins its children,
what a decision skips, that an exception in ``evaluate`` fails the workflow, that STOPPED ends a task for good,
and that an executor runs exactly once."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import pytest

from dagger import codec
from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.modeler.definition import ParallelCompositeProcessTemplateDagBuilder
from dagger.service.services import Dagger
from dagger.tasks.task import DecisionTask, DefaultTemplateDAGInstance, ParallelCompositeTask, TaskOperator, TaskStatus
from dagger.templates.template import DecisionTaskTemplateBuilder, ITemplateDAG
from tests.unit.workflows import BoxListener, Explode, Note, OrderListener, executed


def statuses(workflow: DefaultTemplateDAGInstance) -> dict[str, str]:
    """The status of every task by the last part of its name (the workflow's own under ``"workflow"``)."""
    found = {(task.task_name or "").rsplit(".", 1)[-1]: task.status.code for task in workflow.tasks.values()}
    return {**found, "workflow": workflow.status.code}


def parallel_template(
    name: str, operator: TaskOperator, first_fails: bool = False, first_max_run_duration: int = 0
) -> ITemplateDAG:
    """Two child processes run side by side, then AFTER. FIRST waits on ``FIRST_EVENTS`` for the order number
    (or fails at once with ``first_fails``; is skipped after ``first_max_run_duration`` seconds when set), SECOND
    on ``SECOND_EVENTS`` for the box id."""
    helper = DAGBuilderHelper(Dagger.app)
    first_task = (
        helper.generic_executor_task_builder(task_type=Explode, name="first")
        if first_fails
        else helper.generic_listener_task_builder(
            topic="FIRST_EVENTS", task_type=OrderListener, process_name="FIRST", value_serializer="json"
        )
    )
    first = helper.generic_process_builder(
        process_name="FIRST", root_task=first_task.build(), max_run_duration=first_max_run_duration
    ).build()
    second_task = helper.generic_listener_task_builder(
        topic="SECOND_EVENTS", task_type=BoxListener, process_name="SECOND", value_serializer="json"
    )
    second = helper.generic_process_builder(process_name="SECOND", root_task=second_task.build()).build()
    both = ParallelCompositeProcessTemplateDagBuilder(Dagger.app).set_name("BOTH").set_type(ParallelCompositeTask)
    both.set_parallel_process_templates(first).set_parallel_process_templates(second)  # type: ignore[attr-defined]
    both.set_parallel_operator_type(operator)  # type: ignore[attr-defined]
    after = helper.generic_process_builder(
        process_name="AFTER", root_task=helper.generic_executor_task_builder(task_type=Note, name="after").build()
    )
    return helper.generic_template(
        template_name=name,
        root_process=helper.build_and_link_processes([both, after]),  # type: ignore[list-item]
    )


async def start(template: ITemplateDAG) -> DefaultTemplateDAGInstance:
    executed.clear()
    return await template.create_instance(
        uuid.uuid1(), "order_number", repartition=False, submit_task=True, order_number="A1", box_id="B1"
    )


async def test_join_all_completes_once_every_child_has_ended(engine):
    workflow = await start(parallel_template("JoinAll", TaskOperator.JOIN_ALL))
    assert statuses(workflow)["BOTH"] == "EXECUTING"

    await engine.deliver("FIRST_EVENTS", {"order_number": "A1"})
    assert statuses(workflow)["FIRST"] == "COMPLETED"
    assert statuses(workflow)["BOTH"] == "EXECUTING", "JOIN_ALL ended with a child still waiting"
    assert executed == []

    await engine.deliver("SECOND_EVENTS", {"box_id": "B1"})
    assert statuses(workflow)["BOTH"] == "COMPLETED"
    assert statuses(workflow)["workflow"] == "COMPLETED"
    assert executed == ["JoinAll.AFTER.after_executor_task"], "AFTER ran once, after both"


async def test_a_child_that_runs_past_its_maximum_duration_is_skipped_and_its_parallel_step_goes_on(
    engine, manual_clock
):
    workflow = await start(parallel_template("Overdue", TaskOperator.JOIN_ALL, first_max_run_duration=30))
    manual_clock.advance(31)
    await engine.fire_due_timers()
    found = statuses(workflow)
    assert (found["FIRST"], found["FIRST_listener_task"]) == ("SKIPPED", "SKIPPED")
    assert (found["BOTH"], found["SECOND"], found["AFTER"]) == ("EXECUTING", "EXECUTING", "NOT_STARTED")
    assert engine.keys_of(workflow.id) == {"B1_SECOND_EVENTS"}, "the skipped listener still waits"

    await engine.deliver("SECOND_EVENTS", {"box_id": "B1"})
    assert statuses(workflow)["BOTH"] == "COMPLETED"
    assert statuses(workflow)["workflow"] == "COMPLETED"
    assert executed == ["Overdue.AFTER.after_executor_task"]


async def test_at_least_one_completes_with_its_first_child_that_ends_well(engine):
    workflow = await start(parallel_template("AtLeastOne", TaskOperator.ATLEAST_ONE))

    await engine.deliver("FIRST_EVENTS", {"order_number": "A1"})
    assert statuses(workflow)["BOTH"] == "COMPLETED", "ATLEAST_ONE waited for every child"
    assert executed == ["AtLeastOne.AFTER.after_executor_task"]
    assert statuses(workflow)["workflow"] == "COMPLETED"


async def test_at_least_one_does_not_fail_while_a_child_may_still_end_well(engine):
    workflow = await start(parallel_template("AtLeastOneFailing", TaskOperator.ATLEAST_ONE, first_fails=True))
    assert statuses(workflow)["FIRST"] == "FAILURE"
    assert statuses(workflow)["BOTH"] == "EXECUTING", "ATLEAST_ONE failed with a child still waiting"

    await engine.deliver("SECOND_EVENTS", {"box_id": "B1"})
    assert statuses(workflow)["BOTH"] == "COMPLETED"
    assert statuses(workflow)["workflow"] == "COMPLETED"


async def test_join_all_fails_when_a_child_fails(engine):
    workflow = await start(parallel_template("JoinAllFailing", TaskOperator.JOIN_ALL, first_fails=True))
    assert statuses(workflow)["BOTH"] == "FAILURE"
    assert statuses(workflow)["workflow"] == "FAILURE"
    assert executed == []


class TakeSecond(DecisionTask[str, str]):
    async def evaluate(self, **kwargs: Any) -> UUID | None:
        return self.next_dags[1]


class Undecided(DecisionTask[str, str]):
    async def evaluate(self, **kwargs: Any) -> UUID | None:
        raise RuntimeError("no rule for this order")


def branching_template(name: str, decision_type: type[DecisionTask[str, str]]) -> ITemplateDAG:
    """A decision between two branches of two executors each: ``one_a`` -> ``one_b`` and ``two_a`` -> ``two_b``."""
    helper = DAGBuilderHelper(Dagger.app)
    branches = [
        helper.build_and_link_tasks(
            [helper.generic_executor_task_builder(task_type=Note, name=f"{branch}_{step}") for step in ("a", "b")]
        )
        for branch in ("one", "two")
    ]
    decision = DecisionTaskTemplateBuilder(Dagger.app).set_type(decision_type).set_name("choose")
    for branch in branches:
        decision.set_next(branch)
    process = helper.generic_process_builder(process_name="DECIDE", root_task=decision.build())
    return helper.generic_template(template_name=name, root_process=process.build())


async def test_a_branch_not_taken_is_skipped_to_its_last_task(engine):
    workflow = await start(branching_template("Branches", TakeSecond))
    found = statuses(workflow)
    assert (found["one_a_executor_task"], found["one_b_executor_task"]) == ("SKIPPED", "SKIPPED")
    assert (found["two_a_executor_task"], found["two_b_executor_task"]) == ("COMPLETED", "COMPLETED")
    assert executed == ["Branches.DECIDE.two_a_executor_task", "Branches.DECIDE.two_b_executor_task"]
    assert found["workflow"] == "COMPLETED"


async def test_an_exception_in_evaluate_fails_the_workflow_with_its_error(engine):
    workflow = await start(branching_template("Undecided", Undecided))
    decision = next(task for task in workflow.tasks.values() if (task.task_name or "").endswith("choose"))
    assert decision.status.code == "FAILURE"
    assert decision.message is not None and "no rule for this order" in decision.message
    assert statuses(workflow)["workflow"] == "FAILURE"
    assert executed == [], "a branch ran although nothing was chosen"


async def test_a_decision_that_failed_stays_failed_when_started_again(engine):
    workflow = await start(branching_template("UndecidedAgain", Undecided))
    decision = next(task for task in workflow.tasks.values() if (task.task_name or "").endswith("choose"))
    await decision.start(workflow)
    assert decision.status.code == "FAILURE"
    assert statuses(workflow)["workflow"] == "FAILURE"
    assert executed == [], "starting a failed decision again ran a branch"


async def test_a_stopped_task_never_runs_again(engine):
    workflow = await start(parallel_template("Stopped", TaskOperator.JOIN_ALL))
    await workflow.stop()
    assert set(statuses(workflow).values()) <= {"STOPPED", "COMPLETED"}
    stopped = codec.dumps(workflow)

    for task in list(workflow.tasks.values()):
        await task.start(workflow)
    await engine.deliver("FIRST_EVENTS", {"order_number": "A1"})
    await engine.deliver("SECOND_EVENTS", {"box_id": "B1"})

    assert set(statuses(workflow).values()) <= {"STOPPED", "COMPLETED"}
    assert statuses(workflow)["workflow"] == "STOPPED"
    assert executed == []
    assert codec.dumps(workflow) == stopped, "starting or messaging a stopped workflow changed it"


@pytest.mark.parametrize("restarts", [1, 3])
async def test_an_executor_runs_once_however_often_its_workflow_is_walked(engine, restarts):
    workflow = await start(branching_template(f"Walked{restarts}", TakeSecond))
    for _ in range(restarts):
        await workflow.start(workflow_instance=workflow)
    assert executed == [f"Walked{restarts}.DECIDE.two_a_executor_task", f"Walked{restarts}.DECIDE.two_b_executor_task"]


async def test_an_executor_found_executing_is_completed_without_running_again(engine):
    """What a worker that died inside ``execute`` left: the command may have gone out, so it is not sent twice."""
    executed.clear()
    workflow = await branching_template("Resumed", TakeSecond).create_instance(
        uuid.uuid1(), "order_number", repartition=False, order_number="A1"
    )
    interrupted = next(
        task for task in workflow.tasks.values() if (task.task_name or "").endswith("two_a_executor_task")
    )
    interrupted.status = TaskStatus(code="EXECUTING", value="EXECUTING")

    await engine.submit(workflow)

    assert executed == ["Resumed.DECIDE.two_b_executor_task"]
    assert statuses(workflow)["two_a_executor_task"] == "COMPLETED"
    assert statuses(workflow)["workflow"] == "COMPLETED"
