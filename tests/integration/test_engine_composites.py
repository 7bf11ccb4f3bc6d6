"""Composite workflows on a running engine: parallel processes and tasks, copies chosen per creation,
dynamic processes, and workflows composed at run time from registered process templates.

Every executor of this module notes that it ran in :data:`executed`; every listener waits for a
``{"order_id": ..., "status": "done"}`` message on its own topic. Each test uses its own order ids,
so what one test sees of :data:`executed` is only its own.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.modeler.definition import (
    DefaultTemplateBuilder,
    ParallelCompositeProcessTemplateDagBuilder,
    ProcessTemplateDagBuilder,
)
from dagger.service.services import Dagger
from dagger.tasks.task import (
    DefaultTemplateDAGInstance,
    ExecutorTask,
    ITask,
    ITemplateDAGInstance,
    KafkaListenerTask,
    ParallelCompositeTask,
    TaskLookupKey,
    TaskOperator,
    TaskType,
)
from dagger.templates.template import (
    DefaultTaskTemplate,
    IProcessTemplateDAG,
    ITemplateDAG,
    ParallelCompositeTaskTemplateBuilder,
    TaskTemplate,
)
from tests.integration.engines import EngineStarter, tasks_by_name, wait_for_status, workflow
from tests.support import unique_name, wait_for

PARALLEL_LEGS_TEMPLATE = "ParallelLegs"
FIRST_REPLY_TEMPLATE = "FirstReply"
FIRST_OR_AUTO_TEMPLATE = "FirstReplyOrAuto"
COPIES_TEMPLATE = "Copies"
DYNAMIC_TEMPLATE = "DynamicSteps"
COMPOSED_TEMPLATE = "Composed"

LEGS = ("LegA", "LegB", "LegC")
"""The child processes of the parallel legs workflow; each waits on a topic of its own."""

REGISTERED_PROCESSES = ("PACK", "LABEL", "WEIGH", "CONFIRM")
"""The process templates registered with ``@Dagger.register_process_template``; CONFIRM waits on a listener."""

WAIT = 30.0
"""Seconds any single wait of this module may take."""

executed: list[tuple[str, str]] = []
"""``(order_id, label)`` of every executor of this module that ran, in the order they ran."""


def _label(task_name: str | None) -> str:
    """The last part of a task name without the helper's ``_executor_task`` suffix: ``Step1``."""
    return (task_name or "").rsplit(".", 1)[-1].removesuffix("_executor_task")


class Step(ExecutorTask[str, str]):
    """An executor that notes it ran, under its label (``Finish`` for ``Finish_executor_task``)."""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        executed.append((runtime_parameters["order_id"], _label(self.task_name)))


