"""Timers on a running engine: trigger tasks, interval tasks, monitors, the maximum run duration of a
process, and the per-tick budget ``max_tasks_per_trigger``.

Time is a :class:`~dagger.utils.clock.ManualClock` that only the test moves; the engine's timer still
ticks every ``trigger_interval`` real seconds and reads that clock. A :class:`TickProbe` wraps the
store's ``get_valid_triggers`` on the engine instance to count the ticks and see what each one fires,
so "nothing happened" is asserted after a known number of whole ticks, never after a sleep.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

import pytest
from aiokafka import AIOKafkaProducer

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.service.services import Dagger
from dagger.tasks.task import (
    DefaultMonitoringTask,
    ExecutorTask,
    IntervalTask,
    ITask,
    ITemplateDAGInstance,
    KafkaListenerTask,
    MonitoredProcessTemplateDAGInstance,
    MonitoringTask,
    SkipOnMaxDurationTask,
    TaskLookupKey,
    Trigger,
    TriggerTask,
)
from dagger.templates.template import (
    IntervalTaskTemplateBuilder,
    ITemplateDAG,
    TaskTemplateBuilder,
    TriggerTaskTemplateBuilder,
)
from dagger.utils import clock
from dagger.utils.clock import ManualClock
from tests.integration.engines import EngineStarter, tasks_by_name, wait_for_status, workflow
from tests.support import CLOCK_START, unique_name, wait_for

T0 = CLOCK_START
"""Where the manual clock starts, in epoch seconds."""

TICK = 0.2
"""The engines' ``trigger_interval``, in real seconds."""

TRIGGER_TEMPLATE = "TimedRing"
INTERVAL_TEMPLATE = "Polling"
MONITORED_TEMPLATE = "WatchedGo"
SLOW_TEMPLATE = "SlowGo"
LATE_TRIGGER_TEMPLATE = "RingAfterGo"

MAX_RUN_DURATION = 30
"""The ``max_run_duration`` of the ``Slow`` process of :data:`SLOW_TEMPLATE`, in seconds."""


class Note(NamedTuple):
    """Something a task of this module did: for which workflow (its ``case``), what, and at what clock time."""

    case: str
    what: str
    at: int
    detail: dict[str, Any]


notes: list[Note] = []
"""Everything the tasks of this module did, in order."""


def note(case: str, what: str, **detail: Any) -> None:
    """Record that a task of workflow ``case`` did ``what`` now (Dagger's clock)."""
    notes.append(Note(case=case, what=what, at=clock.now(), detail=detail))


def notes_of(case: str, what: str | None = None) -> list[Note]:
    """The notes of workflow ``case``, only those saying ``what`` when given."""
    return [n for n in notes if n.case == case and (what is None or n.what == what)]


def whats(case: str) -> list[str]:
    """What the tasks of workflow ``case`` did, in order."""
    return [n.what for n in notes_of(case)]


# the tasks


class Ring(TriggerTask[str, str]):
    """A trigger task that notes when it runs."""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        """Note the run."""
        note(runtime_parameters["case"], "ring")


class Poll(IntervalTask[str, str]):
    """An interval task that notes each interval; it finishes at the interval named by the runtime parameter
    ``finish_after`` (never when that is 0)."""

    async def interval_execute(self, runtime_parameters: dict[str, str]) -> bool:
        """Note the interval; return True once ``finish_after`` intervals have run."""
        case = runtime_parameters["case"]
        note(case, "poll")
        finish_after = int(runtime_parameters.get("finish_after", 0))
        return finish_after > 0 and len(notes_of(case, "poll")) >= finish_after

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        """Note the final run."""
        note(runtime_parameters["case"], "poll_done")


class Done(ExecutorTask[str, str]):
    """The last task of every workflow of this module: notes that the workflow got there."""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        """Note the run."""
        note(runtime_parameters["case"], "done")


