"""The order workflow: one template holding every kind of task Dagger has.

``OrderWorkflow`` runs these processes, in this order:

``PAYMENT``
    ``RequestPayment`` (command) asks the payment provider to collect the order, keyed by ``order_id``;
    ``ChoosePaymentMethod`` (decision) takes the ``card`` branch (``AuthorizeCard``) or the ``invoice``
    branch (``ExtendCredit``) by the runtime parameter ``payment_method``, the other one is SKIPPED; each
    branch then waits with ``PaymentConfirmed`` (listener, correlated by ``order_id``) for the provider's
    confirmation, which sets ``payment_reference`` and replaces the order's provisional ``box_id`` with
    the box the warehouse reserved.
``PREPROCESSING``
    A dynamic placeholder, expanded when each order is created into the processes
    :func:`preprocessing_builders` returns (``FRAUD_CHECK``, ``ADDRESS_CHECK`` and, for gifts,
    ``GIFT_WRAP``).
``FULFILLMENT`` (a :class:`FulfillmentProcess`, watched by :class:`FulfillmentOverdue` at ``complete_by_time``)
    ``PickItems`` (command) asks the warehouse to pick the order into box ``box_id``;
    ``PackingProgress`` (interval task) checks the packing every ``packing_check_period`` seconds, is done
    at the second check and then asks the warehouse to seal the box; ``BoxSealed`` (listener, correlated
    by ``box_id``, so re-keyed when the payment confirmation changed it) waits for the seal;
    ``DispatchBox`` (trigger task) releases the box to the dock at ``dispatch_time``.
``PAPERWORK``
    A parallel composite process joining all of ``INVOICE`` (``WriteInvoice``) and ``NOTIFY``
    (``NotifyCustomer``).
``SHIPPING``
    A parallel composite process with one ``PARCEL`` process per parcel (``BookParcel``, a command
    booking the parcel with the carriers); the number is set per order.
``DELIVERY``
    ``carrier_pickup``, a parallel composite task whose children wait for either carrier's pickup
    (``CarrierPickup`` listeners on two topics); the first one completes it (ATLEAST_ONE) and
    ``CloseOrder`` ends the workflow.

Every time is an epoch second (``dagger.utils.clock``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.modeler.definition import (
    ParallelCompositeProcessTemplateDagBuilder,
    ProcessTemplateDagBuilder,
)
from dagger.service.services import Dagger
from dagger.tasks.task import DefaultProcessTemplateDAGInstance, ITask, ParallelCompositeTask, TaskOperator
from dagger.templates.template import (
    DecisionTaskTemplateBuilder,
    IntervalTaskTemplateBuilder,
    ITemplateDAG,
    KafkaCommandTaskTemplateBuilder,
    KafkaListenerTaskTemplateBuilder,
    ParallelCompositeTaskTemplateBuilder,
    TaskTemplate,
    TriggerTaskTemplateBuilder,
)
from examples.order.tasks import (
    DISPATCH_TIME,
    PACKING_CHECK_PERIOD,
    PACKING_DEADLINE,
    AuthorizeCard,
    BookParcel,
    BoxSealed,
    CarrierPickup,
    ChoosePaymentMethod,
    CloseOrder,
    DispatchBox,
    ExtendCredit,
    FulfillmentProcess,
    NotifyCustomer,
    PackingProgress,
    PaymentConfirmed,
    PickItems,
    RequestPayment,
    ScreenForFraud,
    VerifyAddress,
    WrapAsGift,
    WriteInvoice,
)

ORDER_TEMPLATE = "OrderWorkflow"

PAYMENT = "PAYMENT"
PREPROCESSING = "PREPROCESSING"
FRAUD_CHECK = "FRAUD_CHECK"
ADDRESS_CHECK = "ADDRESS_CHECK"
GIFT_WRAP = "GIFT_WRAP"
FULFILLMENT = "FULFILLMENT"
PAPERWORK = "PAPERWORK"
INVOICE = "INVOICE"
NOTIFY = "NOTIFY"
SHIPPING = "SHIPPING"
PARCEL = "PARCEL"
DELIVERY = "DELIVERY"

DEFAULT_PARCELS = 1
"""How many ``PARCEL`` processes ``SHIPPING`` has until an order sets its own number."""


@dataclass(frozen=True)
class OrderTopics:
    """The topic names of one order shop: the commands it sends and the reports it listens to."""

    payment_requests: str = "order_payment_requests"
    payment_confirmations: str = "order_payment_confirmations"
    warehouse_commands: str = "order_warehouse_commands"
    warehouse_reports: str = "order_warehouse_reports"
    carrier_bookings: str = "order_carrier_bookings"
    carrier_a_pickups: str = "order_carrier_a_pickups"
    carrier_b_pickups: str = "order_carrier_b_pickups"

    @classmethod
    def named_after(cls, prefix: str) -> OrderTopics:
        """Topic names of their own: ``<prefix>-payment-requests`` and so on."""
        return cls(**{field.name: f"{prefix}-{field.name.replace('_', '-')}" for field in fields(cls)})

    def carrier_pickups(self, carrier: str) -> str:
        """The topic on which ``carrier`` (``a`` or ``b``) reports its pickups."""
        return {"a": self.carrier_a_pickups, "b": self.carrier_b_pickups}[carrier]


DEFAULT_TOPICS = OrderTopics()


def register_order_template(topics: OrderTopics = DEFAULT_TOPICS) -> None:
    """Register ``OrderWorkflow`` with ``Dagger.app``, its tasks sending and listening on ``topics``.

    Call it before the engine starts: building the listeners declares their topics' consumers.
    """
    Dagger.register_template(ORDER_TEMPLATE)(lambda name: order_template(name, topics))


def order_template(template_name: str, topics: OrderTopics) -> ITemplateDAG:
    """The order workflow's definition, with one parcel to ship until an order says otherwise."""
    helper = DAGBuilderHelper(Dagger.app)
    Dagger.create_topic(topics.carrier_bookings, key_type=bytes, value_type=bytes)
    processes = [
        helper.generic_process_builder(process_name=PAYMENT, root_task=_payment_tasks(helper, topics)),
        helper.generic_dynamic_process_builder(name=PREPROCESSING),
        helper.generic_process_builder(
            process_name=FULFILLMENT, root_task=_fulfillment_tasks(helper, topics), process_type=FulfillmentProcess
        ),
        _paperwork(helper),
        _shipping(),
        helper.generic_process_builder(process_name=DELIVERY, root_task=_delivery_tasks(helper, topics)),
    ]
    root = helper.build_and_link_processes(processes)
    template = helper.generic_template(template_name=template_name, root_process=root)
    template.set_given_num_of_parallel_processes_for_a_composite_process(  # type: ignore[attr-defined]
        DEFAULT_PARCELS, SHIPPING, parcel_process_builder(topics)
    )
    return template


