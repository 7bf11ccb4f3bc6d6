"""The scale benchmark's seeded records, its options, and how its figures are tabled and written."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks._changelogs import slices, waiting_order_id
from benchmarks._scale_results import WAITING_FIGURES, TimerResult, WaitingResult, ratio_to_first, scale_json
from benchmarks._scale_run import spread
from benchmarks._seeding import CORRELATIONS_TABLE, TRIGGERS_TABLE, WORKFLOWS_TABLE, changelog_topic, state_builder
from benchmarks.scale import parse_options, table_lines
from dagger import codec
from dagger.store._correlation_index import lookup_key
from dagger.tasks.task import CorreletableKeyTasks, ITemplateDAGInstance, Trigger
from examples.pizza.settings import workflow_id
from examples.pizza.workflow import PizzaTopics

TOPICS = PizzaTopics(orders="scale-orders", ready="scale-ready")


def _task_statuses(workflow: ITemplateDAGInstance) -> dict[str, str]:
    return {str(task.task_name).rsplit(".", 1)[-1]: task.status.code for task in workflow.tasks.values()}


async def test_a_seeded_pizza_workflow_is_stored_started_and_waiting_on_its_order() -> None:
    with state_builder(TOPICS) as builder:
        records = await builder.waiting_pizzas([waiting_order_id(7), waiting_order_id(8)])
    workflows = records.by_table[WORKFLOWS_TABLE]
    assert [key for key, _ in workflows] == [str(workflow_id(waiting_order_id(n))).encode() for n in (7, 8)]
    workflow = codec.loads(workflows[0][1], expected=ITemplateDAGInstance, strict=True)
    assert (workflow.status.code, workflow.update_count) == ("EXECUTING", 1)
    statuses = _task_statuses(workflow)
    assert (statuses["Order_command_task"], statuses["Order_listener_task"]) == ("COMPLETED", "EXECUTING")
    (key, value), _ = records.by_table[CORRELATIONS_TABLE]
    assert key == lookup_key(waiting_order_id(7), TOPICS.ready).encode()
    (entry,) = codec.loads(value, expected=CorreletableKeyTasks).lookup_keys
    assert (entry.workflow_id, entry.partition_key) == (workflow.id, waiting_order_id(7))
    assert records.by_table[TRIGGERS_TABLE] == []


async def test_a_seeded_timer_is_indexed_by_its_due_time_and_by_its_task() -> None:
    with state_builder(TOPICS) as builder:
        records = await builder.future_timers(["a"], due=4_000_000_000)
    ((_, payload),) = records.by_table[WORKFLOWS_TABLE]
    workflow = codec.loads(payload, expected=ITemplateDAGInstance, strict=True)
    assert _task_statuses(workflow)["alarm"] == "EXECUTING"
    by_task, by_due = sorted(records.by_table[TRIGGERS_TABLE])
    assert by_due[0].startswith(b"t:000004000000000:") and by_task[1] == by_due[0]
    trigger = codec.loads(by_due[1], expected=Trigger)
    assert (trigger.workflow_id, trigger.trigger_time) == (workflow_id("a"), 4_000_000_000)


async def test_records_are_handed_over_once() -> None:
    with state_builder(TOPICS) as builder:
        await builder.waiting_pizzas([waiting_order_id(1)])
        records = await builder.waiting_pizzas([waiting_order_id(2)])
    assert len(records) == 2


def test_changelogs_are_named_as_faust_names_them() -> None:
    assert changelog_topic("app", WORKFLOWS_TABLE) == "app-kv_table-changelog"


def test_the_numbers_are_split_into_consecutive_slices() -> None:
    assert slices(10, 3) == [range(0, 4), range(4, 7), range(7, 10)]
    assert slices(2, 4) == [range(0, 1), range(1, 2)]
    assert spread(3, 9) == [0, 3, 6]
    with pytest.raises(ValueError):
        spread(4, 3)


def test_options_list_the_states_and_refuse_too_few_workflows() -> None:
    options = parse_options(["--waiting", "100000,1000,1000", "--events", "10", "--future-timers", ""])
    assert (options.waiting, options.future_timers, options.plan.events) == ([1000, 100000], [], 10)
    assert '--waiting 1000,100000 --events 10 --future-timers ""' in options.command()
    for wrong in (["--waiting", "1000,x"], ["--waiting", "0"], ["--waiting", "11", "--events", "10"]):
        with pytest.raises(SystemExit):
            parse_options(wrong)


def _waiting(count: int, event_cpu: float) -> WaitingResult:
    return WaitingResult(count, 2.0, 1.0, 4.0, 2.0, 100, event_cpu, event_cpu / 2, 2**20, 2**21, 0.5, 1.0, 3, 3)


def test_each_state_is_compared_with_the_smallest() -> None:
    assert ratio_to_first([2.0, 3.0]) == [1.0, 1.5]
    assert math.isnan(ratio_to_first([0.0, 1.0])[1])
    lines = table_lines(
        "waiting", WAITING_FIGURES, [(10, _waiting(10, 0.1)), (20, _waiting(20, 0.2))], "worker_cpu_ms_per_event"
    )
    assert lines[0].split()[:4] == ["waiting", "seed", "s", "CPU"]
    assert lines[2].split()[0] == "20" and lines[2].split()[-1] == "2.00"


def test_the_json_has_every_figure_of_every_state() -> None:
    timer = TimerResult(1000, 100, 2, 1.0, 3.0, 0.01, 5.0, 0.06, 3.0, 2**20, 2**20)
    document = json.loads(json.dumps(scale_json({"events": 100}, [_waiting(20, 0.3), _waiting(10, 0.1)], [timer])))
    first, second = document["waiting"]
    assert (first["waiting"], first["worker_cpu_ms_per_event"], first["rebuild_workflows_per_s"]) == (10, 1.0, 2.5)
    assert (first["rebuild_workflows_per_cpu_s"], first["rocksdb_cpu_ms_per_event"]) == (5.0, 0.5)
    assert second["cpu_per_event_ratio"] == pytest.approx(3.0)
    (tick,) = document["timers"]
    assert (tick["tick_cpu_ms"], tick["worker_cpu_ms_per_due_timer"], tick["idle_cpu_ms_per_s"]) == (30.0, 0.3, 2.0)
