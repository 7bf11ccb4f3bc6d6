"""Integration tests run against the real broker started by ``scripts/kafka.sh start``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

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
    """Checks once per session that the broker answers; fails under CI, skips elsewhere."""
    error = asyncio.run(_probe(timeout=10))
    if error:
        reason = (
            f"Kafka broker {broker_url()} (DAGGER_TEST_BROKER) is not reachable ({error}); "
            "start it with `make kafka` or `scripts/kafka.sh start`"
        )
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return broker_url()