class Done(KafkaListenerTask[str, str]):
    """Waits for ``{"order_id": ..., "status": "done"}`` on its topic, correlated by ``order_id``."""

    correlatable_key = "order_id"

    async def get_correlatable_keys_from_payload(self, payload: Any) -> list[TaskLookupKey]:
        """The order the message is about."""
        return [(self.correlatable_key, json.loads(payload)["order_id"])]

    async def on_message(self, runtime_parameters: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        """Complete when the message says ``done``."""
        return bool(json.loads(args[0]).get("status") == "done")


@dataclass
class Gate:
    """Holds one workflow's creation inside :class:`GatedTaskTemplate` until ``opened`` is set."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)


gates: dict[str, Gate] = {}
"""The gate of each order whose creation should stop at a :class:`GatedTaskTemplate`."""


class GatedTaskTemplate(DefaultTaskTemplate):
    """A task definition whose creation waits at the gate of the workflow's ``order_id``, when it has one.

    It lets a test hold a creation half-way, after it began and before the processes that follow
    this task are materialized.
    """

    async def create_instance(
        self,
        id: uuid.UUID,
        parent_id: uuid.UUID,
        parent_name: str,
        partition_key_lookup: str,
        *,
        repartition: bool = True,
        seed: random.Random | None = None,
        workflow_instance: ITemplateDAGInstance | None = None,
        **kwargs: Any,
    ) -> ITask:
        """Wait at the gate (if any), then create the task as usual."""
        order_id = workflow_instance.runtime_parameters.get("order_id") if workflow_instance is not None else None
        gate = gates.get(str(order_id))
        if gate is not None:
            gate.reached.set()
            await asyncio.wait_for(gate.opened.wait(), timeout=WAIT)
        return await super().create_instance(
            id,
            parent_id,
            parent_name,
            partition_key_lookup,
            repartition=repartition,
            seed=seed,
            workflow_instance=workflow_instance,
            **kwargs,
        )


@dataclass(frozen=True)
class Topics:
    """The topic names one engine of this module uses."""

    legs: dict[str, str]
    phone: str
    email: str
    confirm: str
    requests: str

    @classmethod
    def unique(cls) -> Topics:
        """Names no other engine uses."""
        return cls(
            legs={leg: unique_name(leg.lower()) for leg in LEGS},
            phone=unique_name("phone"),
            email=unique_name("email"),
            confirm=unique_name("confirm"),
            requests=unique_name("requests"),
        )


@dataclass
class Composer:
    """What the application agent of the requests topic did: the workflows it created, and its errors."""

    created: dict[str, uuid.UUID] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)


@dataclass(frozen=True)
class App:
    """A running engine with this module's templates, the topics they use and the composing agent."""

    engine: Dagger
    topics: Topics
    composer: Composer


def composed_workflow_id(order_id: str) -> uuid.UUID:
    """The id the composing agent gives the workflow of ``order_id``: the first draw of its seed."""
    return uuid.UUID(int=random.Random(order_id).getrandbits(128))


# definitions


def executor(helper: DAGBuilderHelper, name: str) -> TaskTemplate:
    """The definition of a :class:`Step` executor ``<name>_executor_task``."""
    return helper.generic_executor_task_builder(task_type=Step, name=name).build()


def listener(helper: DAGBuilderHelper, topic: str, process_name: str, then: TaskTemplate | None = None) -> TaskTemplate:
    """The definition of a :class:`Done` listener ``<process_name>_listener_task`` on ``topic``, then ``then``."""
    builder = helper.generic_listener_task_builder(
        topic=topic, task_type=Done, process_name=process_name, key_type=bytes, value_type=bytes
    )
    if then is not None:
        builder.set_next(then)
    return builder.build()


def executor_process(helper: DAGBuilderHelper, name: str) -> ProcessTemplateDagBuilder:
    """A builder of the process ``name`` whose only task is the executor ``<name>_executor_task``."""
    return helper.generic_process_builder(process_name=name, root_task=executor(helper, name))


def parallel_legs(helper: DAGBuilderHelper, name: str, topics: Topics) -> ITemplateDAG:
    """``Legs`` runs one process per leg, each waiting on its own topic (JOIN_ALL); then ``Finish``."""
    legs = ParallelCompositeProcessTemplateDagBuilder(helper.app)
    legs.set_name("Legs").set_type(ParallelCompositeTask)
    legs.set_parallel_operator_type(TaskOperator.JOIN_ALL)
    for leg in LEGS:
        root = listener(helper, topics.legs[leg], leg)
        legs.set_parallel_process_templates(helper.generic_process_builder(process_name=leg, root_task=root).build())
    legs.set_next_process(executor_process(helper, "Finish").build())
    return helper.generic_template(template_name=name, root_process=legs.build())


def first_reply(helper: DAGBuilderHelper, name: str, topics: Topics) -> ITemplateDAG:
    """``Wait``: the first of a phone or an email reply (ATLEAST_ONE), then ``Reply``; ``Close``: a
    confirmation, then ``Close``."""
    first = ParallelCompositeTaskTemplateBuilder(helper.app, 1, listener(helper, topics.phone, "Phone"))
    first.add_parallel_task(listener(helper, topics.email, "Email"))
    first.set_task_operator(TaskOperator.ATLEAST_ONE)
    first.set_type(ParallelCompositeTask).set_name("first_reply")
    first.set_next(executor(helper, "Reply"))
    wait = helper.generic_process_builder(process_name="Wait", root_task=first.build())
    close = helper.generic_process_builder(
        process_name="Close", root_task=listener(helper, topics.confirm, "Close", then=executor(helper, "Close"))
    )
    return helper.generic_template(template_name=name, root_process=helper.build_and_link_processes([wait, close]))


def first_reply_or_auto(helper: DAGBuilderHelper, name: str, topics: Topics) -> ITemplateDAG:
    """``Wait``: a phone reply or an automatic answer (ATLEAST_ONE), then ``Reply``."""
    first = ParallelCompositeTaskTemplateBuilder(helper.app, 1, listener(helper, topics.phone, "Phone"))
    first.add_parallel_task(executor(helper, "Auto"))
    first.set_task_operator(TaskOperator.ATLEAST_ONE)
    first.set_type(ParallelCompositeTask).set_name("first_reply")
    first.set_next(executor(helper, "Reply"))
    wait = helper.generic_process_builder(process_name="Wait", root_task=first.build())
    return helper.generic_template(template_name=name, root_process=wait.build())


def copies(helper: DAGBuilderHelper, name: str) -> ITemplateDAG:
    """``Intake`` (its creation can be held at a gate), ``Copies`` (parallel, JOIN_ALL; one ``Copy`` unless
    told otherwise), then ``Finish``."""
    intake_task = GatedTaskTemplate(
        app=helper.app, type=Step, name="Intake_executor_task", task_dag_template=[], allow_skip_to=False
    )
    intake = helper.generic_process_builder(process_name="Intake", root_task=intake_task)
    parallel = ParallelCompositeProcessTemplateDagBuilder(helper.app)
    parallel.set_name("Copies").set_type(ParallelCompositeTask)
    parallel.set_parallel_process_templates(executor_process(helper, "Copy").build())
    parallel.set_next_process(executor_process(helper, "Finish").build())
    intake.set_next_process(parallel.build())
    return helper.generic_template(template_name=name, root_process=intake.build())


def dynamic_steps(helper: DAGBuilderHelper, name: str) -> ITemplateDAG:
    """``Start``, the dynamic placeholder ``Steps`` (expanded per creation), then ``Finish``."""
    steps = helper.generic_dynamic_process_builder(name="Steps")
    steps.set_next_process(executor_process(helper, "Finish").build())
    start = executor_process(helper, "Start").set_next_process(steps.build())
    return helper.generic_template(template_name=name, root_process=start.build())


def registered_process(helper: DAGBuilderHelper, name: str, topics: Topics) -> IProcessTemplateDAG:
    """The reusable process ``name``: its executor, after a confirmation for CONFIRM."""
    root = executor(helper, name)
    if name == "CONFIRM":
        root = listener(helper, topics.confirm, name, then=root)
    return helper.generic_process_builder(process_name=name, root_task=root).build()


def compose(engine: Dagger, process_names: list[str]) -> ITemplateDAG:
    """A new workflow definition of the registered processes named: the one itself, or all of them in
    parallel (JOIN_ALL). The registered definitions are used as they are, never changed."""
    processes = [engine.get_process_template(name) for name in process_names]
    root = processes[0]
    if len(processes) > 1:
        parallel = ParallelCompositeProcessTemplateDagBuilder(engine)
        parallel.set_name("Requested").set_type(ParallelCompositeTask)
        for process in processes:
            parallel.set_parallel_process_templates(process)
        root = parallel.build()
    builder = DefaultTemplateBuilder(engine)
    builder.set_name(COMPOSED_TEMPLATE).set_type(DefaultTemplateDAGInstance).set_root(root)
    return builder.build()


def composing_agent(engine: Dagger, composer: Composer) -> Callable[[Any], Awaitable[None]]:
    """The application's agent: one new workflow per request ``{"order_id": ..., "processes": [...]}``."""

    async def on_requests(stream: Any) -> None:
        async for value in stream:
            try:
                request = json.loads(value)
                order_id = request["order_id"]
                seed = random.Random(order_id)
                workflow_id = uuid.UUID(int=seed.getrandbits(128))
                template = compose(engine, request["processes"])
                await template.create_instance(
                    workflow_id, "order_id", repartition=False, submit_task=True, seed=seed, order_id=order_id
                )
                composer.created[order_id] = workflow_id
            except Exception as error:
                composer.errors.append(error)

    return on_requests


def registering(topics: Topics, composer: Composer) -> Callable[[Dagger], None]:
    """Register this module's templates, process templates and composing agent, before the engine starts."""

    def register(engine: Dagger) -> None:
        helper = DAGBuilderHelper(engine)
        Dagger.register_template(PARALLEL_LEGS_TEMPLATE)(lambda name: parallel_legs(helper, name, topics))
        Dagger.register_template(FIRST_REPLY_TEMPLATE)(lambda name: first_reply(helper, name, topics))
        Dagger.register_template(FIRST_OR_AUTO_TEMPLATE)(lambda name: first_reply_or_auto(helper, name, topics))
        Dagger.register_template(COPIES_TEMPLATE)(lambda name: copies(helper, name))
        Dagger.register_template(DYNAMIC_TEMPLATE)(lambda name: dynamic_steps(helper, name))
        for process_name in REGISTERED_PROCESSES:
            Dagger.register_process_template(process_name)(lambda name: registered_process(helper, name, topics))
        requests = Dagger.create_topic(topics.requests, key_type=bytes, value_type=bytes)
        engine.faust_app.agent(requests, name=f"compose-{topics.requests}")(composing_agent(engine, composer))

    return register


@pytest.fixture
async def app(start_engine: EngineStarter) -> App:
    """An engine with this module's definitions, started."""
    topics, composer = Topics.unique(), Composer()
    engine = await start_engine(register=registering(topics, composer))
    return App(engine=engine, topics=topics, composer=composer)


# helpers


async def create(engine: Dagger, template: ITemplateDAG | str, order_id: str) -> uuid.UUID:
    """Create and submit a workflow of ``template`` for ``order_id`` on this worker; return its id."""
    definition = engine.get_template(template) if isinstance(template, str) else template
    workflow_id = uuid.uuid1()
    await definition.create_instance(workflow_id, "order_id", repartition=False, submit_task=True, order_id=order_id)
    return workflow_id


def new_order(prefix: str) -> str:
    """An order id no other test uses."""
    return f"{prefix}-{uuid.uuid4()}"


async def send_done(producer: AIOKafkaProducer, topic: str, order_id: str) -> None:
    """Send the ``done`` message of ``order_id`` on ``topic``.

    Every message goes to partition 0 (the engine's topics have one), so the listener handles the
    messages of a topic in the order they were sent: a later message being handled shows that the
    earlier ones were.
    """
    message = {"order_id": order_id, "status": "done"}
    await producer.send_and_wait(topic, key=order_id.encode(), value=json.dumps(message).encode(), partition=0)


def codes(found: ITemplateDAGInstance, names: Iterable[str]) -> dict[str, str]:
    """The status code of each named task of a workflow (names as :func:`tasks_by_name` gives them)."""
    tasks = tasks_by_name(found)
    return {name: tasks[name].status.code for name in names}


async def wait_for_tasks(
    engine: Dagger, workflow_id: uuid.UUID, expected: dict[str, str], timeout: float = WAIT
) -> ITemplateDAGInstance:
    """Wait until the stored workflow's named tasks have the expected status codes; return the workflow."""
    last: dict[str, str] = {}

    async def reached() -> ITemplateDAGInstance | None:
        nonlocal last
        found = await engine.get_instance(workflow_id, log=False)
        if found is None:
            return None
        last = codes(found, expected)
        return found if last == expected else None

    return await wait_for(reached, timeout=timeout, message=lambda: f"tasks of {workflow_id} {expected}; seen {last}")


def ran(order_id: str) -> list[str]:
    """The labels of the executors that ran for ``order_id``, in order."""
    return [label for order, label in executed if order == order_id]


def processes_in_order(found: ITemplateDAGInstance) -> list[str]:
    """The names of the workflow's top-level processes, following ``next_dags`` from its first one."""
    names: list[str] = []
    task = found.get_task(found.root_dag)
    while task is not None:
        names.append(task.process_name)
        task = found.get_task(task.next_dags[0]) if task.next_dags else None
    return names


def tasks_named(found: ITemplateDAGInstance, name: str) -> list[ITask]:
    """Every task of a workflow whose name ends with ``name``."""
    return [task for task in found.tasks.values() if (task.task_name or "").rsplit(".", 1)[-1] == name]


# 1. parallel processes, JOIN_ALL


async def test_parallel_processes_start_together_and_join_all(app: App, producer: AIOKafkaProducer) -> None:
    engine, topics = app.engine, app.topics
    order_id = new_order("legs")
    workflow_id = await create(engine, PARALLEL_LEGS_TEMPLATE, order_id)

    # Right after the submit, before any message, every leg is running and waits on its listener.
    found = await workflow(engine, workflow_id)
    listeners = [f"{leg}_listener_task" for leg in LEGS]
    assert codes(found, ["Legs", *LEGS, *listeners]) == dict.fromkeys(["Legs", *LEGS, *listeners], "EXECUTING")
    assert codes(found, ["Finish", "Finish_executor_task"]) == dict.fromkeys(
        ["Finish", "Finish_executor_task"], "NOT_STARTED"
    )
    tasks = tasks_by_name(found)
    assert tasks["Legs"].task_type == TaskType.PARALLEL_COMPOSITE.name
    assert tasks["Legs"].operator_type == TaskOperator.JOIN_ALL.name
    assert list(tasks["Legs"].parallel_child_task_list) == [tasks[leg].id for leg in LEGS]
    assert found.status.code == "EXECUTING"

    # The legs end in any order; the composite waits for the last one.
    *early, last = ("LegC", "LegA", "LegB")
    for leg in early:
        await send_done(producer, topics.legs[leg], order_id)
        found = await wait_for_tasks(engine, workflow_id, {f"{leg}_listener_task": "COMPLETED", leg: "COMPLETED"})
        assert codes(found, ["Legs", last, "Finish"]) == {
            "Legs": "EXECUTING",
            last: "EXECUTING",
            "Finish": "NOT_STARTED",
        }
        assert found.status.code == "EXECUTING"
        assert ran(order_id) == []

    await send_done(producer, topics.legs[last], order_id)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=WAIT)
    found = await workflow(engine, workflow_id)
    names = ["Legs", *LEGS, *listeners, "Finish", "Finish_executor_task"]
    assert codes(found, names) == dict.fromkeys(names, "COMPLETED")
    assert ran(order_id) == ["Finish"]


