"""The order workflow of ``examples/order`` on the real broker: every kind of task in one template.

The test plays the payment provider, the warehouse and the carriers itself (with the message builders of
:mod:`examples.order.services`), moves Dagger's :class:`~dagger.utils.clock.ManualClock` to make the
timers due, and reads the workflow after each phase over REST (``GET /tasks/instance/<id>``). The
commands the workflow sends and every update the engine publishes on its task update topic are read
from Kafka.

The engines have one partition per topic, so messages sent one after the other on a listener topic are
handled in that order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from dagger.service.services import Dagger
from dagger.tasks.task import DefaultTemplateDAGInstance, ITemplateDAGInstance, ParallelCompositeTask
from dagger.utils.clock import ManualClock
from examples.order.orders import Order, Schedule, create_order_workflow
from examples.order.services import carrier_pickup, payment_confirmation, reserved_box_id, warehouse_report
from examples.order.tasks import (
    PAYMENT_METHODS,
    BoxSealed,
    DispatchBox,
    FulfillmentOverdue,
    FulfillmentProcess,
    PackingProgress,
    PaymentConfirmed,
)
from examples.order.workflow import ORDER_TEMPLATE, OrderTopics, register_order_template
from tests.integration.engines import EngineStarter
from tests.support import CLOCK_START, bootstrap_servers, unique_name, wait_for

T0 = CLOCK_START
"""Where the manual clock starts; every workflow of this module is created at this time."""

TICK = 0.2
"""The engines' ``trigger_interval``, in real seconds."""

SCHEDULE = Schedule(
    packing_check_period=60, packing_deadline=3600, dispatch_after=1200, complete_fulfillment_within=600
)
"""Packing is checked at T0 and T0+60, fulfilment is overdue at T0+600, the box may leave at T0+1200."""

RELAXED = replace(SCHEDULE, complete_fulfillment_within=86_400)
"""As :data:`SCHEDULE`, but fulfilment is never overdue."""

PACKING = "FULFILLMENT.packing_progress"
SEALED = "FULFILLMENT.FULFILLMENT_listener_task"
DISPATCH = "FULFILLMENT.dispatch"
PARCEL = "SHIPPING.PARCEL"
PICKUP = "DELIVERY.carrier_pickup"
CARRIER_A = "DELIVERY.carrier_pickup.carrier_a_pickup"
CARRIER_B = "DELIVERY.carrier_pickup.carrier_b_pickup"

Body = dict[str, Any]
"""A workflow as ``GET /tasks/instance/<id>`` serves it."""


# reading a served workflow


def named(body: Body) -> dict[str, list[Body]]:
    """The tasks of a workflow by name, without the template's prefix (``PAYMENT.choose_payment_method``)."""
    found: dict[str, list[Body]] = {}
    for task in body["tasks"].values():
        name = task.get("task_name") or ""
        found.setdefault(name.removeprefix(f"{ORDER_TEMPLATE}."), []).append(task)
    return found


def task(body: Body, name: str) -> Body:
    """The one task called ``name``."""
    tasks = named(body).get(name, [])
    assert len(tasks) == 1, f"{len(tasks)} tasks named {name!r}; names: {sorted(named(body))}"
    return tasks[0]


def codes(body: Body, name: str) -> list[str]:
    """The status codes of the tasks called ``name``, in creation order."""
    return [found["status"]["code"] for found in named(body).get(name, [])]


def code(body: Body, name: str) -> str:
    """The status code of the one task called ``name``."""
    return str(task(body, name)["status"]["code"])


def branch(body: Body, method: str) -> tuple[Body, Body]:
    """The executor and the payment listener of the decision's branch for ``method``."""
    decision = task(body, "PAYMENT.choose_payment_method")
    executor = body["tasks"][decision["next_dags"][PAYMENT_METHODS.index(method)]]
    return executor, body["tasks"][executor["next_dags"][0]]


def monitor(body: Body) -> Body:
    """The monitoring task of the fulfilment process."""
    monitoring_task_id = task(body, "FULFILLMENT")["monitoring_task_id"]
    assert monitoring_task_id is not None, "the fulfilment process has no monitor"
    return body["tasks"][monitoring_task_id]


def assert_codes(body: Body, expected: dict[str, str]) -> None:
    """Every task called by a key of ``expected`` (at least one each) has the status given for it."""
    seen = {name: codes(body, name) for name in expected}
    wrong = {name: found for name, found in seen.items() if not found or set(found) != {expected[name]}}
    assert not wrong, f"expected { ({name: expected[name] for name in wrong}) }, found {wrong}"


