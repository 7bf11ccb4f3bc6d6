"""The tasks of the order workflow (:mod:`examples.order.workflow` puts them together) and the runtime
parameters they read and write.

Every time is an epoch second (``dagger.utils.clock``).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

from dagger.service.services import Dagger
from dagger.tasks.task import (
    COMPLETE_BY_KEY,
    DecisionTask,
    DefaultMonitoringTask,
    ExecutorTask,
    IntervalTask,
    ITask,
    KafkaCommandTask,
    MonitoredProcessTemplateDAGInstance,
    MonitoringTask,
    TriggerTask,
)
from dagger.utils import clock
from examples.json_listener import JsonListenerTask

logger = logging.getLogger(__name__)

PAYMENT_METHODS = ("card", "invoice")
"""The payment methods, in the order of the decision's branches."""

ORDER_ID = "order_id"
PAYMENT_METHOD = "payment_method"
BOX_ID = "box_id"
PARCELS = "parcels"
PACKING_CHECK_PERIOD = "packing_check_period"
PACKING_DEADLINE = "packing_deadline"
DISPATCH_TIME = "dispatch_time"
COMPLETE_BY_TIME = COMPLETE_BY_KEY
"""Runtime parameters the order workflow is created with (see :mod:`examples.order.orders`)."""


async def send_json(topic_name: str, key: str, message: dict[str, Any]) -> None:
    """Send ``message`` as JSON on the declared topic ``topic_name``, keyed by ``key``."""
    await Dagger.app.get_topic(topic_name).send(key=key.encode(), value=json.dumps(message).encode())


def _increment(runtime_parameters: dict[str, Any], name: str) -> int:
    """Add one to the counter ``name`` of the runtime parameters and return the new count."""
    count = int(runtime_parameters.get(name, 0)) + 1
    runtime_parameters[name] = count
    return count


# PAYMENT


class RequestPayment(KafkaCommandTask[str, str]):
    """Ask the payment provider to collect the order's amount by its payment method, keyed by ``order_id``."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Send the payment request."""
        order_id = str(runtime_parameters[ORDER_ID])
        request = {
            "order_id": order_id,
            "payment_method": runtime_parameters[PAYMENT_METHOD],
            "amount": runtime_parameters.get("amount", "0.00"),
        }
        await send_json(str(self.topic), order_id, request)


class ChoosePaymentMethod(DecisionTask[str, str]):
    """Take the branch of the runtime parameter ``payment_method``: the first for ``card``, the second for
    ``invoice``. Any other method fails the decision, and with it the workflow."""

    async def evaluate(self, **kwargs: Any) -> UUID | None:
        """Return the first task of the branch of the order's payment method."""
        method = kwargs.get(PAYMENT_METHOD)
        if method not in PAYMENT_METHODS:
            raise ValueError(f"unknown payment method {method!r}; expected one of {PAYMENT_METHODS}")
        return self.next_dags[PAYMENT_METHODS.index(method)]


class AuthorizeCard(ExecutorTask[str, str]):
    """The card branch: note that the card was authorized for the amount."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record the authorization."""
        runtime_parameters["card_authorized"] = "yes"


class ExtendCredit(ExecutorTask[str, str]):
    """The invoice branch: grant the customer 30 days to pay."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record the payment terms."""
        runtime_parameters["invoice_due_days"] = 30