# 2. a parallel step, ATLEAST_ONE


async def test_first_child_completes_an_atleast_one_step_and_a_later_one_changes_nothing(
    app: App, producer: AIOKafkaProducer
) -> None:
    engine, topics = app.engine, app.topics
    order_id, marker_order = new_order("first"), new_order("marker")
    workflow_id = await create(engine, FIRST_REPLY_TEMPLATE, order_id)
    marker = await create(engine, FIRST_REPLY_TEMPLATE, marker_order)
    found = await workflow(engine, workflow_id)
    assert codes(found, ["first_reply", "Phone_listener_task", "Email_listener_task", "Reply_executor_task"]) == {
        "first_reply": "EXECUTING",
        "Phone_listener_task": "EXECUTING",
        "Email_listener_task": "EXECUTING",
        "Reply_executor_task": "NOT_STARTED",
    }

    # The email comes first: the step completes and the workflow goes on to wait for the confirmation.
    await send_done(producer, topics.email, order_id)
    found = await wait_for_tasks(engine, workflow_id, {"Close_listener_task": "EXECUTING"})
    assert codes(found, ["first_reply", "Email_listener_task", "Reply_executor_task", "Wait"]) == dict.fromkeys(
        ["first_reply", "Email_listener_task", "Reply_executor_task", "Wait"], "COMPLETED"
    )
    # The other child keeps waiting (the reference's semantics: ATLEAST_ONE does not stop the others).
    assert codes(found, ["Phone_listener_task"]) == {"Phone_listener_task": "EXECUTING"}
    assert ran(order_id) == ["Reply"]

    await send_done(producer, topics.confirm, order_id)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=WAIT)
    assert ran(order_id) == ["Reply", "Close"]
    completed = engine.get_instance_payload(workflow_id)

    # A phone reply after the end, then one for the marker workflow on the same partition: once the
    # marker has taken its reply, the late one has been handled too.
    await send_done(producer, topics.phone, order_id)
    await send_done(producer, topics.phone, marker_order)
    await wait_for_tasks(engine, marker, {"first_reply": "COMPLETED", "Phone_listener_task": "COMPLETED"})
    assert engine.get_instance_payload(workflow_id) == completed, "the late reply changed the finished workflow"
    assert (await workflow(engine, workflow_id)).status.code == "COMPLETED"
    assert ran(order_id) == ["Reply", "Close"]
    assert ran(marker_order) == ["Reply"]


