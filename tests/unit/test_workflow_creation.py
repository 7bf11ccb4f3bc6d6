"""Creating workflows from definitions: graph shape, names, ids, and per-creation choices."""

from __future__ import annotations

import random
import uuid

import pytest

from dagger import codec
from dagger.exceptions.exceptions import InvalidTaskType, InvalidTriggerTimeForTask, TaskInvalidState
from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.modeler.definition import ProcessTemplateDagBuilder
from dagger.service.services import Dagger
from dagger.tasks.task import (
    DefaultProcessTemplateDAGInstance,
    DefaultTemplateDAGInstance,
    KafkaCommandTask,
    KafkaListenerTask,
    ParallelCompositeTask,
    TaskStatusEnum,
    TaskType,
)
from dagger.templates.template import (
    DecisionTaskTemplateBuilder,
    DefaultTaskTemplateBuilder,
    IProcessTemplateDAG,
    KafkaCommandTaskTemplateBuilder,
    KafkaListenerTaskTemplateBuilder,
    TaskTemplate,
    TriggerTaskTemplateBuilder,
)
from tests.unit.workflows import (
    Note,
    OrderCommand,
    OrderListener,
    every_task_type_template,
    executed,
    order_template,
    preprocessing_builder,
)

EVERY_TASK_PARAMETERS = {
    "order_number": "A1",
    "amount": "150",
    "period": "10",
    "deadline": "1700000100",
    "ship_at": "1700000050",
}


def names(workflow: DefaultTemplateDAGInstance) -> dict[str, object]:
    return {task.task_name: task for task in workflow.tasks.values() if task.task_name}


async def test_order_workflow_is_materialized_with_reference_names_links_and_types(engine):
    workflow = await order_template().create_instance(
        uuid.uuid1(), "order_number", repartition=False, order_number="A1"
    )

    by_name = names(workflow)
    assert set(by_name) == {
        "OrderWorkflow.PAYMENT",
        "OrderWorkflow.PAYMENT.PAYMENT_command_task",
        "OrderWorkflow.PAYMENT.PAYMENT_listener_task",
        "OrderWorkflow.SHIPPING",
        "OrderWorkflow.SHIPPING.SHIPPING_command_task",
        "OrderWorkflow.SHIPPING.SHIPPING_listener_task",
    }
    payment, shipping = by_name["OrderWorkflow.PAYMENT"], by_name["OrderWorkflow.SHIPPING"]
    command, listener = (
        by_name["OrderWorkflow.PAYMENT.PAYMENT_command_task"],
        by_name["OrderWorkflow.PAYMENT.PAYMENT_listener_task"],
    )
    assert workflow.task_type == TaskType.ROOT.name and workflow.root_dag == payment.id
    assert isinstance(payment, DefaultProcessTemplateDAGInstance) and payment.task_type == TaskType.SUB_DAG.name
    assert payment.parent_id == workflow.id and payment.next_dags == [shipping.id] and payment.root_dag == command.id
    assert isinstance(command, OrderCommand) and command.topic == "PAYMENT_COMMAND" and command.parent_id == payment.id
    assert (
        command.next_dags == [listener.id]
        and isinstance(listener, OrderListener)
        and listener.topic == "PAYMENT_EVENTS"
    )
    assert workflow.status.code == TaskStatusEnum.NOT_STARTED.name
    assert engine.workflows[workflow.id] is workflow and engine.saves == 1
    assert workflow.sensor_tasks_to_correletable_map[listener.id].correlatable_key_attr_value == "A1"
    assert engine.keys_of(workflow.id) == {"A1_PAYMENT_EVENTS", "A1_SHIPPING_EVENTS"}
    assert set(engine.listeners) == {"PAYMENT_EVENTS", "SHIPPING_EVENTS"}