class PaymentConfirmed(JsonListenerTask):
    """Wait for the provider's confirmation of the order (``order_id``).

    ``{"order_id", "status": "paid", "reference", "box_id"}`` completes the task: it sets the new runtime
    parameter ``payment_reference`` and changes ``box_id`` to the box the warehouse reserved, which
    re-keys the listeners correlated by ``box_id``. Any other status is noted and waited past.
    """

    correlatable_key = ORDER_ID

    async def on_message(self, runtime_parameters: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        """Take the reference and the box of a ``paid`` confirmation."""
        message = json.loads(args[0])
        runtime_parameters["payment_status"] = message.get("status", "")
        if message.get("status") != "paid":
            return False
        runtime_parameters["payment_reference"] = message["reference"]
        runtime_parameters[BOX_ID] = message["box_id"]
        return True


# PREPROCESSING (expanded per order)


class ScreenForFraud(ExecutorTask[str, str]):
    """Screen the order for fraud."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record the verdict."""
        runtime_parameters["fraud_check"] = "passed"


class VerifyAddress(ExecutorTask[str, str]):
    """Check the delivery address."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record the verdict."""
        runtime_parameters["address_check"] = "verified"


class WrapAsGift(ExecutorTask[str, str]):
    """Have the order gift-wrapped."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record the wrapping."""
        runtime_parameters["gift_wrapped"] = "yes"


# FULFILLMENT


class FulfillmentOverdue(DefaultMonitoringTask):
    """Runs at ``complete_by_time`` if fulfilment has not finished: logs it and notes when it was late."""

    async def process_monitored_task(self, monitored_task: ITask, workflow_instance: Any) -> None:
        """Log the late process and record ``fulfillment_overdue_at`` (the monitor's time)."""
        logger.warning(
            "Fulfilment of order %s is overdue (process %s is %s)",
            workflow_instance.runtime_parameters.get(ORDER_ID),
            monitored_task.id,
            monitored_task.status.code,
        )
        workflow_instance.runtime_parameters["fulfillment_overdue_at"] = clock.now()


class FulfillmentProcess(MonitoredProcessTemplateDAGInstance):
    """The fulfilment process, watched by a :class:`FulfillmentOverdue` due at ``complete_by_time``."""

    def get_monitoring_task_type(self) -> type[MonitoringTask]:
        """The monitor of late fulfilments."""
        return FulfillmentOverdue


class PickItems(KafkaCommandTask[str, str]):
    """Ask the warehouse to pick the order into box ``box_id``, keyed by the box."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Send the pick request."""
        box_id = str(runtime_parameters[BOX_ID])
        await send_json(
            str(self.topic), box_id, {"action": "pick", "box_id": box_id, "order_id": runtime_parameters[ORDER_ID]}
        )


class PackingProgress(IntervalTask[str, str]):
    """Check the packing of the box every ``packing_check_period`` seconds; it is done at the second check
    (``packing_checks`` counts them). When done, or at ``packing_deadline``, ask the warehouse to seal the
    box, on the topic the process's :class:`PickItems` sent to."""

    async def interval_execute(self, runtime_parameters: dict[str, Any]) -> bool:
        """Count the check; the box is packed at the second one."""
        return _increment(runtime_parameters, "packing_checks") >= 2

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Ask the warehouse to seal the box."""
        box_id = str(runtime_parameters[BOX_ID])
        await send_json(_warehouse_topic(self, workflow_instance), box_id, {"action": "seal", "box_id": box_id})


def _warehouse_topic(task: ITask, workflow_instance: Any) -> str:
    """The topic of the :class:`PickItems` of ``task``'s process."""
    tasks = workflow_instance.tasks.values() if workflow_instance is not None else []
    for sibling in tasks:
        if isinstance(sibling, PickItems) and sibling.parent_id == task.parent_id:
            return str(sibling.topic)
    raise LookupError(f"task {task.id} has no PickItems in its process")


class BoxSealed(JsonListenerTask):
    """Wait for the warehouse's reports on box ``box_id``: ``{"box_id", "status", ...}``.

    Each report is counted (``box_reports``) and its status kept (``box_status``); ``sealed`` completes
    the task and records the box's weight.
    """

    correlatable_key = BOX_ID

    async def on_message(self, runtime_parameters: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        """Note the report; complete on ``sealed``."""
        message = json.loads(args[0])
        _increment(runtime_parameters, "box_reports")
        runtime_parameters["box_status"] = message.get("status", "")
        if message.get("status") != "sealed":
            return False
        runtime_parameters["box_weight_kg"] = message.get("weight_kg")
        return True


class DispatchBox(TriggerTask[str, str]):
    """Release the sealed box to the dock at ``dispatch_time``."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record when the box left."""
        runtime_parameters["dispatched_at"] = clock.now()


# PAPERWORK


class WriteInvoice(ExecutorTask[str, str]):
    """Write the invoice of the order."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record the invoice number."""
        runtime_parameters["invoice_number"] = f"INV-{runtime_parameters[ORDER_ID]}"


class NotifyCustomer(ExecutorTask[str, str]):
    """Tell the customer the order is on its way."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record the notification."""
        runtime_parameters["customer_notified"] = "yes"


# SHIPPING


class BookParcel(KafkaCommandTask[str, str]):
    """Book one parcel of the order with the carriers: ``{"order_id", "parcel", "parcels"}``, keyed by
    ``order_id``. Parcels are numbered from 1 in booking order (``parcels_booked`` counts them)."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Send the booking."""
        order_id = str(runtime_parameters[ORDER_ID])
        parcel = _increment(runtime_parameters, "parcels_booked")
        booking = {"order_id": order_id, "parcel": parcel, "parcels": int(runtime_parameters.get(PARCELS, parcel))}
        await send_json(str(self.topic), order_id, booking)


# DELIVERY


class CarrierPickup(JsonListenerTask):
    """Wait for a carrier to pick the order up: ``{"order_id", "status": "picked_up", "carrier"}``."""

    correlatable_key = ORDER_ID

    async def on_message(self, runtime_parameters: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        """Complete on ``picked_up``, noting the carrier."""
        message = json.loads(args[0])
        if message.get("status") != "picked_up":
            return False
        runtime_parameters["picked_up_by"] = message["carrier"]
        return True


class CloseOrder(ExecutorTask[str, str]):
    """Close the order once a carrier has it."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record the closing."""
        runtime_parameters["closed"] = "yes"