class Go(KafkaListenerTask[str, str]):
    """Waits for ``{"case": <case>, "go": true}`` on its topic, correlated by the runtime parameter ``case``."""

    correlatable_key = "case"

    async def get_correlatable_keys_from_payload(self, payload: Any) -> list[TaskLookupKey]:
        """The workflow the message is about."""
        return [(self.correlatable_key, json.loads(payload)["case"])]

    async def on_message(self, runtime_parameters: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        """Complete on a ``go``."""
        return bool(json.loads(args[0]).get("go"))


class OverdueMonitor(DefaultMonitoringTask):
    """A monitor that notes each call of ``process_monitored_task``."""

    async def process_monitored_task(self, monitored_task: ITask, workflow_instance: Any) -> None:
        """Note the call, with the monitored task's id and status at that moment."""
        note(
            workflow_instance.runtime_parameters["case"],
            "overdue",
            monitored_task_id=monitored_task.id,
            monitored_status=monitored_task.status.code,
        )


class WatchedProcess(MonitoredProcessTemplateDAGInstance):
    """A process watched by an :class:`OverdueMonitor` due at the runtime parameter ``complete_by_time``."""

    def get_monitoring_task_type(self) -> type[MonitoringTask]:
        """The monitor class."""
        return OverdueMonitor


# the workflows


def registering(go_topic: str) -> Callable[[Dagger], None]:
    """A ``register`` callback for ``start_engine``: registers every workflow of this module, with the
    :class:`Go` listeners waiting on ``go_topic``.

    - :data:`TRIGGER_TEMPLATE`: process ``Wait`` [``ring`` at ``ring_at``], then ``After`` [``done``];
    - :data:`INTERVAL_TEMPLATE`: process ``Poll`` [``poll`` every ``every`` s until ``deadline``], then ``After``;
    - :data:`MONITORED_TEMPLATE`: :class:`WatchedProcess` ``Watched`` [``go``], then ``After``;
    - :data:`SLOW_TEMPLATE`: process ``Slow`` [``go``] with ``max_run_duration`` :data:`MAX_RUN_DURATION`,
      then ``After``;
    - :data:`LATE_TRIGGER_TEMPLATE`: process ``Wait`` [``go``, then ``ring`` at ``ring_at``], then ``After``.
    """

    def register(engine: Dagger) -> None:
        def go(helper: DAGBuilderHelper, process_name: str) -> TaskTemplateBuilder:
            builder = helper.generic_listener_task_builder(
                topic=go_topic, task_type=Go, process_name=process_name, key_type=bytes, value_type=bytes
            )
            builder.set_name("go")
            return builder

        def ring() -> TaskTemplateBuilder:
            builder = TriggerTaskTemplateBuilder(Dagger.app)
            builder.set_type(Ring)
            builder.set_name("ring")
            builder.set_time_to_execute_lookup_key("ring_at")
            return builder

        def poll() -> TaskTemplateBuilder:
            builder = IntervalTaskTemplateBuilder(Dagger.app)
            builder.set_type(Poll)
            builder.set_name("poll")
            builder.set_interval_execute_period_lookup_key("every")
            builder.set_time_to_force_complete_lookup_key("deadline")
            return builder

        def template(template_name: str, first_process: Any) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            done = helper.generic_executor_task_builder(task_type=Done, name="done")
            done.set_name("done")
            after = helper.generic_process_builder(process_name="After", root_task=done.build())
            root = helper.build_and_link_processes([first_process, after])
            return helper.generic_template(template_name=template_name, root_process=root)

        @Dagger.register_template(TRIGGER_TEMPLATE)
        def timed_ring(template_name: str) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            wait = helper.generic_process_builder(process_name="Wait", root_task=ring().build())
            return template(template_name, wait)

        @Dagger.register_template(INTERVAL_TEMPLATE)
        def polling(template_name: str) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            return template(
                template_name, helper.generic_process_builder(process_name="Poll", root_task=poll().build())
            )

        @Dagger.register_template(MONITORED_TEMPLATE)
        def watched(template_name: str) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            process = helper.generic_process_builder(
                process_name="Watched", root_task=go(helper, "Watched").build(), process_type=WatchedProcess
            )
            return template(template_name, process)

        @Dagger.register_template(SLOW_TEMPLATE)
        def slow(template_name: str) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            process = helper.generic_process_builder(
                process_name="Slow", root_task=go(helper, "Slow").build(), max_run_duration=MAX_RUN_DURATION
            )
            return template(template_name, process)

        @Dagger.register_template(LATE_TRIGGER_TEMPLATE)
        def ring_after_go(template_name: str) -> ITemplateDAG:
            helper = DAGBuilderHelper(Dagger.app)
            tasks = helper.build_and_link_tasks([go(helper, "Wait"), ring()])
            return template(template_name, helper.generic_process_builder(process_name="Wait", root_task=tasks))

    return register


# time and ticks


@pytest.fixture(autouse=True)
def fresh_notes() -> None:
    """Each test starts with no notes."""
    notes.clear()


class TickProbe:
    """Watches an engine's timer: wraps ``engine._store.get_valid_triggers`` on the store instance to count
    the ticks and keep the triggers each tick yields. While ``paused``, ticks yield nothing."""

    def __init__(self, engine: Dagger) -> None:
        self.store = engine._store
        self.original = self.store.get_valid_triggers
        self.ticks: list[list[Trigger]] = []
        self.paused = False
        self.store.get_valid_triggers = self._get_valid_triggers  # type: ignore[method-assign]

    async def _get_valid_triggers(self) -> AsyncIterator[Trigger]:
        """One tick: the store's due triggers, each kept in this tick's list as it is yielded."""
        fired: list[Trigger] = []
        self.ticks.append(fired)
        if self.paused:
            return
        async for trigger in self.original():
            fired.append(trigger)
            yield trigger

    @property
    def count(self) -> int:
        """How many ticks have begun."""
        return len(self.ticks)

    async def wait_ticks(self, n: int) -> None:
        """Wait until ``n`` ticks have begun and ended after this call (ticks run one after the other,
        so the ``n``-th has ended once the next one has begun)."""
        target = self.count + n + 1
        await wait_for(lambda: self.count >= target, timeout=10 + 5 * n * TICK, message=f"{n} timer ticks")

    def since(self, first: int) -> list[list[Trigger]]:
        """The triggers yielded by each tick from tick number ``first`` on."""
        return self.ticks[first:]

    def restore(self) -> None:
        """Put the store's own ``get_valid_triggers`` back."""
        del self.store.get_valid_triggers


@pytest.fixture
async def timer_engine(manual_clock: ManualClock, start_engine: EngineStarter) -> AsyncIterator[Any]:
    """Factory: ``await timer_engine(**options)`` starts an engine with this module's workflows, ticking
    every :data:`TICK` s, and returns it with a :class:`TickProbe` on its timer."""
    probes: list[TickProbe] = []

    async def start(**options: Any) -> tuple[Dagger, TickProbe]:
        go_topic = unique_name("go")
        engine = await start_engine(register=registering(go_topic), trigger_interval=TICK, **options)
        engine.go_topic = go_topic  # type: ignore[attr-defined]
        probes.append(TickProbe(engine))
        return engine, probes[-1]

    yield start
    for probe in probes:
        probe.restore()


# helpers


async def create(engine: Dagger, template_name: str, prefix: str, **params: Any) -> tuple[uuid.UUID, str]:
    """Create and submit a workflow of ``template_name`` here, partitioned by a new ``case`` value; return its
    id and case."""
    workflow_id, case = uuid.uuid1(), unique_name(prefix)
    await engine.get_template(template_name).create_instance(
        workflow_id, "case", repartition=False, submit_task=True, case=case, **params
    )
    return workflow_id, case


async def task_named(engine: Dagger, workflow_id: uuid.UUID, name: str) -> Any:
    """The task of stored workflow ``workflow_id`` whose name ends with ``name``."""
    return tasks_by_name(await workflow(engine, workflow_id))[name]


async def wait_for_task(engine: Dagger, workflow_id: uuid.UUID, name: str, status: str, timeout: float = 30) -> Any:
    """Wait until task ``name`` of workflow ``workflow_id`` is stored with ``status``; return the task."""
    seen: list[str] = []

    async def reached() -> Any:
        found = await engine.get_instance(workflow_id, log=False)
        task = None if found is None else tasks_by_name(found).get(name)
        seen[:] = [task.status.code if task is not None else "absent"]
        return task if task is not None and task.status.code == status else None

    return await wait_for(reached, timeout=timeout, message=lambda: f"task {name} to be {status} (is {seen})")


async def send_go(engine: Dagger, producer: AIOKafkaProducer, case: str) -> None:
    """Answer the :class:`Go` listener of workflow ``case``."""
    payload = json.dumps({"case": case, "go": True}).encode()
    await producer.send_and_wait(engine.go_topic, key=case.encode(), value=payload)  # type: ignore[attr-defined]


async def trigger_of(engine: Dagger, workflow_id: uuid.UUID, task_id: uuid.UUID) -> Trigger | None:
    """The trigger the engine holds for a task, or None."""
    return await engine._store.get_trigger((workflow_id, task_id))


def task_by_id(found: ITemplateDAGInstance, task_id: uuid.UUID | None) -> Any:
    """Task ``task_id`` of ``found``; fails when it is not there."""
    task = None if task_id is None else found.get_task(task_id)
    assert task is not None, f"task {task_id} is not part of workflow {found.id}"
    return task


# 1. trigger tasks


async def test_trigger_task_runs_at_its_time_and_not_before(manual_clock: ManualClock, timer_engine: Any) -> None:
    engine, probe = await timer_engine()
    ring_at = T0 + 100
    workflow_id, case = await create(engine, TRIGGER_TEMPLATE, "ring", ring_at=ring_at)

    ring = await wait_for_task(engine, workflow_id, "ring", "EXECUTING")
    assert ring.time_to_execute == ring_at
    assert (await trigger_of(engine, workflow_id, ring.id)) is not None, "no trigger scheduled for the task"

    await probe.wait_ticks(3)
    manual_clock.set(ring_at - 1)
    await probe.wait_ticks(3)
    assert whats(case) == [], "the trigger task ran before its time"
    assert (await task_named(engine, workflow_id, "ring")).status.code == "EXECUTING"

    manual_clock.set(ring_at)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=10)
    assert whats(case) == ["ring", "done"]
    assert notes_of(case, "ring")[0].at == ring_at
    assert (await task_named(engine, workflow_id, "ring")).status.code == "COMPLETED"
    assert (await trigger_of(engine, workflow_id, ring.id)) is None, "the fired trigger was left scheduled"

    manual_clock.advance(1000)
    await probe.wait_ticks(3)
    assert whats(case) == ["ring", "done"], "the trigger task ran again"