async def test_late_child_of_an_atleast_one_step_does_not_run_the_step_again(
    app: App, producer: AIOKafkaProducer
) -> None:
    engine, topics = app.engine, app.topics
    order_id = new_order("late")
    workflow_id = await create(engine, FIRST_REPLY_TEMPLATE, order_id)

    await send_done(producer, topics.phone, order_id)
    await wait_for_tasks(engine, workflow_id, {"first_reply": "COMPLETED", "Close_listener_task": "EXECUTING"})
    # While the workflow still runs, the other child gets its reply: it completes, nothing else moves.
    await send_done(producer, topics.email, order_id)
    found = await wait_for_tasks(engine, workflow_id, {"Email_listener_task": "COMPLETED"})
    assert codes(found, ["first_reply", "Wait", "Reply_executor_task", "Close_listener_task", "Close"]) == {
        "first_reply": "COMPLETED",
        "Wait": "COMPLETED",
        "Reply_executor_task": "COMPLETED",
        "Close_listener_task": "EXECUTING",
        "Close": "EXECUTING",
    }
    assert found.status.code == "EXECUTING"
    assert ran(order_id) == ["Reply"]

    await send_done(producer, topics.confirm, order_id)
    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=WAIT)
    assert ran(order_id) == ["Reply", "Close"]


