"""The order demo: a worker process, the payment provider, the warehouse and the carriers, and N orders.

``python -m examples.order [--orders N] [--timeout SECONDS]``. The broker is ``DAGGER_BROKER`` (default
``kafka://127.0.0.1:9092``). Orders alternate between card and invoice payment, ship in one to three
parcels, and every other one is a gift. Exits 0 when every order's workflow has COMPLETED.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

import aiohttp
from aiokafka import AIOKafkaProducer

from examples.order.orders import Order
from examples.order.services import OrderServices
from examples.order.tasks import PAYMENT_METHODS
from examples.order.workflow import OrderTopics
from examples.pizza.__main__ import print_table, wait_completed
from examples.pizza.runner import WorkerError, WorkerProcess, Workflow, check_broker

READY_TIMEOUT = 60.0


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
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(topic, key=order.order_id.encode(), value=order.to_json()) for order in orders]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def demo(count: int, timeout: float) -> int:
    """Run the demo; return the exit code."""
    worker = OrderWorkerProcess(os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092"), prefix="order-demo")
    settings = worker.settings
    orders = demo_orders(count)
    order_ids = [order.order_id for order in orders]
    latest: dict[str, Workflow] = {}
    failure = ""
    sent = False
    try:
        async with asyncio.timeout(timeout), aiohttp.ClientSession() as session:
            await check_broker(settings.bootstrap_servers)
            worker.start()
            print(f"worker pid {worker.pid}: application {settings.application_name}, web {worker.base_url}")
            await worker.wait_ready(session, READY_TIMEOUT)
            print("worker ready")
            async with OrderServices(settings.bootstrap_servers, worker.topics) as services:
                await send_orders(settings.bootstrap_servers, settings.requests_topic, orders)
                sent = True
                print(f"sent {count} orders to {settings.requests_topic}")
                await wait_completed(worker, session, order_ids, latest)
                received = {topic: len(commands) for topic, commands in services.received.items()}
            print(f"commands the services answered: {received}")
    except TimeoutError:
        failure = f"timed out after {timeout:.0f} s"
    except WorkerError as error:
        failure = str(error)
    finally:
        code = worker.stop()
        if code is not None:
            print(f"worker stopped (exit code {code})")
        log = worker.log_tail()
        worker.remove_workdir()

    if sent:
        print()
        print_table(order_ids, latest)
    completed = sum(latest[order].status == "COMPLETED" for order in order_ids if order in latest)
    print()
    if failure or completed != count:
        print(f"FAILED: {failure or 'not every workflow completed'}; {completed}/{count} COMPLETED", file=sys.stderr)
        if log:
            print(f"last lines of the worker's log:\n{log}", file=sys.stderr)
        return 1
    print(f"OK: all {count} order workflows COMPLETED")
    return 0


def main() -> int:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(prog="python -m examples.order", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=4, help="number of orders (default 4)")
    parser.add_argument("--timeout", type=float, default=120.0, help="overall time limit in seconds (default 120)")
    args = parser.parse_args()
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    # A fresh broker creates its offsets topic on the first group join; aiokafka logs the retry as an error.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.CRITICAL)
    return asyncio.run(demo(args.orders, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
