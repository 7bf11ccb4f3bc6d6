"""Fixtures of the unit tests: the model runs against an in-memory engine and a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dagger.service.services import Dagger
from dagger.utils import clock
from tests.unit.fake_engine import FakeEngine


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    """An in-memory engine installed as ``Dagger.app``."""
    previous_app, previous_topics = Dagger.app, dict(Dagger.topics)
    Dagger.app = FakeEngine()
    Dagger.topics.clear()
    yield Dagger.app
    Dagger.app = previous_app
    Dagger.topics.clear()
    Dagger.topics.update(previous_topics)


@pytest.fixture
def manual_clock() -> Iterator[clock.ManualClock]:
    """A clock that only moves when the test says so."""
    manual = clock.ManualClock(start=1_700_000_000)
    previous = clock.use_clock(manual)
    yield manual
    clock.use_clock(previous)