async def test_executor_child_completes_an_atleast_one_step_at_once(app: App, producer: AIOKafkaProducer) -> None:
    engine, topics = app.engine, app.topics
    order_id, marker_order = new_order("auto"), new_order("marker")
    workflow_id = await create(engine, FIRST_OR_AUTO_TEMPLATE, order_id)

    # The automatic answer completes the step during the submit: no message is needed.
    found = await workflow(engine, workflow_id)
    assert found.status.code == "COMPLETED"
    assert codes(found, ["first_reply", "Auto_executor_task", "Reply_executor_task", "Wait"]) == dict.fromkeys(
        ["first_reply", "Auto_executor_task", "Reply_executor_task", "Wait"], "COMPLETED"
    )
    assert codes(found, ["Phone_listener_task"])["Phone_listener_task"] in ("NOT_STARTED", "EXECUTING")
    assert ran(order_id) == ["Auto", "Reply"]
    completed = engine.get_instance_payload(workflow_id)

    # A phone reply afterwards changes nothing; the marker's reply on the same partition shows it was handled.
    marker = await create(engine, FIRST_REPLY_TEMPLATE, marker_order)
    await send_done(producer, topics.phone, order_id)
    await send_done(producer, topics.phone, marker_order)
    await wait_for_tasks(engine, marker, {"Phone_listener_task": "COMPLETED"})
    assert engine.get_instance_payload(workflow_id) == completed
    assert ran(order_id) == ["Auto", "Reply"]


