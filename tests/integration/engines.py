"""Starting Dagger engines with the pizza templates inside a test, and waiting on their workflows.

The ``start_engine`` fixture (``tests/integration/conftest.py``) is an :class:`EngineStarter`: each call
starts one engine with unique names, a fresh data dir and the pizza templates, and every engine it
started is stopped when the test ends.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from dagger.service._partitions import partition_for
from dagger.service.services import Dagger
from dagger.store._correlation_index import lookup_key
from dagger.tasks.task import ITemplateDAGInstance
from dagger.wire import REASON, SOURCE_OFFSET, SOURCE_PARTITION, SOURCE_TOPIC
from examples.pizza.runner import free_port
from examples.pizza.workflow import BUILDERS_TEMPLATE, PizzaTopics, register_pizza_templates
from tests.support import broker_url, unique_name, wait_for

Register = Callable[[Dagger], None]


@dataclass(frozen=True)
class EngineSetup:
    """What makes an engine the same application as another: names, topics and data dir."""

    application_name: str
    tasks_topic: str
    bootstrap_topic: str
    topics: PizzaTopics
    datadir: Path
    options: dict[str, Any] = field(default_factory=dict)


class EngineStarter:
    """Starts engines for one test and stops them all at its end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.running: list[Dagger] = []
        self.setups: dict[int, EngineSetup] = {}
        self._previous = (Dagger.app, dict(Dagger.topics))

    def new_setup(self, **options: Any) -> EngineSetup:
        """Unique names and a fresh data dir; ``options`` are passed to :class:`Dagger`."""
        return EngineSetup(
            application_name=unique_name("pizza"),
            tasks_topic=unique_name("tasks"),
            bootstrap_topic=unique_name("bootstrap"),
            topics=PizzaTopics(orders=unique_name("orders"), ready=unique_name("ready")),
            datadir=self.fresh_datadir(),
            options=options,
        )

    def fresh_datadir(self) -> Path:
        """A data dir no engine has used."""
        return self.tmp_path / unique_name("data")

    async def __call__(
        self, setup: EngineSetup | None = None, *, register: Register | None = None, **options: Any
    ) -> Dagger:
        """Start an engine of ``setup`` (new unique names when None) and wait until it owns its partitions.

        ``options`` (``web_enabled``, ``task_update_topic``, ``task_update_callbacks``,
        ``delete_workflow_on_complete``, a ``broker`` other than the test broker, ...) are added to the
        setup's and passed to :class:`Dagger`; with
        ``web_enabled=True`` and no ``web_port`` a free port is chosen. ``register(engine)`` runs after
        the pizza templates are registered and before the engine starts: the place to register more
        templates. The engine's setup is ``engine.test_setup`` and its topics ``engine.pizza_topics``.
        """
        setup = setup or self.new_setup()
        settings = {"web_enabled": False, **setup.options, **options}
        if settings["web_enabled"] and "web_port" not in settings:
            settings["web_port"] = free_port()
        settings.setdefault("web_host", "127.0.0.1")
        settings.setdefault("web_bind", "127.0.0.1")
        engine = Dagger(
            broker=settings.pop("broker", broker_url()),
            datadir=str(setup.datadir),
            application_name=setup.application_name,
            tasks_topic=setup.tasks_topic,
            bootstrap_topic=setup.bootstrap_topic,
            broker_session_timeout=6,
            broker_heartbeat_interval=1,
            **settings,
        )
        engine.pizza_topics = setup.topics  # type: ignore[attr-defined]
        engine.test_setup = EngineSetup(  # type: ignore[attr-defined]
            application_name=setup.application_name,
            tasks_topic=setup.tasks_topic,
            bootstrap_topic=setup.bootstrap_topic,
            topics=setup.topics,
            datadir=setup.datadir,
            options={**setup.options, **options},
        )
        register_pizza_templates(setup.topics)
        if register is not None:
            register(engine)
        self.running.append(engine)
        await engine.start()
        await wait_for(lambda: engine.owned_partitions(), timeout=60, message="partition assignment")
        return engine

    async def stop(self, engine: Dagger) -> None:
        """Stop one engine this starter started (once)."""
        if engine in self.running:
            self.running.remove(engine)
            await engine.stop()

    async def stop_all(self) -> None:
        """Stop every engine still running, newest first, and restore ``Dagger.app`` and ``Dagger.topics``."""
        try:
            while self.running:
                await self.stop(self.running[-1])
        finally:
            Dagger.app, topics = self._previous
            Dagger.topics.clear()
            Dagger.topics.update(topics)