# Kafka


@dataclass
class Recorded:
    """One message read from a topic."""

    topic: str
    key: str
    value: bytes

    def json(self) -> Any:
        """The value, decoded from JSON."""
        return json.loads(self.value)


@dataclass
class Recorder:
    """Reads topics from their start and keeps every message, by topic."""

    consumer: AIOKafkaConsumer
    messages: dict[str, list[Recorded]] = field(default_factory=dict)

    async def poll(self) -> None:
        """Keep what has arrived since the last poll."""
        for records in (await self.consumer.getmany(timeout_ms=100)).values():
            for record in records:
                found = Recorded(record.topic, (record.key or b"").decode(), record.value)
                self.messages.setdefault(record.topic, []).append(found)

    async def wait(
        self, topic: str, predicate: Callable[[list[Recorded]], bool], what: str, timeout: float = 30
    ) -> list[Recorded]:
        """Wait until the messages of ``topic`` satisfy ``predicate``; return them."""

        async def reached() -> bool:
            await self.poll()
            return predicate(self.messages.get(topic, []))

        await wait_for(reached, timeout=timeout, message=lambda: f"{what} on {topic}: {self.messages.get(topic)}")
        return self.messages[topic]


# the shop under test


@dataclass
class OrderShop:
    """An engine running the order workflow, and what the test needs to drive and watch it."""

    engine: Dagger
    topics: OrderTopics
    clock: ManualClock
    producer: AIOKafkaProducer
    session: aiohttp.ClientSession
    recorder: Recorder
    update_topic: str

    async def create(self, order: Order, schedule: Schedule = SCHEDULE) -> uuid.UUID:
        """Create and start the workflow of ``order``; return its id."""
        created = await create_order_workflow(self.engine, self.topics, order, schedule)
        return uuid.UUID(str(created.id))

    async def rest(self, workflow_id: uuid.UUID) -> Body:
        """The workflow as ``GET /tasks/instance/<id>`` serves it."""
        url = f"http://127.0.0.1:{self.engine.faust_app.conf.web_port}/tasks/instance/{workflow_id}"
        async with self.session.get(url) as response:
            assert response.status == 200, f"GET {url} answered {response.status}: {await response.text()}"
            body: Body = await response.json()
            return body

    async def wait(self, workflow_id: uuid.UUID, predicate: Callable[[Body], bool], what: str) -> Body:
        """Wait until the served workflow satisfies ``predicate``; return it."""
        last: list[Body] = []

        async def reached() -> Body | None:
            last[:] = [await self.rest(workflow_id)]
            return last[0] if predicate(last[0]) else None

        def show() -> str:
            if not last:
                return what
            summary = {name: [t["status"]["code"] for t in tasks] for name, tasks in named(last[0]).items()}
            return f"{what}; tasks: {summary}; parameters: {last[0]['runtime_parameters']}"

        found: Body = await wait_for(reached, timeout=30, message=show)
        return found

    async def wait_task(self, workflow_id: uuid.UUID, name: str, status: str) -> Body:
        """Wait until the one task called ``name`` has ``status``; return the workflow."""
        return await self.wait(workflow_id, lambda body: code(body, name) == status, f"{name} to be {status}")

    async def send(self, topic: str, key: str, value: bytes) -> None:
        """Send a message as an external service would, and wait for the broker's acknowledgement."""
        await self.producer.send_and_wait(topic, key=key.encode(), value=value)

    async def pay(self, order: Order) -> None:
        """The payment provider confirms ``order``, naming the box the warehouse reserved."""
        order_id = order.order_id
        await self.send(
            self.topics.payment_confirmations, order_id, payment_confirmation(order_id, reserved_box_id(order_id))
        )

    async def report_box(self, box_id: str, status: str) -> None:
        """The warehouse reports on box ``box_id``."""
        await self.send(self.topics.warehouse_reports, box_id, warehouse_report(box_id, status))

    async def pick_up(self, order: Order, carrier: str) -> None:
        """``carrier`` reports that it picked ``order`` up."""
        await self.send(self.topics.carrier_pickups(carrier), order.order_id, carrier_pickup(order.order_id, carrier))

    def updates_of(self, workflow_id: uuid.UUID) -> list[tuple[bytes, ITemplateDAGInstance]]:
        """The updates of the workflow published so far (as read by the last poll), raw and decoded."""
        published = [
            (found.value, ITemplateDAGInstance.loads(found.value))
            for found in self.recorder.messages.get(self.update_topic, [])
        ]
        return [(raw, update) for raw, update in published if update.id == workflow_id]

    async def drive_to_sealing(self, workflow_id: uuid.UUID, order: Order) -> Body:
        """Pay ``order`` and let packing finish; return the workflow once it waits for the box to be sealed."""
        await self.pay(order)
        await self.wait(
            workflow_id,
            lambda body: code(body, PACKING) == "EXECUTING" and body["runtime_parameters"].get("packing_checks") == 1,
            "the first packing check",
        )
        self.clock.set(T0 + SCHEDULE.packing_check_period)
        return await self.wait_task(workflow_id, SEALED, "EXECUTING")