# 3. how many parallel processes, chosen per creation


def copy_process(engine: Dagger, name: str = "Copy") -> ProcessTemplateDagBuilder:
    """A builder of the process ``name`` whose only task is the executor ``<name>_executor_task``."""
    return executor_process(DAGBuilderHelper(engine), name)


def copies_in(found: ITemplateDAGInstance) -> list[str]:
    """The process names of the children of the workflow's ``Copies`` composite, in order."""
    composite = tasks_by_name(found)["Copies"]
    return [found.get_task(child).process_name for child in composite.parallel_child_task_list]


async def test_given_number_of_parallel_processes_per_creation(app: App) -> None:
    engine = app.engine
    template = engine.get_template(COPIES_TEMPLATE)
    copy = copy_process(engine)
    created: dict[str, tuple[uuid.UUID, int]] = {}
    for count in (3, 1, 5):
        template.set_given_num_of_parallel_processes_for_a_composite_process(count, "Copies", copy)
        order_id = new_order(f"copies-{count}")
        created[order_id] = (await create(engine, template, order_id), count)

    await wait_for_status(engine, [workflow_id for workflow_id, _ in created.values()], "COMPLETED", timeout=WAIT)
    for order_id, (workflow_id, count) in created.items():
        found = await workflow(engine, workflow_id)
        assert copies_in(found) == ["Copy"] * count
        assert [task.status.code for task in tasks_named(found, "Copy_executor_task")] == ["COMPLETED"] * count
        assert ran(order_id) == ["Intake", *["Copy"] * count, "Finish"]