# 2. interval tasks


async def test_interval_task_is_forced_to_complete_at_its_deadline(
    manual_clock: ManualClock, timer_engine: Any
) -> None:
    engine, probe = await timer_engine()
    deadline = T0 + 35
    workflow_id, case = await create(engine, INTERVAL_TEMPLATE, "forced", every=10, deadline=deadline)

    # The first interval runs when the task is reached; each later one when its period has passed.
    poll = await wait_for_task(engine, workflow_id, "poll", "EXECUTING")
    assert whats(case) == ["poll"]
    assert poll.time_to_execute == T0 + 10
    for intervals, at in ((2, T0 + 10), (3, T0 + 20), (4, T0 + 30)):
        manual_clock.set(at)
        await wait_for(
            lambda n=intervals: len(notes_of(case, "poll")) >= n, timeout=10, message=f"interval {intervals}"
        )
        assert [n.at for n in notes_of(case, "poll")][-1] == at

    manual_clock.set(deadline - 1)
    await probe.wait_ticks(3)
    assert whats(case) == ["poll"] * 4, "the interval task ran before its next interval"
    assert (await task_named(engine, workflow_id, "poll")).status.code == "EXECUTING"

    manual_clock.set(deadline)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=10)
    # Whether interval_execute is called once more at the deadline is left open; execute runs once, then on.
    assert [what for what in whats(case) if what != "poll"] == ["poll_done", "done"]
    assert whats(case)[-2:] == ["poll_done", "done"]
    assert len(notes_of(case, "poll")) in (4, 5)
    assert notes_of(case, "poll_done")[0].at == deadline
    poll = await task_named(engine, workflow_id, "poll")
    assert poll.status.code == "COMPLETED"
    assert (await task_named(engine, workflow_id, "After")).status.code == "COMPLETED"
    assert (await trigger_of(engine, workflow_id, poll.id)) is None

    runs = whats(case)
    manual_clock.advance(1000)
    await probe.wait_ticks(3)
    assert whats(case) == runs, "the interval task ran after it completed"


