"""The pizza workflow, defined twice: with the explicit builders and with ``DAGBuilderHelper``.

``ORDER`` sends an order command on the orders topic, then waits for the shop's "ready" message on
the ready topic, correlated by ``order_id``; ``DELIVERY`` then delivers the pizza.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.modeler.definition import (
    DefaultTemplateBuilder,
    ProcessTemplateDagBuilder,
)
from dagger.service.services import Dagger
from dagger.tasks.task import (
    DefaultProcessTemplateDAGInstance,
    DefaultTemplateDAGInstance,
    ExecutorTask,
    ITask,
    KafkaCommandTask,
    KafkaListenerTask,
)
from dagger.templates.template import (
    DefaultTaskTemplateBuilder,
    ITemplateDAG,
    KafkaCommandTaskTemplateBuilder,
    KafkaListenerTaskTemplateBuilder,
)
from examples.json_listener import JsonListenerTask

BUILDERS_TEMPLATE = "PizzaWorkflow"
HELPER_TEMPLATE = "PizzaWorkflowByHelper"


@dataclass(frozen=True)
class PizzaTopics:
    """The topic names of one pizza shop."""

    orders: str = "pizza_orders"
    ready: str = "pizza_ready"


DEFAULT_TOPICS = PizzaTopics()


class OrderCommand(KafkaCommandTask[str, str]):
    """Send the order to the shop, keyed by ``order_id``."""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        order = {"order_id": runtime_parameters["order_id"], "pizza": runtime_parameters.get("pizza", "margherita")}
        await Dagger.app.topics[self.topic].send(key=order["order_id"], value=json.dumps(order).encode())


class WaitForReady(JsonListenerTask):
    """Wait for the shop's message saying the order is ready (correlated by its ``order_id``)."""

    correlatable_key = "order_id"

    async def on_message(self, runtime_parameters: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        """Complete when the shop says ``ready``."""
        message = json.loads(args[0])
        runtime_parameters["oven"] = message.get("oven", "")
        return bool(message.get("status") == "ready")

    async def stop(
        self, runtime_parameters: dict[str, str] | None = None, workflow_instance: ITask | None = None
    ) -> None:
        """Note in the workflow that it was stopped while the pizza was being made."""
        if runtime_parameters is not None:
            runtime_parameters["stopped_while"] = "waiting for the pizza"


class Deliver(ExecutorTask[str, str]):
    """Hand the pizza over."""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        runtime_parameters["delivered"] = "yes"


def register_pizza_templates(topics: PizzaTopics = DEFAULT_TOPICS) -> None:
    """Register both definitions of the pizza workflow with ``Dagger.app``."""

    @Dagger.register_template(BUILDERS_TEMPLATE)
    def with_builders(template_name: str) -> ITemplateDAG:
        orders = Dagger.create_topic(topics.orders, key_type=bytes, value_type=bytes)
        ready = Dagger.create_topic(topics.ready, key_type=bytes, value_type=bytes)
        listener = KafkaListenerTaskTemplateBuilder(Dagger.app)
        listener.set_topic(ready)
        listener.set_type(WaitForReady)
        listener.set_name("Order_listener_task")
        command = KafkaCommandTaskTemplateBuilder(Dagger.app)
        command.set_topic(orders)
        command.set_type(OrderCommand)
        command.set_name("Order_command_task")
        command.set_next(listener.build())
        order = ProcessTemplateDagBuilder(Dagger.app)
        order.set_name("Order")
        order.set_root_task(command.build())
        order.set_type(DefaultProcessTemplateDAGInstance)
        deliver = DefaultTaskTemplateBuilder(Dagger.app)
        deliver.set_name("Delivery_executor_task")
        deliver.set_type(Deliver)
        delivery = ProcessTemplateDagBuilder(Dagger.app)
        delivery.set_name("Delivery")
        delivery.set_root_task(deliver.build())
        delivery.set_type(DefaultProcessTemplateDAGInstance)
        order.set_next_process(delivery.build())
        template = DefaultTemplateBuilder(Dagger.app)
        template.set_name(template_name)
        template.set_type(DefaultTemplateDAGInstance)
        template.set_root(order.build())
        return template.build()

    Dagger.register_template(HELPER_TEMPLATE)(lambda name: pizza_template_by_helper(name, topics))


def pizza_template_by_helper(
    template_name: str, topics: PizzaTopics, listener_type: type[KafkaListenerTask[str, str]] = WaitForReady
) -> ITemplateDAG:
    """The pizza workflow built with ``DAGBuilderHelper``; ``listener_type`` waits for the shop's message."""
    helper = DAGBuilderHelper(Dagger.app)
    order_tasks = helper.build_and_link_tasks(
        [
            helper.generic_command_task_builder(
                topic=topics.orders, task_type=OrderCommand, process_name="Order", key_type=bytes, value_type=bytes
            ),
            helper.generic_listener_task_builder(
                topic=topics.ready, task_type=listener_type, process_name="Order", key_type=bytes, value_type=bytes
            ),
        ]
    )
    delivery_tasks = helper.build_and_link_tasks(
        [helper.generic_executor_task_builder(task_type=Deliver, name="Delivery")]
    )
    root = helper.build_and_link_processes(
        [
            helper.generic_process_builder(process_name="Order", root_task=order_tasks),
            helper.generic_process_builder(process_name="Delivery", root_task=delivery_tasks),
        ]
    )
    return helper.generic_template(template_name=template_name, root_process=root)
