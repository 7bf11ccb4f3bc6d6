"""Workflow definitions the unit tests create: the docs' order workflow and one with every task type."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.modeler.definition import (
    DynamicProcessTemplateDagBuilder,
    ParallelCompositeProcessTemplateDagBuilder,
    ProcessTemplateDagBuilder,
)
from dagger.service.services import Dagger
from dagger.tasks.task import (
    DecisionTask,
    DefaultMonitoringTask,
    ExecutorTask,
    IntervalTask,
    ITask,
    KafkaCommandTask,
    KafkaListenerTask,
    MonitoredProcessTemplateDAGInstance,
    ParallelCompositeTask,
    TaskOperator,
    TriggerTask,
)
from dagger.templates.template import (
    DecisionTaskTemplateBuilder,
    IntervalTaskTemplateBuilder,
    ITemplateDAG,
    ParallelCompositeTaskTemplateBuilder,
    TriggerTaskTemplateBuilder,
)

executed: list[str] = []


class OrderCommand(KafkaCommandTask[str, str]):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        executed.append(self.task_name or "")


class OrderListener(KafkaListenerTask[str, str]):
    correlatable_key = "order_number"

    async def get_correlatable_keys_from_payload(self, payload: Any) -> list[Any]:
        return [("order_number", number) for number in payload.get("order_numbers", [payload.get("order_number")])]

    async def on_message(self, runtime_parameters: dict[str, str], *args: Any, **kwargs: Any) -> bool:
        message = args[0]
        if "box_id" in message:
            runtime_parameters["box_id"] = message["box_id"]
        return bool(message.get("done", True))


class BoxListener(OrderListener):
    correlatable_key = "box_id"

    async def get_correlatable_keys_from_payload(self, payload: Any) -> list[Any]:
        return [("box_id", payload["box_id"])]


class Note(ExecutorTask[str, str]):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        executed.append(self.task_name or "")


class Explode(ExecutorTask[str, str]):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        raise RuntimeError("boom")


class ByAmount(DecisionTask[str, str]):
    async def evaluate(self, **kwargs: Any) -> UUID | None:
        return self.next_dags[0] if int(kwargs["amount"]) > 100 else self.next_dags[1]


class Wait(TriggerTask[str, str]):
    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        executed.append(self.task_name or "")


class Poll(IntervalTask[str, str]):
    async def interval_execute(self, runtime_parameters: dict[str, Any]) -> bool:
        runtime_parameters["polls"] = runtime_parameters.get("polls", 0) + 1
        return runtime_parameters["polls"] >= runtime_parameters.get("polls_needed", 2)

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        executed.append(self.task_name or "")


class Overdue(DefaultMonitoringTask):
    async def process_monitored_task(self, monitored_task: ITask, workflow_instance: Any) -> None:
        workflow_instance.runtime_parameters["overdue"] = str(monitored_task.id)


class Fulfilment(MonitoredProcessTemplateDAGInstance):
    def get_monitoring_task_type(self) -> type:
        return Overdue


def order_template(name: str = "OrderWorkflow") -> ITemplateDAG:
    """The docs' order workflow: PAYMENT (command, listener) then SHIPPING (command, listener)."""
    helper = DAGBuilderHelper(Dagger.app)
    processes = []
    for process in ("PAYMENT", "SHIPPING"):
        command = helper.generic_command_task_builder(
            topic=f"{process}_COMMAND", task_type=OrderCommand, process_name=process
        )
        listener = helper.generic_listener_task_builder(
            topic=f"{process}_EVENTS", task_type=OrderListener, process_name=process, value_serializer="json"
        )
        first_task = helper.build_and_link_tasks([command, listener])
        processes.append(helper.generic_process_builder(process_name=process, root_task=first_task))
    return helper.generic_template(template_name=name, root_process=helper.build_and_link_processes(processes))


def every_task_type_template(name: str = "EveryTask") -> ITemplateDAG:
    """PAYMENT (command, decision over two executors, listener), a DYNAMIC placeholder, FULFILMENT (monitored:
    interval, box listener, trigger), a task-level parallel ATLEAST_ONE step, PACKING (parallel JOIN_ALL)."""
    app = Dagger.app
    helper = DAGBuilderHelper(app)
    big = helper.generic_executor_task_builder(task_type=Note, name="big").build()
    small = helper.generic_executor_task_builder(task_type=Note, name="small").build()
    decision = DecisionTaskTemplateBuilder(app).set_type(ByAmount).set_name("route")
    decision.set_next(big).set_next(small)
    listener = helper.generic_listener_task_builder(
        topic="PAYMENT_EVENTS", task_type=OrderListener, process_name="PAYMENT", value_serializer="json"
    )
    command = helper.generic_command_task_builder(
        topic="PAYMENT_COMMAND", task_type=OrderCommand, process_name="PAYMENT"
    )
    payment = helper.generic_process_builder(
        process_name="PAYMENT", root_task=helper.build_and_link_tasks([command, listener, decision])
    )

    poll = IntervalTaskTemplateBuilder(app).set_type(Poll).set_name("poll")
    poll.set_interval_execute_period_lookup_key("period")  # type: ignore[attr-defined]
    poll.set_time_to_force_complete_lookup_key("deadline")  # type: ignore[attr-defined]
    box = helper.generic_listener_task_builder(
        topic="BOX_EVENTS", task_type=BoxListener, process_name="FULFILMENT", value_serializer="json"
    )
    wait = TriggerTaskTemplateBuilder(app).set_type(Wait).set_name("wait")
    wait.set_time_to_execute_lookup_key("ship_at")  # type: ignore[attr-defined]
    fulfilment = helper.generic_process_builder(
        process_name="FULFILMENT", root_task=helper.build_and_link_tasks([poll, box, wait]), process_type=Fulfilment
    )

    note = helper.generic_executor_task_builder(task_type=Note, name="label").build()
    parallel_step = (
        ParallelCompositeTaskTemplateBuilder(app, 2, note).set_type(ParallelCompositeTask).set_name("labels")
    )
    parallel_step.set_task_operator(TaskOperator.ATLEAST_ONE)  # type: ignore[attr-defined]
    labelling = helper.generic_process_builder(process_name="LABELLING", root_task=parallel_step.build())

    pack = helper.generic_process_builder(
        process_name="PACK", root_task=helper.generic_executor_task_builder(task_type=Note, name="pack").build()
    ).build()
    packing = ParallelCompositeProcessTemplateDagBuilder(app).set_name("PACKING").set_type(ParallelCompositeTask)
    packing.set_parallel_process_templates(pack).set_parallel_process_templates(pack)  # type: ignore[attr-defined]

    dynamic = DynamicProcessTemplateDagBuilder(app).set_name("DYNAMIC")
    chain = helper.build_and_link_processes([payment, dynamic, fulfilment, labelling, packing])  # type: ignore[list-item]
    return helper.generic_template(template_name=name, root_process=chain)


def preprocessing_builder(name: str) -> ProcessTemplateDagBuilder:
    helper = DAGBuilderHelper(Dagger.app)
    return helper.generic_process_builder(
        process_name=name, root_task=helper.generic_executor_task_builder(task_type=Note, name=name).build()
    )
