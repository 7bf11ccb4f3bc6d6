"""The pizza demo: a worker process, a pizza shop and N orders on a running Kafka broker.

``python -m examples.pizza [--orders N] [--timeout SECONDS]``. The broker is ``DAGGER_BROKER``
(default ``kafka://127.0.0.1:9092``). Exits 0 when every order's workflow has COMPLETED.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaProducer

from examples.demo import demo_broker, demo_main, run_demo
from examples.pizza.runner import WorkerProcess, send_requests
from examples.pizza.shop import PizzaShop

DEFAULT_ORDERS = 20


@asynccontextmanager
async def play_shop(worker: WorkerProcess, order_ids: list[str]) -> AsyncIterator[None]:
    """Open the pizza shop of ``worker`` and send it one pizza request per order id; the shop bakes until exit."""
    settings = worker.settings
    async with PizzaShop(settings.bootstrap_servers, settings.topics):
        async with AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5) as producer:
            await send_requests(producer, settings.requests_topic, order_ids)
        print(f"sent {len(order_ids)} pizza requests to {settings.requests_topic}")
        yield


async def demo(orders: int, timeout: float) -> int:
    """Run the demo; return the exit code."""
    worker = WorkerProcess(demo_broker(), prefix="pizza-demo")
    order_ids = [f"order-{number:03d}" for number in range(1, orders + 1)]
    return await run_demo(worker, order_ids, lambda: play_shop(worker, order_ids), "pizza", timeout)


def main() -> int:
    """Parse the command line and run the demo."""
    return demo_main(
        "python -m examples.pizza", __doc__.splitlines()[0], demo, DEFAULT_ORDERS, "number of pizza orders"
    )


if __name__ == "__main__":
    sys.exit(main())
