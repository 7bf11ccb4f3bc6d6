"""The order demo: a worker process, the payment provider, the warehouse and the carriers, and N orders.

``python -m examples.order [--orders N] [--timeout SECONDS]``. The broker is ``DAGGER_BROKER`` (default
``kafka://127.0.0.1:9092``). Orders alternate between card and invoice payment, ship in one to three
parcels, and every other one is a gift. Exits 0 when every order's workflow has COMPLETED.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaProducer

from examples.demo import demo_broker, demo_main, run_demo
from examples.order.orders import Order
from examples.order.services import OrderServices
from examples.order.tasks import PAYMENT_METHODS
from examples.order.workflow import OrderTopics
from examples.pizza.runner import WorkerProcess, send_messages

DEFAULT_ORDERS = 4


class OrderWorkerProcess(WorkerProcess):
    """``python -m examples.order.worker``, set up like the pizza worker."""

    module = "examples.order.worker"

    @property
    def topics(self) -> OrderTopics:
        """The order topics of this worker (named after its application)."""
        return OrderTopics.named_after(self.settings.application_name)


def demo_orders(count: int) -> list[Order]:
    """``count`` orders: card and invoice in turn, one to three parcels, every other one a gift."""
    return [
        Order(
            order_id=f"order-{number:03d}",
            payment_method=PAYMENT_METHODS[number % 2],
            parcels=1 + number % 3,
            gift_wrap=number % 2 == 0,
            amount=f"{10 * number + 9.99:.2f}",
        )
        for number in range(1, count + 1)
    ]


async def send_orders(bootstrap_servers: str, topic: str, orders: list[Order]) -> None:
    """Send one request per order and wait until the broker has them all."""
    async with AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=5) as producer:
        await send_messages(producer, topic, ((order.order_id, order.to_json()) for order in orders))


@asynccontextmanager
async def play_services(worker: OrderWorkerProcess, orders: list[Order]) -> AsyncIterator[None]:
    """Start the services of ``worker`` and send it ``orders``; on exit, print how many commands they answered."""
    settings = worker.settings
    async with OrderServices(settings.bootstrap_servers, worker.topics) as services:
        await send_orders(settings.bootstrap_servers, settings.requests_topic, orders)
        print(f"sent {len(orders)} orders to {settings.requests_topic}")
        yield
        received = {topic: len(commands) for topic, commands in services.received.items()}
    print(f"commands the services answered: {received}")


async def demo(count: int, timeout: float) -> int:
    """Run the demo; return the exit code."""
    worker = OrderWorkerProcess(demo_broker(), prefix="order-demo")
    orders = demo_orders(count)
    order_ids = [order.order_id for order in orders]
    return await run_demo(worker, order_ids, lambda: play_services(worker, orders), "order", timeout)


def main() -> int:
    """Parse the command line and run the demo."""
    return demo_main("python -m examples.order", __doc__.splitlines()[0], demo, DEFAULT_ORDERS, "number of orders")


if __name__ == "__main__":
    sys.exit(main())
