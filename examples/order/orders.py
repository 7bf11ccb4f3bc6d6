"""Creating the workflow of one order: what an order asks for, when its timed tasks run, and the
per-order parts of the template (the ``PREPROCESSING`` processes and the number of ``PARCEL`` processes),
set on the shared template right before the workflow is created from it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from dagger.service.services import Dagger
from dagger.tasks.task import ITemplateDAGInstance
from dagger.utils import clock
from examples.order.tasks import (
    BOX_ID,
    COMPLETE_BY_TIME,
    DISPATCH_TIME,
    ORDER_ID,
    PACKING_CHECK_PERIOD,
    PACKING_DEADLINE,
    PARCELS,
    PAYMENT_METHOD,
)
from examples.order.workflow import (
    ORDER_TEMPLATE,
    PREPROCESSING,
    SHIPPING,
    OrderTopics,
    parcel_process_builder,
    preprocessing_builders,
)
from examples.pizza.settings import workflow_id


@dataclass(frozen=True)
class Order:
    """What a customer ordered: how it is paid, in how many parcels it ships, whether it is a gift."""

    order_id: str
    payment_method: str = "card"
    parcels: int = 1
    gift_wrap: bool = False
    amount: str = "0.00"

    @classmethod
    def from_json(cls, payload: bytes) -> Order:
        """Read an order request: JSON with ``order_id`` and optionally the other fields.

        Raises:
            ValueError, KeyError, TypeError: for a payload that is not such an object.
        """
        data = json.loads(payload)
        return cls(
            order_id=str(data["order_id"]),
            payment_method=str(data.get("payment_method", "card")),
            parcels=int(data.get("parcels", 1)),
            gift_wrap=bool(data.get("gift_wrap", False)),
            amount=str(data.get("amount", "0.00")),
        )

    def to_json(self) -> bytes:
        """The order request as JSON."""
        return json.dumps(asdict(self)).encode()

    @property
    def provisional_box_id(self) -> str:
        """The box the order is filed under until the payment confirmation names the reserved one."""
        return f"provisional-{self.order_id}"


@dataclass(frozen=True)
class Schedule:
    """When an order's timed tasks run, in seconds after its workflow is created."""

    packing_check_period: int = 1
    """Between two packing checks."""
    packing_deadline: int = 60
    """After which packing counts as done whatever the checks say."""
    dispatch_after: int = 2
    """When the sealed box may leave (it waits for the seal if that comes later)."""
    complete_fulfillment_within: int = 300
    """After which an unfinished fulfilment is reported overdue."""


def order_parameters(order: Order, schedule: Schedule, now: int) -> dict[str, Any]:
    """The runtime parameters of the workflow of ``order`` created at ``now``."""
    return {
        ORDER_ID: order.order_id,
        PAYMENT_METHOD: order.payment_method,
        "amount": order.amount,
        PARCELS: order.parcels,
        BOX_ID: order.provisional_box_id,
        PACKING_CHECK_PERIOD: schedule.packing_check_period,
        PACKING_DEADLINE: now + schedule.packing_deadline,
        DISPATCH_TIME: now + schedule.dispatch_after,
        COMPLETE_BY_TIME: now + schedule.complete_fulfillment_within,
    }


async def create_order_workflow(
    engine: Dagger,
    topics: OrderTopics,
    order: Order,
    schedule: Schedule | None = None,
    *,
    repartition: bool = False,
) -> ITemplateDAGInstance:
    """Create and start the workflow of ``order``; its id is the same for the same order id.

    The shared template is set up for this order (its ``PREPROCESSING`` processes and ``order.parcels``
    ``PARCEL`` processes) and the workflow created from it with nothing in between, so creations done one
    after another in one worker each get their own shape.
    """
    if order.parcels < 1:
        raise ValueError(f"order {order.order_id} has {order.parcels} parcels; at least one is needed")
    template = engine.get_template(ORDER_TEMPLATE)
    template.set_dynamic_builders_for_process_template(PREPROCESSING, preprocessing_builders(order.gift_wrap))
    template.set_given_num_of_parallel_processes_for_a_composite_process(  # type: ignore[attr-defined]
        order.parcels, SHIPPING, parcel_process_builder(topics)
    )
    return await template.create_instance(
        workflow_id(order.order_id),
        ORDER_ID,
        repartition=repartition,
        submit_task=True,
        **order_parameters(order, schedule or Schedule(), clock.now()),
    )