async def test_parallel_process_templates_set_for_a_composite(app: App) -> None:
    engine = app.engine
    template = engine.get_template(COPIES_TEMPLATE)
    wash, dry = copy_process(engine, "Wash").build(), copy_process(engine, "Dry").build()
    template.set_parallel_process_template_dags_for_a_composite_process("Copies", [wash, dry, wash])
    order_id = new_order("wash-dry")
    workflow_id = await create(engine, template, order_id)

    await wait_for_status(engine, [workflow_id], "COMPLETED", timeout=WAIT)
    found = await workflow(engine, workflow_id)
    assert copies_in(found) == ["Wash", "Dry", "Wash"]
    assert len({task.id for task in tasks_named(found, "Wash_executor_task")}) == 2
    assert ran(order_id) == ["Intake", "Wash", "Dry", "Wash", "Finish"]


async def test_number_of_parallel_processes_is_pinned_when_a_creation_begins(app: App) -> None:
    engine = app.engine
    template = engine.get_template(COPIES_TEMPLATE)
    copy = copy_process(engine)
    held, other = new_order("held"), new_order("other")
    gates[held] = Gate()
    try:
        template.set_given_num_of_parallel_processes_for_a_composite_process(2, "Copies", copy)
        creating = asyncio.ensure_future(create(engine, template, held))
        await asyncio.wait_for(gates[held].reached.wait(), timeout=WAIT)
        # The held creation began with 2 copies; another one now asks for 4 and runs to its end.
        template.set_given_num_of_parallel_processes_for_a_composite_process(4, "Copies", copy)
        other_id = await create(engine, template, other)
        gates[held].opened.set()
        held_id = await asyncio.wait_for(creating, timeout=WAIT)
    finally:
        gates.pop(held).opened.set()

    await wait_for_status(engine, [held_id, other_id], "COMPLETED", timeout=WAIT)
    assert copies_in(await workflow(engine, held_id)) == ["Copy"] * 2
    assert copies_in(await workflow(engine, other_id)) == ["Copy"] * 4
    assert ran(held) == ["Intake", "Copy", "Copy", "Finish"]
    assert ran(other) == ["Intake", *["Copy"] * 4, "Finish"]


