"""Unit-testing workflows without a broker: an in-memory engine and a clock that moves when told.

``with installed() as engine:`` makes an :class:`InMemoryEngine` ``Dagger.app``; templates registered
and workflows created inside the block run against it. ``use_clock(ManualClock(start))`` makes time
stand still until ``advance`` moves it, so timers fire when a test says so.
"""

from dagger.testing._in_memory_engine import InMemoryEngine, RecordedTopic, installed
from dagger.utils.clock import ManualClock, use_clock

__all__ = ["InMemoryEngine", "ManualClock", "RecordedTopic", "installed", "use_clock"]