async def test_interval_task_that_finishes_on_its_second_interval_runs_twice(
    manual_clock: ManualClock, timer_engine: Any
) -> None:
    engine, probe = await timer_engine()
    workflow_id, case = await create(engine, INTERVAL_TEMPLATE, "twice", every=10, deadline=T0 + 1000, finish_after=2)

    await wait_for_task(engine, workflow_id, "poll", "EXECUTING")
    assert whats(case) == ["poll"]
    await probe.wait_ticks(3)
    assert whats(case) == ["poll"], "the interval ran again before its period passed"

    manual_clock.set(T0 + 10)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=10)
    assert whats(case) == ["poll", "poll", "poll_done", "done"]
    assert [n.at for n in notes_of(case)] == [T0, T0 + 10, T0 + 10, T0 + 10]

    for later in (T0 + 20, T0 + 1000, T0 + 5000):
        manual_clock.set(later)
        await probe.wait_ticks(2)
    assert len(notes_of(case, "poll")) == 2, f"interval_execute ran {len(notes_of(case, 'poll'))} times"
    assert whats(case) == ["poll", "poll", "poll_done", "done"]


# 3. monitors


async def test_monitor_fires_once_on_an_overdue_process(
    manual_clock: ManualClock, timer_engine: Any, producer: AIOKafkaProducer
) -> None:
    engine, probe = await timer_engine()
    complete_by = T0 + 60
    workflow_id, case = await create(engine, MONITORED_TEMPLATE, "overdue", complete_by_time=complete_by)

    await wait_for_task(engine, workflow_id, "go", "EXECUTING")
    found = await workflow(engine, workflow_id)
    process = tasks_by_name(found)["Watched"]
    monitor = task_by_id(found, process.monitoring_task_id)
    assert type(monitor) is OverdueMonitor
    assert (monitor.status.code, monitor.monitored_task_id, monitor.time_to_execute) == (
        "EXECUTING",
        process.id,
        complete_by,
    )

    manual_clock.set(complete_by - 1)
    await probe.wait_ticks(3)
    assert notes_of(case, "overdue") == [], "the monitor fired before complete_by_time"

    manual_clock.set(complete_by)
    await wait_for(lambda: notes_of(case, "overdue"), timeout=10, message="the monitor to fire")
    [overdue] = notes_of(case, "overdue")
    assert overdue.at == complete_by
    assert overdue.detail == {"monitored_task_id": process.id, "monitored_status": "EXECUTING"}

    for later in (complete_by + 1, complete_by + 1000):
        manual_clock.set(later)
        await probe.wait_ticks(2)
    assert len(notes_of(case, "overdue")) == 1, "the monitor fired more than once"
    found = await workflow(engine, workflow_id)
    assert task_by_id(found, monitor.id).status.code == "COMPLETED"
    assert found.status.code == "EXECUTING", "a DefaultMonitoringTask only reports; the process goes on"
    assert (await trigger_of(engine, workflow_id, monitor.id)) is None

    # The late process still finishes, and the monitor stays quiet.
    await send_go(engine, producer, case)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=20)
    assert whats(case) == ["overdue", "done"]