# 4. dynamic processes


async def test_dynamic_process_expands_into_the_builders_in_order(app: App) -> None:
    engine = app.engine
    template = engine.get_template(DYNAMIC_TEMPLATE)
    builders = {name: copy_process(engine, name) for name in ("Step1", "Step2", "Step3")}
    shapes = [["Step1", "Step2", "Step3"], ["Step1", "Step2", "Step3"], ["Step3", "Step1"]]
    created: list[tuple[str, uuid.UUID, list[str]]] = []
    for steps in shapes:
        template.set_dynamic_builders_for_process_template("Steps", [builders[name] for name in steps])
        order_id = new_order("dynamic")
        created.append((order_id, await create(engine, template, order_id), steps))

    await wait_for_status(engine, [workflow_id for _, workflow_id, _ in created], "COMPLETED", timeout=WAIT)
    for order_id, workflow_id, steps in created:
        found = await workflow(engine, workflow_id)
        assert processes_in_order(found) == ["Start", *steps, "Finish"]
        processes = [task for task in found.tasks.values() if task.task_type == TaskType.SUB_DAG.name]
        assert len(processes) == len(steps) + 2, "a reused builder added processes"
        assert len(found.tasks) == 2 * (len(steps) + 2)
        assert ran(order_id) == ["Start", *steps, "Finish"]
    assert [builder.next_process_dag for builder in builders.values()] == [[], [], []], "creation changed a builder"


# 5. workflows composed at run time from registered process templates


async def test_workflows_composed_from_registered_process_templates(app: App, producer: AIOKafkaProducer) -> None:
    engine, topics, composer = app.engine, app.topics, app.composer
    requests = {
        new_order("pack"): ["PACK"],
        new_order("pack-label"): ["PACK", "LABEL"],
        new_order("three"): ["LABEL", "WEIGH", "PACK"],
        new_order("confirm"): ["CONFIRM", "WEIGH"],
    }
    for order_id, processes in requests.items():
        request = {"order_id": order_id, "processes": processes}
        await producer.send_and_wait(topics.requests, key=order_id.encode(), value=json.dumps(request).encode())

    ids = {order_id: composed_workflow_id(order_id) for order_id in requests}
    confirm_order = next(order_id for order_id, processes in requests.items() if "CONFIRM" in processes)
    await wait_for_status(engine, [ids[o] for o in requests if o != confirm_order], "COMPLETED", timeout=WAIT)
    await wait_for_tasks(engine, ids[confirm_order], {"CONFIRM_listener_task": "EXECUTING"})
    assert ran(confirm_order) == ["WEIGH"]
    await send_done(producer, topics.confirm, confirm_order)
    await wait_for_status(engine, [ids[confirm_order]], "COMPLETED", timeout=WAIT)

    assert composer.errors == []
    assert composer.created == ids
    for order_id, processes in requests.items():
        found = await workflow(engine, ids[order_id])
        assert found.template_name == COMPOSED_TEMPLATE
        assert found.runtime_parameters == {"order_id": order_id}
        names = [task.process_name for task in found.tasks.values() if task.task_type == TaskType.SUB_DAG.name]
        assert sorted(names) == sorted(processes)
        assert sorted(ran(order_id)) == sorted(processes)
        if len(processes) > 1:
            assert processes_in_order(found) == ["Requested"]
    for name in REGISTERED_PROCESSES:
        assert engine.get_process_template(name).next_process_dag == [], f"composing changed {name}"
