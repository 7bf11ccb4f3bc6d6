"""Helpers shared by the test suites."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

DEFAULT_BROKER = "kafka://127.0.0.1:9092"

CLOCK_START = 1_700_000_000
"""Where the ``manual_clock`` fixture starts Dagger's clock (epoch seconds)."""


def broker_url() -> str:
    """The broker for integration tests, as a faust URL (``kafka://host:port``)."""
    return os.environ.get("DAGGER_TEST_BROKER", DEFAULT_BROKER)


def bootstrap_servers() -> str:
    """The broker for integration tests, as aiokafka bootstrap servers (``host:port``)."""
    return ",".join(part.split("://", 1)[-1] for part in broker_url().split(";"))


def unique_name(prefix: str = "t") -> str:
    """A name no other test run uses: for topics, app ids, consumer groups."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def wait_for(
    predicate: Callable[[], Any] | Callable[[], Awaitable[Any]],
    timeout: float = 30.0,
    message: str | Callable[[], str] = "condition",
    interval: float = 0.1,
) -> Any:
    """Poll ``predicate`` (sync or async) until it returns a truthy value; return that value.

    When ``timeout`` seconds pass, fails the test with ``message`` (a string, or a callable
    evaluated then, to show the state at that moment) and the last value seen.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:g}s waiting for {text} (last value: {last!r})")
        await asyncio.sleep(interval)


def write_package(root: Path, name: str, modules: Mapping[str, str]) -> None:
    """Write the package ``name`` under ``root``: ``modules`` maps module names below it (``"a.b"``) to
    their source; every package on the way gets an empty ``__init__.py``."""
    package = root / name
    for module, source in {"__init__": "", **modules}.items():
        *packages, leaf = module.split(".")
        for depth in range(len(packages) + 1):
            init = package.joinpath(*packages[:depth], "__init__.py")
            init.parent.mkdir(parents=True, exist_ok=True)
            init.touch()
        package.joinpath(*packages, f"{leaf}.py").write_text(source)


async def create_topics(names: Iterable[str], partitions: int = 1, **configs: str) -> None:
    """Create topics on the test broker and wait until their leaders are known."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    names = list(names)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers())
    await admin.start()
    try:
        topics = [NewTopic(n, partitions, 1, topic_configs=configs or None) for n in names]
        await admin.create_topics(topics)

        async def ready() -> bool:
            described = await admin.describe_topics(names)
            return all(t["error_code"] == 0 and t["partitions"] for t in described)

        await wait_for(ready, timeout=15, message=f"topics {names} to be ready")
    finally:
        await admin.close()


async def list_topics() -> set[str]:
    """Names of all topics on the test broker."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers())
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()
