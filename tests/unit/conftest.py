"""Fixtures of the unit tests: the model runs against an in-memory engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dagger.service.services import Dagger
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
