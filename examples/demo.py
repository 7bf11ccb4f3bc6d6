"""The driver of the example demos: start a worker, play its services, send the requests, wait, report.

A demo names its worker process, its order ids and a :data:`Play`; :func:`run_demo` does the rest and
:func:`demo_main` gives it the command line ``[--orders N] [--timeout SECONDS]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp

from examples.pizza.runner import WorkerError, WorkerProcess, Workflow, check_broker

READY_TIMEOUT = 60.0
POLL_INTERVAL = 0.5
DEFAULT_TIMEOUT = 120.0

Play = Callable[[], AbstractAsyncContextManager[object]]
"""A new context that, once the worker is ready, plays its services and sends it the requests on entry;
the demo waits for the workflows inside it."""


def demo_broker() -> str:
    """The broker of the demos: ``DAGGER_BROKER``, by default the local one."""
    return os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092")


async def wait_completed(
    worker: WorkerProcess, session: aiohttp.ClientSession, order_ids: Sequence[str], latest: dict[str, Workflow]
) -> None:
    """Poll the worker until every order's workflow is COMPLETED, printing progress; ``latest`` keeps the last view."""
    reported = -1
    while True:
        latest.update(await worker.workflows(session))
        done = count_completed(order_ids, latest)
        if done != reported:
            print(f"  {done}/{len(order_ids)} COMPLETED", flush=True)
            reported = done
        if done == len(order_ids):
            return
        await asyncio.sleep(POLL_INTERVAL)


def count_completed(order_ids: Sequence[str], latest: dict[str, Workflow]) -> int:
    """How many of the orders have a COMPLETED workflow in ``latest``."""
    return sum(latest[order].status == "COMPLETED" for order in order_ids if order in latest)


def print_table(order_ids: Sequence[str], latest: dict[str, Workflow]) -> None:
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


async def run_demo(worker: WorkerProcess, order_ids: Sequence[str], play: Play, name: str, timeout: float) -> int:
    """Run ``worker``, ``play`` it the orders and wait until their workflows complete; return the exit code.

    Prints the progress, a table of the workflows and ``OK: all N <name> workflows COMPLETED``, or
    ``FAILED: ...`` with the end of the worker's log on stderr. The worker is stopped and its work dir
    removed in any case; ``timeout`` bounds the whole run.
    """
    settings = worker.settings
    total = len(order_ids)
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
            async with play():
                sent = True
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
    completed = count_completed(order_ids, latest)
    print()
    if failure or completed != total:
        print(f"FAILED: {failure or 'not every workflow completed'}; {completed}/{total} COMPLETED", file=sys.stderr)
        if log:
            print(f"last lines of the worker's log:\n{log}", file=sys.stderr)
        return 1
    print(f"OK: all {total} {name} workflows COMPLETED")
    return 0


def demo_main(
    prog: str,
    description: str,
    demo: Callable[[int, float], Coroutine[Any, Any, int]],
    default_orders: int,
    orders_help: str,
) -> int:
    """Parse ``[--orders N] [--timeout SECONDS]`` and run ``demo(orders, timeout)``; return its exit code.

    ``orders_help`` describes ``--orders`` (the default is added to it).
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--orders", type=int, default=default_orders, help=f"{orders_help} (default {default_orders})")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"overall time limit in seconds (default {DEFAULT_TIMEOUT:.0f})",
    )
    args = parser.parse_args()
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    # A fresh broker creates its offsets topic on the first group join; aiokafka logs the retry as an error.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.CRITICAL)
    return asyncio.run(demo(args.orders, args.timeout))
