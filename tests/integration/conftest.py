"""Integration tests run against the real broker started by ``scripts/kafka.sh start``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from tests.integration.engines import EngineStarter
from tests.support import bootstrap_servers, broker_url

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


async def _probe(timeout: float) -> str | None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(), request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.list_topics(), timeout)
    except Exception as exc:
        return str(exc) or type(exc).__name__
    finally:
        await admin.close()
    return None


@pytest.fixture(scope="session", autouse=True)
def kafka_broker() -> str:
    """Checks once per session that the broker answers; fails when it does not, or skips when
    ``DAGGER_SKIP_WITHOUT_BROKER`` is set (or leave the integration tests out: ``-m "not integration"``)."""
    error = asyncio.run(_probe(timeout=10))
    if error:
        reason = (
            f"Kafka broker {broker_url()} (DAGGER_TEST_BROKER) is not reachable ({error}); "
            "start it with `make kafka` or `scripts/kafka.sh start`"
        )
        if os.environ.get("DAGGER_SKIP_WITHOUT_BROKER"):
            pytest.skip(reason)
        pytest.fail(reason, pytrace=False)
    return broker_url()


@pytest.fixture
async def start_engine(tmp_path: Path) -> AsyncIterator[EngineStarter]:
    """Factory of Dagger engines with the pizza templates: ``await start_engine(**options)``.

    Each engine gets unique names and a fresh data dir unless given an ``EngineSetup``
    (``start_engine.new_setup()``, or ``engine.test_setup`` of an engine to restart); every engine
    started is stopped at the end of the test.
    """
    starter = EngineStarter(tmp_path)
    yield starter
    await starter.stop_all()


@pytest.fixture
async def producer() -> AsyncIterator[AIOKafkaProducer]:
    """A plain Kafka producer on the test broker, acknowledged by all replicas."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(), acks="all")
    await producer.start()
    yield producer
    await producer.stop()
