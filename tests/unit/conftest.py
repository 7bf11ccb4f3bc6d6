"""Fixtures of the unit tests: the model runs against an in-memory engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dagger.service.services import Dagger
from dagger.testing import InMemoryEngine, installed
from tests.support import DEFAULT_BROKER


@contextmanager
def restoring_the_engine() -> Iterator[None]:
    """Put ``Dagger.app`` and ``Dagger.topics`` back as they were when the block ends."""
    previous_app, previous_topics = Dagger.app, dict(Dagger.topics)
    try:
        yield
    finally:
        Dagger.app = previous_app
        Dagger.topics.clear()
        Dagger.topics.update(previous_topics)


@pytest.fixture
def engine() -> Iterator[InMemoryEngine]:
    """An in-memory engine installed as ``Dagger.app``."""
    with installed() as in_memory:
        yield in_memory


@pytest.fixture
def offline_engine(tmp_path: Path) -> Iterator[Callable[..., Dagger]]:
    """Factory of real engines that are constructed and never started (construction connects to nothing):
    ``offline_engine(**options)``."""

    def construct(**options: Any) -> Dagger:
        return Dagger(**{"broker": DEFAULT_BROKER, "datadir": str(tmp_path / "data"), **options})

    with restoring_the_engine():
        yield construct