@pytest.fixture
async def shop(
    manual_clock: ManualClock, start_engine: EngineStarter, producer: AIOKafkaProducer
) -> AsyncIterator[OrderShop]:
    """An engine with the order workflow (REST on, timers every :data:`TICK` s, updates published), a
    recorder of its commands and updates, and an HTTP session."""
    topics = OrderTopics.named_after(unique_name("order"))
    update_topic = unique_name("order-updates")
    engine = await start_engine(
        register=lambda _: register_order_template(topics),
        trigger_interval=TICK,
        web_enabled=True,
        task_update_topic=update_topic,
    )
    consumer = AIOKafkaConsumer(
        update_topic,
        topics.payment_requests,
        topics.warehouse_commands,
        topics.carrier_bookings,
        bootstrap_servers=bootstrap_servers(),
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            yield OrderShop(engine, topics, manual_clock, producer, session, Recorder(consumer), update_topic)
    finally:
        await consumer.stop()


def new_order(**fields: Any) -> Order:
    """An order with an id no other test uses."""
    return Order(order_id=unique_name("order"), **fields)


# 1. one workflow, every kind of task


async def test_every_task_type_in_one_workflow_completes(shop: OrderShop) -> None:
    order = new_order(payment_method="card", parcels=3, gift_wrap=True)
    box = reserved_box_id(order.order_id)
    workflow_id = await shop.create(order)

    # Created: the payment request is sent, the card branch taken, the confirmation awaited.
    body = await shop.rest(workflow_id)
    assert body["status"]["code"] == "EXECUTING"
    assert_codes(
        body,
        {
            "PAYMENT": "EXECUTING",
            "PAYMENT.PAYMENT_command_task": "COMPLETED",
            "PAYMENT.choose_payment_method": "COMPLETED",
            "FRAUD_CHECK": "NOT_STARTED",
            "ADDRESS_CHECK": "NOT_STARTED",
            "GIFT_WRAP": "NOT_STARTED",
            "FULFILLMENT": "NOT_STARTED",
            "PAPERWORK": "NOT_STARTED",
            "SHIPPING": "NOT_STARTED",
            "DELIVERY": "NOT_STARTED",
        },
    )
    card, card_listener = branch(body, "card")
    invoice, invoice_listener = branch(body, "invoice")
    assert (card["status"]["code"], card_listener["status"]["code"]) == ("COMPLETED", "EXECUTING")
    assert (invoice["status"]["code"], invoice_listener["status"]["code"]) == ("SKIPPED", "SKIPPED")
    assert body["runtime_parameters"]["box_id"] == order.provisional_box_id
    requests = await shop.recorder.wait(
        shop.topics.payment_requests, lambda found: len(found) == 1, "the payment request"
    )
    assert (requests[0].key, requests[0].json()["payment_method"]) == (order.order_id, "card")

    # Payment done: the confirmation sets the box; preprocessing runs; fulfilment picks and checks packing once.
    await shop.pay(order)
    body = await shop.wait_task(workflow_id, PACKING, "EXECUTING")
    parameters = body["runtime_parameters"]
    assert_codes(
        body,
        {
            "PAYMENT": "COMPLETED",
            "PAYMENT.PAYMENT_command_task": "COMPLETED",
            "PAYMENT.choose_payment_method": "COMPLETED",
        },
    )
    assert branch(body, "card")[1]["status"]["code"] == "COMPLETED"
    assert branch(body, "invoice")[1]["status"]["code"] == "SKIPPED"
    assert (parameters["box_id"], parameters["payment_reference"]) == (box, f"pay-{order.order_id}")
    assert parameters["card_authorized"] == "yes" and "invoice_due_days" not in parameters
    assert_codes(
        body,
        {
            "FRAUD_CHECK": "COMPLETED",
            "FRAUD_CHECK.fraud_check_executor_task": "COMPLETED",
            "ADDRESS_CHECK": "COMPLETED",
            "ADDRESS_CHECK.address_check_executor_task": "COMPLETED",
            "GIFT_WRAP": "COMPLETED",
            "GIFT_WRAP.gift_wrap_executor_task": "COMPLETED",
            "FULFILLMENT": "EXECUTING",
            "FULFILLMENT.FULFILLMENT_command_task": "COMPLETED",
            SEALED: "NOT_STARTED",
            DISPATCH: "NOT_STARTED",
        },
    )
    assert (parameters["fraud_check"], parameters["address_check"], parameters["gift_wrapped"]) == (
        "passed",
        "verified",
        "yes",
    )
    assert parameters["packing_checks"] == 1
    assert task(body, PACKING)["time_to_execute"] == T0 + SCHEDULE.packing_check_period
    assert task(body, DISPATCH)["time_to_execute"] == T0 + SCHEDULE.dispatch_after
    watcher = monitor(body)
    assert watcher["status"]["code"] == "EXECUTING"
    assert watcher["time_to_execute"] == T0 + SCHEDULE.complete_fulfillment_within
    assert watcher["monitored_task_id"] == task(body, "FULFILLMENT")["id"]
    sealed_id = task(body, SEALED)["id"]
    assert body["sensor_tasks_to_correletable_map"][sealed_id]["correlatable_key_attr_value"] == box
    picks = await shop.recorder.wait(shop.topics.warehouse_commands, lambda found: len(found) == 1, "the pick request")
    assert (picks[0].key, picks[0].json()["action"]) == (box, "pick")

    # Packing is checked a second time, is done, and asks for the seal; the listener waits on the new box.
    shop.clock.set(T0 + SCHEDULE.packing_check_period)
    body = await shop.wait_task(workflow_id, SEALED, "EXECUTING")
    assert code(body, PACKING) == "COMPLETED"
    assert body["runtime_parameters"]["packing_checks"] == 2
    seals = await shop.recorder.wait(shop.topics.warehouse_commands, lambda found: len(found) == 2, "the seal request")
    assert (seals[1].key, seals[1].json()) == (box, {"action": "seal", "box_id": box})

    # Fulfilment is overdue: the monitor fires once and records it; the process goes on.
    shop.clock.set(T0 + SCHEDULE.complete_fulfillment_within)
    body = await shop.wait(workflow_id, lambda found: monitor(found)["status"]["code"] == "COMPLETED", "the monitor")
    assert body["runtime_parameters"]["fulfillment_overdue_at"] == T0 + SCHEDULE.complete_fulfillment_within
    assert_codes(body, {"FULFILLMENT": "EXECUTING", SEALED: "EXECUTING", DISPATCH: "NOT_STARTED"})

    # The box is sealed; dispatch waits for its time.
    await shop.report_box(box, "sealed")
    body = await shop.wait_task(workflow_id, SEALED, "COMPLETED")
    assert_codes(body, {"FULFILLMENT": "EXECUTING", DISPATCH: "EXECUTING", "PAPERWORK": "NOT_STARTED"})
    assert body["runtime_parameters"]["box_status"] == "sealed"

    # Dispatch time: fulfilment done, then the paperwork (JOIN_ALL) and every parcel are done; the carriers
    # are awaited.
    shop.clock.set(T0 + SCHEDULE.dispatch_after)
    body = await shop.wait(
        workflow_id, lambda found: codes(found, CARRIER_A) == codes(found, CARRIER_B) == ["EXECUTING"], "the carriers"
    )
    parameters = body["runtime_parameters"]
    assert_codes(body, {"FULFILLMENT": "COMPLETED", DISPATCH: "COMPLETED"})
    assert parameters["dispatched_at"] == T0 + SCHEDULE.dispatch_after
    assert_codes(
        body,
        {
            "PAPERWORK": "COMPLETED",
            "PAPERWORK.INVOICE": "COMPLETED",
            "PAPERWORK.INVOICE.invoice_executor_task": "COMPLETED",
            "PAPERWORK.NOTIFY": "COMPLETED",
            "PAPERWORK.NOTIFY.notify_executor_task": "COMPLETED",
        },
    )
    assert task(body, "PAPERWORK")["operator_type"] == "JOIN_ALL"
    assert (parameters["invoice_number"], parameters["customer_notified"]) == (f"INV-{order.order_id}", "yes")
    assert_codes(body, {"SHIPPING": "COMPLETED", PARCEL: "COMPLETED", f"{PARCEL}.PARCEL_command_task": "COMPLETED"})
    assert len(codes(body, PARCEL)) == len(task(body, "SHIPPING")["parallel_child_task_list"]) == 3
    assert parameters["parcels_booked"] == 3
    bookings = await shop.recorder.wait(shop.topics.carrier_bookings, lambda found: len(found) == 3, "the bookings")
    assert [booking.json()["parcel"] for booking in bookings] == [1, 2, 3]
    assert_codes(
        body, {"DELIVERY": "EXECUTING", PICKUP: "EXECUTING", "DELIVERY.close_order_executor_task": "NOT_STARTED"}
    )

    # The first carrier's pickup completes the step (ATLEAST_ONE), then the workflow.
    await shop.pick_up(order, "b")
    body = await shop.wait(
        workflow_id, lambda found: found["status"]["code"] == "COMPLETED", "the workflow to complete"
    )
    assert_codes(
        body,
        {
            "DELIVERY": "COMPLETED",
            PICKUP: "COMPLETED",
            CARRIER_B: "COMPLETED",
            CARRIER_A: "EXECUTING",
            "DELIVERY.close_order_executor_task": "COMPLETED",
        },
    )
    assert task(body, PICKUP)["operator_type"] == "ATLEAST_ONE"
    assert (body["runtime_parameters"]["picked_up_by"], body["runtime_parameters"]["closed"]) == ("b", "yes")
    unfinished = {
        name
        for name, tasks in named(body).items()
        for t in tasks
        if t["status"]["code"] not in ("COMPLETED", "SKIPPED")
    }
    assert unfinished == {CARRIER_A}

    # The update topic: one update per save, in order, each a whole workflow of the concrete classes,
    # the phases in the order they happened, the last one what REST serves.
    await shop.recorder.wait(
        shop.update_topic,
        lambda _: any(update.status.code == "COMPLETED" for _, update in shop.updates_of(workflow_id)),
        "the COMPLETED update",
    )
    published = shop.updates_of(workflow_id)
    decoded = [update for _, update in published]
    assert [update.update_count for update in decoded] == list(range(1, len(decoded) + 1))
    assert json.loads(published[-1][0]) == body

    def first(predicate: Callable[[Body], bool]) -> int:
        for position, (raw, _) in enumerate(published):
            if predicate(json.loads(raw)):
                return position
        raise AssertionError("no update shows it")

    milestones = [
        first(lambda found: branch(found, "card")[1]["status"]["code"] == "EXECUTING"),
        first(lambda found: code(found, "PAYMENT") == "COMPLETED"),
        first(lambda found: code(found, PACKING) == "COMPLETED"),
        first(
            lambda found: (
                bool(task(found, "FULFILLMENT")["monitoring_task_id"])
                and monitor(found)["status"]["code"] == "COMPLETED"
            )
        ),
        first(lambda found: code(found, SEALED) == "COMPLETED"),
        first(lambda found: code(found, "FULFILLMENT") == "COMPLETED"),
        first(lambda found: found["status"]["code"] == "COMPLETED"),
    ]
    assert milestones == sorted(set(milestones)), f"phases out of order in the updates: {milestones}"
    preprocessed = json.loads(published[milestones[1]][0])
    assert set(codes(preprocessed, "FRAUD_CHECK") + codes(preprocessed, "GIFT_WRAP")) == {"COMPLETED"}
    shipped = json.loads(published[milestones[5]][0])
    assert codes(shipped, "PAPERWORK") == codes(shipped, "SHIPPING") == ["COMPLETED"]

    final = decoded[-1]
    assert type(final) is DefaultTemplateDAGInstance
    classes = {type(t) for t in final.tasks.values()}
    assert {
        PaymentConfirmed,
        FulfillmentProcess,
        FulfillmentOverdue,
        PackingProgress,
        BoxSealed,
        DispatchBox,
    } <= classes
    assert isinstance(final.get_task(uuid.UUID(task(body, "SHIPPING")["id"])), ParallelCompositeTask)


# 2. the other branch of the decision


async def test_invoice_order_takes_the_invoice_branch_and_skips_the_card_branch(shop: OrderShop) -> None:
    order = new_order(payment_method="invoice", parcels=1)
    workflow_id = await shop.create(order, RELAXED)

    body = await shop.rest(workflow_id)
    card, card_listener = branch(body, "card")
    invoice, invoice_listener = branch(body, "invoice")
    assert (invoice["status"]["code"], invoice_listener["status"]["code"]) == ("COMPLETED", "EXECUTING")
    assert (card["status"]["code"], card_listener["status"]["code"]) == ("SKIPPED", "SKIPPED")
    assert body["runtime_parameters"]["invoice_due_days"] == 30
    assert "card_authorized" not in body["runtime_parameters"]

    # The invoice branch's listener takes the confirmation; the order then runs to its end.
    await shop.drive_to_sealing(workflow_id, order)
    box = reserved_box_id(order.order_id)
    await shop.report_box(box, "sealed")
    await shop.wait_task(workflow_id, DISPATCH, "EXECUTING")
    shop.clock.set(T0 + RELAXED.dispatch_after)
    await shop.wait_task(workflow_id, PICKUP, "EXECUTING")
    await shop.pick_up(order, "a")
    body = await shop.wait(
        workflow_id, lambda found: found["status"]["code"] == "COMPLETED", "the workflow to complete"
    )

    card, card_listener = branch(body, "card")
    invoice, invoice_listener = branch(body, "invoice")
    assert (card["status"]["code"], card_listener["status"]["code"]) == ("SKIPPED", "SKIPPED")
    assert (invoice["status"]["code"], invoice_listener["status"]["code"]) == ("COMPLETED", "COMPLETED")
    assert "card_authorized" not in body["runtime_parameters"]
    # This order's preprocessing has no gift wrapping, and it ships in one parcel.
    processes = {name for name, tasks in named(body).items() if tasks[0]["task_type"] == "SUB_DAG" and "." not in name}
    assert processes == {"PAYMENT", "FRAUD_CHECK", "ADDRESS_CHECK", "FULFILLMENT", "DELIVERY"}
    assert codes(body, PARCEL) == ["COMPLETED"]
    # Fulfilment finished in time: its monitor was completed without firing.
    assert monitor(body)["status"]["code"] == "COMPLETED"
    assert "fulfillment_overdue_at" not in body["runtime_parameters"]
    assert_codes(body, {CARRIER_A: "COMPLETED", CARRIER_B: "EXECUTING"})
    requests = await shop.recorder.wait(
        shop.topics.payment_requests, lambda found: len(found) == 1, "the payment request"
    )
    assert requests[0].json()["payment_method"] == "invoice"


# 3. a correlation re-keyed at run time


async def test_message_with_the_old_box_id_completes_nothing(shop: OrderShop) -> None:
    """The fulfilment listener was registered under the provisional ``box_id`` when the workflow was
    created; the payment confirmation changed ``box_id``, which re-keyed it. A report on the provisional
    box no longer reaches it; reports on the reserved box do."""
    order = new_order(payment_method="card")
    old_box, new_box = order.provisional_box_id, reserved_box_id(order.order_id)
    workflow_id = await shop.create(order, RELAXED)
    body = await shop.rest(workflow_id)
    sealed_id = task(body, SEALED)["id"]
    assert body["sensor_tasks_to_correletable_map"][sealed_id] == {
        **body["sensor_tasks_to_correletable_map"][sealed_id],
        "correlatable_key_attr": "box_id",
        "correlatable_key_attr_value": old_box,
    }

    body = await shop.drive_to_sealing(workflow_id, order)
    assert body["sensor_tasks_to_correletable_map"][sealed_id]["correlatable_key_attr_value"] == new_box
    assert body["runtime_parameters"]["box_id"] == new_box

    # "sealed" on the old box, then a non-final report on the new one: the listener hears only the second.
    await shop.report_box(old_box, "sealed")
    await shop.report_box(new_box, "weighed")
    body = await shop.wait(workflow_id, lambda found: "box_reports" in found["runtime_parameters"], "a report")
    heard = (body["runtime_parameters"]["box_status"], body["runtime_parameters"]["box_reports"])
    assert heard == ("weighed", 1), f"the listener heard {heard}: the report on the old box reached it"
    assert_codes(body, {SEALED: "EXECUTING", "FULFILLMENT": "EXECUTING", DISPATCH: "NOT_STARTED"})

    await shop.report_box(new_box, "sealed")
    body = await shop.wait_task(workflow_id, SEALED, "COMPLETED")
    assert body["runtime_parameters"]["box_reports"] == 2
    assert body["runtime_parameters"]["box_status"] == "sealed"
    assert code(body, DISPATCH) == "EXECUTING"
