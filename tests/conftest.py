"""Fixtures shared by all test suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dagger.utils import clock
from tests.support import CLOCK_START, bootstrap_servers, broker_url, unique_name


@pytest.fixture(scope="session")
def broker() -> str:
    """The test broker as a faust URL, from ``DAGGER_TEST_BROKER`` (default ``kafka://127.0.0.1:9092``)."""
    return broker_url()


@pytest.fixture(scope="session")
def bootstrap() -> str:
    """The test broker as aiokafka ``bootstrap_servers``."""
    return bootstrap_servers()


@pytest.fixture
def app_id() -> str:
    """An application id (and consumer group) unique to this test."""
    return unique_name("app")


@pytest.fixture
def topic_name():
    """Factory of topic names unique to this test: ``topic_name("orders")``."""
    return unique_name


@pytest.fixture
def manual_clock() -> Iterator[clock.ManualClock]:
    """Dagger's clock stopped at :data:`~tests.support.CLOCK_START` until the test moves it (restored afterwards)."""
    manual = clock.ManualClock(start=CLOCK_START)
    previous = clock.use_clock(manual)
    yield manual
    clock.use_clock(previous)