def _payment_tasks(helper: DAGBuilderHelper, topics: OrderTopics) -> TaskTemplate:
    """request → decision → (card | invoice) → confirmation; one confirmation definition ends both branches."""
    confirmed = helper.generic_listener_task_builder(
        topic=topics.payment_confirmations,
        task_type=PaymentConfirmed,
        process_name=PAYMENT,
        key_type=bytes,
        value_type=bytes,
    ).build()
    card = helper.generic_executor_task_builder(task_type=AuthorizeCard, name="card").set_next(confirmed).build()
    invoice = helper.generic_executor_task_builder(task_type=ExtendCredit, name="invoice").set_next(confirmed).build()
    decision = DecisionTaskTemplateBuilder(Dagger.app)
    decision.set_type(ChoosePaymentMethod)
    decision.set_name("choose_payment_method")
    decision.set_next(card)  # PAYMENT_METHODS[0]
    decision.set_next(invoice)  # PAYMENT_METHODS[1]
    request = helper.generic_command_task_builder(
        topic=topics.payment_requests, task_type=RequestPayment, process_name=PAYMENT, key_type=bytes, value_type=bytes
    )
    return request.set_next(decision.build()).build()


def preprocessing_builders(gift_wrap: bool = False) -> list[ProcessTemplateDagBuilder]:
    """Builders of the processes ``PREPROCESSING`` expands into for one order: fraud and address checks,
    then gift wrapping if asked for. New builders each call, as ``set_dynamic_builders_for_process_template``
    takes them."""
    helper = DAGBuilderHelper(Dagger.app)
    steps: list[tuple[str, type[ITask]]] = [(FRAUD_CHECK, ScreenForFraud), (ADDRESS_CHECK, VerifyAddress)]
    if gift_wrap:
        steps.append((GIFT_WRAP, WrapAsGift))
    return [
        helper.generic_process_builder(
            process_name=name,
            root_task=helper.generic_executor_task_builder(task_type=task_type, name=name.lower()).build(),
        )
        for name, task_type in steps
    ]


