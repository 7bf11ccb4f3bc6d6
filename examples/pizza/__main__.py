"""The pizza demo: a worker process, a pizza shop and N orders on a running Kafka broker.

``python -m examples.pizza [--orders N] [--timeout SECONDS]``. The broker is ``DAGGER_BROKER``
(default ``kafka://127.0.0.1:9092``). Exits 0 when every order's workflow has COMPLETED.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

import aiohttp
from aiokafka import AIOKafkaProducer

from examples.pizza.runner import WorkerError, WorkerProcess, Workflow, check_broker, send_requests
from examples.pizza.shop import PizzaShop

READY_TIMEOUT = 60.0
POLL_INTERVAL = 0.5


async def wait_completed(
    worker: WorkerProcess, session: aiohttp.ClientSession, order_ids: list[str], latest: dict[str, Workflow]
) -> None:
    """Poll the worker until every order's workflow is COMPLETED, printing progress; ``latest`` keeps the last view."""
    reported = -1
    while True:
        latest.update(await worker.workflows(session))
        done = sum(latest[order].status == "COMPLETED" for order in order_ids if order in latest)
        if done != reported:
            print(f"  {done}/{len(order_ids)} COMPLETED", flush=True)
            reported = done
        if done == len(order_ids):
            return
        await asyncio.sleep(POLL_INTERVAL)


def print_table(order_ids: list[str], latest: dict[str, Workflow]) -> None:
    """Print each order's workflow id, status and process statuses."""
    rows = [("order", "workflow id", "status", "processes")]
    for order in order_ids:
        workflow = latest.get(order)
        if workflow is None:
            rows.append((order, "-", "NOT FOUND", "-"))
        else:
            processes = ", ".join(f"{name}={status}" for name, status in workflow.processes.items())
            rows.append((order, workflow.id, workflow.status, processes))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])


async def demo(orders: int, timeout: float) -> int:
    """Run the demo; return the exit code."""
    worker = WorkerProcess(os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092"), prefix="pizza-demo")
    settings = worker.settings
    order_ids = [f"order-{number:03d}" for number in range(1, orders + 1)]
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
            async with PizzaShop(settings.bootstrap_servers, settings.topics):
                producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
                await producer.start()
                try:
                    await send_requests(producer, settings.requests_topic, order_ids)
                    sent = True
                finally:
                    await producer.stop()
                print(f"sent {orders} pizza requests to {settings.requests_topic}")
                await wait_completed(worker, session, order_ids, latest)
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
    if failure or completed != orders:
        print(f"FAILED: {failure or 'not every workflow completed'}; {completed}/{orders} COMPLETED", file=sys.stderr)
        if log:
            print(f"last lines of the worker's log:\n{log}", file=sys.stderr)
        return 1
    print(f"OK: all {orders} pizza workflows COMPLETED")
    return 0


def main() -> int:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(prog="python -m examples.pizza", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20, help="number of pizza orders (default 20)")
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