async def test_monitor_of_a_process_that_finishes_in_time_never_fires(
    manual_clock: ManualClock, timer_engine: Any, producer: AIOKafkaProducer
) -> None:
    engine, probe = await timer_engine()
    complete_by = T0 + 60
    workflow_id, case = await create(engine, MONITORED_TEMPLATE, "in-time", complete_by_time=complete_by)
    await wait_for_task(engine, workflow_id, "go", "EXECUTING")

    manual_clock.set(complete_by - 30)
    await send_go(engine, producer, case)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=20)
    found = await workflow(engine, workflow_id)
    process = tasks_by_name(found)["Watched"]
    monitor = task_by_id(found, process.monitoring_task_id)
    assert process.status.code == "COMPLETED"
    assert monitor.status.code == "COMPLETED"
    assert (await trigger_of(engine, workflow_id, monitor.id)) is None, "the monitor's trigger was left scheduled"

    for later in (complete_by, complete_by + 1000):
        manual_clock.set(later)
        await probe.wait_ticks(3)
    assert notes_of(case, "overdue") == [], "the monitor fired on a process that finished in time"
    assert whats(case) == ["done"]
    assert task_by_id(await workflow(engine, workflow_id), monitor.id).status.code == "COMPLETED"


# 4. maximum run duration