async def test_ids_follow_the_reference_allocation_order_from_a_seed(engine):
    workflow = await order_template().create_instance(
        uuid.UUID(int=1), "order_number", repartition=False, seed=random.Random(7), order_number="A1"
    )
    expected = random.Random(7)
    order = [
        "OrderWorkflow.PAYMENT",
        "OrderWorkflow.PAYMENT.PAYMENT_command_task",
        "OrderWorkflow.PAYMENT.PAYMENT_listener_task",
        "OrderWorkflow.SHIPPING",
        "OrderWorkflow.SHIPPING.SHIPPING_command_task",
        "OrderWorkflow.SHIPPING.SHIPPING_listener_task",
    ]
    by_name = names(workflow)
    assert [by_name[name].id for name in order] == [uuid.UUID(int=expected.getrandbits(128)) for _ in order]


async def test_repartitioned_creation_sends_the_workflow_as_bytes_keyed_by_its_partition_key(engine):
    workflow = await order_template().create_instance(uuid.uuid1(), "order_number", order_number="A1")
    [(key, payload)] = engine.tasks_topic.sent
    assert key == "A1" and isinstance(payload, bytes)
    assert codec.loads(payload) == workflow and workflow.id not in engine.workflows


async def test_every_task_type_in_one_workflow(engine):
    template = every_task_type_template()
    template.set_dynamic_builders_for_process_template(
        "DYNAMIC", [preprocessing_builder("CLEAN"), preprocessing_builder("CHECK")]
    )
    workflow = await template.create_instance(uuid.uuid1(), "order_number", repartition=False, **EVERY_TASK_PARAMETERS)

    by_name = names(workflow)
    processes = [
        by_name[f"EveryTask.{name}"] for name in ("PAYMENT", "CLEAN", "CHECK", "FULFILMENT", "LABELLING", "PACKING")
    ]
    assert [process.next_dags for process in processes[:-1]] == [[process.id] for process in processes[1:]]
    route = by_name["EveryTask.PAYMENT.route"]
    assert route.next_dags == [
        by_name["EveryTask.PAYMENT.big_executor_task"].id,
        by_name["EveryTask.PAYMENT.small_executor_task"].id,
    ]
    packing = by_name["EveryTask.PACKING"]
    assert isinstance(packing, ParallelCompositeTask) and packing.task_type == TaskType.PARALLEL_COMPOSITE.name
    assert [workflow.get_task(child).task_name for child in packing.parallel_child_task_list] == [
        "EveryTask.PACKING.PACK"
    ] * 2
    labels = by_name["EveryTask.LABELLING.labels"]
    assert labels.operator_type == "ATLEAST_ONE" and len(labels.parallel_child_task_list) == 2
    assert by_name["EveryTask.FULFILMENT.wait"].time_to_execute == 1700000050
    assert (workflow.id, by_name["EveryTask.FULFILMENT.wait"].id) in engine._store.triggers
    assert codec.loads(codec.dumps(workflow)) == workflow


async def test_dynamic_choices_are_per_creation_and_builders_do_not_accumulate_links(engine):
    template = every_task_type_template()
    reused = [preprocessing_builder("CLEAN")]
    first = second = None
    for _ in range(3):
        template.set_dynamic_builders_for_process_template("DYNAMIC", reused)
        first = await template.create_instance(uuid.uuid1(), "order_number", repartition=False, **EVERY_TASK_PARAMETERS)
    template.set_dynamic_builders_for_process_template("DYNAMIC", [preprocessing_builder("OTHER")])
    second = await template.create_instance(uuid.uuid1(), "order_number", repartition=False, **EVERY_TASK_PARAMETERS)
    assert reused[0].next_process_dag == []
    assert names(first)["EveryTask.CLEAN"].next_dags == [names(first)["EveryTask.FULFILMENT"].id]
    assert "EveryTask.OTHER" in names(second) and "EveryTask.OTHER" not in names(first)


async def test_concurrent_creations_keep_their_own_dynamic_choices(engine):
    import asyncio

    template = every_task_type_template()

    async def create(process_name: str) -> DefaultTemplateDAGInstance:
        template.set_dynamic_builders_for_process_template("DYNAMIC", [preprocessing_builder(process_name)])
        return await template.create_instance(uuid.uuid1(), "order_number", repartition=False, **EVERY_TASK_PARAMETERS)

    first, second = await asyncio.gather(create("ALPHA"), create("BETA"))
    assert "EveryTask.ALPHA" in names(first) and "EveryTask.BETA" not in names(first)
    assert "EveryTask.BETA" in names(second) and "EveryTask.ALPHA" not in names(second)