async def statuses(engine: Dagger, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """The status code of each stored workflow, None for a workflow the engine does not hold."""
    found: dict[uuid.UUID, str | None] = {}
    for workflow_id in ids:
        workflow = await engine.get_instance(workflow_id, log=False)
        found[workflow_id] = None if workflow is None else workflow.status.code
    return found


async def wait_for_status(
    engine: Dagger, ids: Iterable[uuid.UUID], status: str | None = "COMPLETED", timeout: float = 60
) -> dict[uuid.UUID, str | None]:
    """Wait until every workflow of ``ids`` is stored with ``status`` (None: no longer stored); fail showing
    the statuses seen."""
    ids = list(ids)
    last: dict[uuid.UUID, str | None] = {}

    async def reached() -> bool:
        nonlocal last
        last = await statuses(engine, ids)
        return all(code == status for code in last.values())

    def show() -> str:
        pending = {str(k): v for k, v in last.items() if v != status}
        return f"{len(ids)} workflows to be {status}; not yet: {pending}"

    await wait_for(reached, timeout=timeout, message=show)
    return last


async def create_pizzas(
    engine: Dagger,
    count: int,
    *,
    template_name: str = BUILDERS_TEMPLATE,
    repartition: bool = False,
    prefix: str = "order",
) -> dict[uuid.UUID, str]:
    """Create and submit ``count`` pizza workflows; return their order ids by workflow id."""
    template = engine.get_template(template_name)
    orders: dict[uuid.UUID, str] = {}
    for number in range(count):
        workflow_id = uuid.uuid1()
        orders[workflow_id] = f"{prefix}-{number}-{workflow_id}"
        await template.create_instance(
            workflow_id, "order_id", repartition=repartition, submit_task=True, order_id=orders[workflow_id]
        )
    return orders


async def workflow(engine: Dagger, workflow_id: uuid.UUID) -> ITemplateDAGInstance:
    """The stored workflow ``workflow_id``; fails the test when the engine does not hold it."""
    found = await engine.get_instance(workflow_id, log=False)
    assert found is not None, f"workflow {workflow_id} is not stored"
    return found


async def wait_for_listeners(engine: Dagger, ids: Iterable[uuid.UUID], timeout: float = 30) -> None:
    """Wait until the pizza listener (``Order_listener_task``) of every workflow of ``ids`` is EXECUTING."""
    ids = list(ids)

    async def waiting() -> bool:
        for workflow_id in ids:
            found = await engine.get_instance(workflow_id, log=False)
            if found is None or tasks_by_name(found)["Order_listener_task"].status.code != "EXECUTING":
                return False
        return True

    await wait_for(waiting, timeout=timeout, message="the listeners to be waiting")


def ready(order_id: str, **extra: Any) -> bytes:
    """The shop's message saying the pizza of ``order_id`` is ready (with ``extra`` fields)."""
    return json.dumps({"order_id": order_id, "status": "ready", **extra}).encode()


def tasks_by_name(found: ITemplateDAGInstance) -> dict[str, Any]:
    """The tasks of a workflow by the last part of their name (``Order_listener_task``, ...)."""
    return {(task.task_name or "").rsplit(".", 1)[-1]: task for task in found.tasks.values()}


def index_entries(engine: Dagger, order_id: str) -> list[Any]:
    """The correlation index entries waiting on ``order_id`` on the engine's pizza ready topic."""
    topic = engine.pizza_topics.ready  # type: ignore[attr-defined]
    partition = partition_for(order_id, engine.partitions)
    return list(engine._store.correlations.entries(partition, lookup_key(order_id, topic)))


async def dead_letters_from(dead_letter_topic: str, topic: str, partition: int, offset: int, count: int) -> list[Any]:
    """Wait until ``dead_letter_topic`` holds ``count`` letters from ``topic[partition]@offset``; return all it
    holds from there (failing the test if fewer come within 30 s)."""
    source = {
        SOURCE_TOPIC: topic.encode(),
        SOURCE_PARTITION: str(partition).encode(),
        SOURCE_OFFSET: str(offset).encode(),
    }
    found: list[Any] = []
    async with AIOKafkaConsumer(
        dead_letter_topic,
        bootstrap_servers=broker_url().split("://")[-1],
        auto_offset_reset="earliest",
        group_id=None,
    ) as consumer:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(r for r in records if source.items() <= dict(r.headers).items())
            return len(found) >= count

        await wait_for(arrived, timeout=30, message=f"{count} dead letters from {topic}[{partition}]@{offset}")
        await asyncio.sleep(0.5)
        for records in (await consumer.getmany(timeout_ms=500)).values():
            found.extend(r for r in records if source.items() <= dict(r.headers).items())
    return found


def reasons(letters: Iterable[Any]) -> list[str]:
    """The dead-letter reasons of ``letters``, sorted."""
    return sorted(dict(letter.headers)[REASON].decode() for letter in letters)