def _fulfillment_tasks(helper: DAGBuilderHelper, topics: OrderTopics) -> TaskTemplate:
    """pick → packing checks (interval) → sealed (listener by ``box_id``) → dispatch (trigger)."""
    pick = helper.generic_command_task_builder(
        topic=topics.warehouse_commands, task_type=PickItems, process_name=FULFILLMENT, key_type=bytes, value_type=bytes
    )
    packing = IntervalTaskTemplateBuilder(Dagger.app)
    packing.set_type(PackingProgress)
    packing.set_name("packing_progress")
    packing.set_interval_execute_period_lookup_key(PACKING_CHECK_PERIOD)
    packing.set_time_to_force_complete_lookup_key(PACKING_DEADLINE)
    sealed = helper.generic_listener_task_builder(
        topic=topics.warehouse_reports, task_type=BoxSealed, process_name=FULFILLMENT, key_type=bytes, value_type=bytes
    )
    dispatch = TriggerTaskTemplateBuilder(Dagger.app)
    dispatch.set_type(DispatchBox)
    dispatch.set_name("dispatch")
    dispatch.set_time_to_execute_lookup_key(DISPATCH_TIME)
    return helper.build_and_link_tasks([pick, packing, sealed, dispatch])


def _paperwork(helper: DAGBuilderHelper) -> ParallelCompositeProcessTemplateDagBuilder:
    """``INVOICE`` and ``NOTIFY`` side by side; the composite completes when both have (JOIN_ALL)."""
    paperwork = ParallelCompositeProcessTemplateDagBuilder(Dagger.app)
    paperwork.set_name(PAPERWORK)
    paperwork.set_type(ParallelCompositeTask)
    paperwork.set_parallel_operator_type(TaskOperator.JOIN_ALL)
    for name, task_type in ((INVOICE, WriteInvoice), (NOTIFY, NotifyCustomer)):
        tasks = helper.generic_executor_task_builder(task_type=task_type, name=name.lower()).build()
        paperwork.set_parallel_process_templates(
            helper.generic_process_builder(process_name=name, root_task=tasks).build()
        )
    return paperwork


def _shipping() -> ParallelCompositeProcessTemplateDagBuilder:
    """The composite of the parcels; its ``PARCEL`` processes are set on the template, per order."""
    shipping = ParallelCompositeProcessTemplateDagBuilder(Dagger.app)
    shipping.set_name(SHIPPING)
    shipping.set_type(ParallelCompositeTask)
    shipping.set_parallel_operator_type(TaskOperator.JOIN_ALL)
    return shipping


def parcel_process_builder(topics: OrderTopics) -> ProcessTemplateDagBuilder:
    """Builder of one ``PARCEL`` process: book the parcel on the (declared) carrier bookings topic."""
    book = KafkaCommandTaskTemplateBuilder(Dagger.app)
    book.set_type(BookParcel)
    book.set_name(f"{PARCEL}_command_task")
    book.set_topic(Dagger.app.get_topic(topics.carrier_bookings))
    process = ProcessTemplateDagBuilder(Dagger.app)
    process.set_name(PARCEL)
    process.set_type(DefaultProcessTemplateDAGInstance)
    process.set_root_task(book.build())
    return process


def _delivery_tasks(helper: DAGBuilderHelper, topics: OrderTopics) -> TaskTemplate:
    """Either carrier's pickup (ATLEAST_ONE of two listeners), then close the order."""
    pickups = []
    for carrier in ("a", "b"):
        listener = KafkaListenerTaskTemplateBuilder(Dagger.app)
        listener.set_topic(Dagger.create_topic(topics.carrier_pickups(carrier), key_type=bytes, value_type=bytes))
        listener.set_type(CarrierPickup)
        listener.set_name(f"carrier_{carrier}_pickup")
        pickups.append(listener.build())
    pickup = ParallelCompositeTaskTemplateBuilder(Dagger.app, 1, pickups[0])
    pickup.add_parallel_task(pickups[1])
    pickup.set_type(ParallelCompositeTask)
    pickup.set_name("carrier_pickup")
    pickup.set_task_operator(TaskOperator.ATLEAST_ONE)
    pickup.set_next(helper.generic_executor_task_builder(task_type=CloseOrder, name="close_order").build())
    return pickup.build()