async def test_process_running_past_its_max_run_duration_is_skipped(
    manual_clock: ManualClock, timer_engine: Any
) -> None:
    engine, probe = await timer_engine()
    workflow_id, case = await create(engine, SLOW_TEMPLATE, "slow")

    await wait_for_task(engine, workflow_id, "go", "EXECUTING")
    found = await workflow(engine, workflow_id)
    slow = tasks_by_name(found)["Slow"]
    monitor = task_by_id(found, slow.max_run_duration_monitor_task_id)
    assert type(monitor) is SkipOnMaxDurationTask
    assert (monitor.monitored_task_id, monitor.time_to_execute) == (slow.id, T0 + MAX_RUN_DURATION)

    manual_clock.set(T0 + MAX_RUN_DURATION - 1)
    await probe.wait_ticks(3)
    assert (await task_named(engine, workflow_id, "Slow")).status.code == "EXECUTING"
    assert whats(case) == []

    manual_clock.set(T0 + MAX_RUN_DURATION)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=10)
    tasks = tasks_by_name(await workflow(engine, workflow_id))
    assert {name: tasks[name].status.code for name in ("go", "Slow", "done", "After")} == {
        "go": "SKIPPED",
        "Slow": "SKIPPED",
        "done": "COMPLETED",
        "After": "COMPLETED",
    }
    assert whats(case) == ["done"]
    assert (await trigger_of(engine, workflow_id, monitor.id)) is None


# 5. the per-tick budget


async def test_many_due_timers_are_drained_within_the_tick_budget(manual_clock: ManualClock, timer_engine: Any) -> None:
    count, budget = 60, 25
    engine, probe = await timer_engine(max_tasks_per_trigger=budget, kafka_partitions=3)
    ring_at = T0 + 100
    created = dict([await create(engine, TRIGGER_TEMPLATE, "many", ring_at=ring_at) for _ in range(count)])
    await wait_for_status(engine, created, "EXECUTING")
    await probe.wait_ticks(1)

    first = probe.count
    manual_clock.set(ring_at)
    await wait_for_status(engine, created, "COMPLETED", timeout=60)

    fired = [len(tick) for tick in probe.since(first)]
    busy = [n for n in fired if n]
    assert max(fired) <= budget, f"a tick fired more than {budget} triggers: {busy}"
    assert len(busy) >= math.ceil(count / budget), f"{count} triggers fired in only {len(busy)} ticks: {busy}"
    yielded = [trigger.workflow_id for tick in probe.since(first) for trigger in tick]
    assert sorted(map(str, yielded)) == sorted(map(str, created)), "each due trigger is fired exactly once"
    for case in created.values():
        assert whats(case) == ["ring", "done"]
        assert notes_of(case, "ring")[0].at == ring_at