async def test_dynamic_process_without_anything_to_expand_is_invalid(engine):
    helper = DAGBuilderHelper(Dagger.app)
    template = helper.generic_template(
        template_name="Empty", root_process=helper.generic_dynamic_process_builder(name="D").build()
    )
    with pytest.raises(TaskInvalidState):
        await template.create_instance(uuid.uuid1(), "k", repartition=False, k="1")


class QuietTaskBuilder(DefaultTaskTemplateBuilder):
    """An application's builder whose ``set_next`` returns nothing."""

    def set_next(self, task_template: TaskTemplate) -> None:  # type: ignore[override]
        super().set_next(task_template)


class QuietProcessBuilder(ProcessTemplateDagBuilder):
    """An application's builder whose ``set_next_process`` returns nothing."""

    def set_next_process(self, task: IProcessTemplateDAG) -> None:  # type: ignore[override]
        super().set_next_process(task)


async def test_the_helper_links_builders_whose_setters_return_nothing(engine):
    helper = DAGBuilderHelper(engine)

    def task(name: str) -> QuietTaskBuilder:
        builder = QuietTaskBuilder(engine)
        builder.set_type(Note)
        builder.set_name(name)
        return builder

    def process(name: str, *tasks: str) -> QuietProcessBuilder:
        builder = QuietProcessBuilder(engine)
        builder.set_name(name)
        builder.set_type(DefaultProcessTemplateDAGInstance)
        builder.set_root_task(helper.build_and_link_tasks([task(name) for name in tasks]))
        return builder

    root = helper.build_and_link_processes([process("P", "a", "b"), process("Q", "c")])
    template = helper.generic_template(template_name="Quiet", root_process=root)
    executed.clear()
    workflow = await template.create_instance(uuid.uuid1(), "k", repartition=False, submit_task=True, k="1")
    assert executed == ["Quiet.P.a", "Quiet.P.b", "Quiet.Q.c"]
    assert workflow.status.code == "COMPLETED"


def test_builders_reject_task_classes_of_the_wrong_family(engine):
    with pytest.raises(InvalidTaskType):
        DefaultTaskTemplateBuilder(engine).set_type(OrderListener)
    with pytest.raises(InvalidTaskType):
        DefaultTaskTemplateBuilder(engine).set_type(OrderCommand)
    with pytest.raises(InvalidTaskType):
        KafkaCommandTaskTemplateBuilder(engine).set_type(Note)
    with pytest.raises(InvalidTaskType):
        KafkaListenerTaskTemplateBuilder(engine).set_type(KafkaCommandTask)
    with pytest.raises(InvalidTaskType):
        DecisionTaskTemplateBuilder(engine).set_type(Note)
    with pytest.raises(InvalidTaskType):
        TriggerTaskTemplateBuilder(engine).set_type(Note)
    assert KafkaListenerTaskTemplateBuilder(engine).set_type(KafkaListenerTask) is not None


async def test_trigger_time_missing_from_runtime_parameters_is_invalid(engine):
    parameters = dict(EVERY_TASK_PARAMETERS)
    del parameters["ship_at"]
    with pytest.raises(InvalidTriggerTimeForTask):
        await every_task_type_template().create_instance(uuid.uuid1(), "order_number", repartition=False, **parameters)


def test_building_a_listener_twice_declares_its_topic_once(engine):
    helper = DAGBuilderHelper(engine)
    builder = helper.generic_listener_task_builder(
        topic="T", task_type=OrderListener, process_name="P", concurrency=3, value_serializer="json"
    )
    first, second = builder.build(), builder.build()
    assert engine.listeners == {"T": (OrderListener, 3)} and first.topic is second.topic


def test_register_template_runs_the_function_and_keeps_the_definition(engine):
    @Dagger.register_template("Orders")
    def orders(name: str):
        return order_template(name)

    assert orders is None
    assert engine.template_dags["Orders"].name == "Orders"