# 6. triggers due before their task is reached


async def test_trigger_task_reached_after_its_time_runs_at_once(
    manual_clock: ManualClock, timer_engine: Any, producer: AIOKafkaProducer
) -> None:
    engine, probe = await timer_engine()
    ring_at = T0 + 50
    workflow_id, case = await create(engine, LATE_TRIGGER_TEMPLATE, "late", ring_at=ring_at)
    await wait_for_task(engine, workflow_id, "go", "EXECUTING")

    manual_clock.set(ring_at + 50)
    await probe.wait_ticks(3)
    assert whats(case) == [], "the timer ran a trigger task the workflow had not reached"
    assert (await task_named(engine, workflow_id, "ring")).status.code == "NOT_STARTED"

    # No tick fires anything from here on: the task must run when the workflow reaches it.
    probe.paused = True
    await probe.wait_ticks(1)
    await send_go(engine, producer, case)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=20)
    probe.paused = False
    assert whats(case) == ["ring", "done"]
    assert notes_of(case, "ring")[0].at == ring_at + 50
    ring = await task_named(engine, workflow_id, "ring")
    assert (await trigger_of(engine, workflow_id, ring.id)) is None


async def test_due_triggers_of_tasks_not_started_do_not_starve_the_others(
    manual_clock: ManualClock, timer_engine: Any, producer: AIOKafkaProducer
) -> None:
    blocked_count, reachable_count, budget = 30, 5, 10
    engine, probe = await timer_engine(max_tasks_per_trigger=budget)
    # The blocked workflows' triggers are due first, so a timer that kept them would fire only them.
    blocked = dict(
        [await create(engine, LATE_TRIGGER_TEMPLATE, "blocked", ring_at=T0 + 40) for _ in range(blocked_count)]
    )
    reachable = dict(
        [await create(engine, TRIGGER_TEMPLATE, "reachable", ring_at=T0 + 50) for _ in range(reachable_count)]
    )
    await wait_for_status(engine, [*blocked, *reachable], "EXECUTING")
    await probe.wait_ticks(1)

    first = probe.count
    manual_clock.set(T0 + 60)
    await wait_for_status(engine, reachable, "COMPLETED", timeout=20)

    ticks = probe.since(first)
    assert max(len(tick) for tick in ticks) <= budget, f"a tick fired more than {budget} triggers"
    reachable_ids = {str(workflow_id) for workflow_id in reachable}
    fired_at = [n for n, tick in enumerate(ticks, 1) if any(str(t.workflow_id) in reachable_ids for t in tick)]
    # Ideally 3 ticks drop the 30 blocked triggers and the 4th fires the reachable ones.
    assert fired_at and max(fired_at) <= 8, f"the reachable triggers fired only at ticks {fired_at}"
    for case in reachable.values():
        assert whats(case) == ["ring", "done"]
    for workflow_id, case in blocked.items():
        assert whats(case) == [], "the timer ran a trigger task the workflow had not reached"
        assert (await task_named(engine, workflow_id, "ring")).status.code == "NOT_STARTED"

    # Once reached, each blocked trigger task runs at once: its time has long passed.
    for case in blocked.values():
        await send_go(engine, producer, case)
    await wait_for_status(engine, blocked, "COMPLETED", timeout=30)
    for case in blocked.values():
        assert whats(case) == ["ring", "done"]
        assert notes_of(case, "ring")[0].at == T0 + 60
