"""The one source of time in Dagger, replaceable so that tests can move time forward.

Every timestamp a workflow records and every timer decision reads :func:`now`. Tests install a
:class:`ManualClock` with :func:`use_clock` instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time in epoch seconds."""

    def time(self) -> float:
        """Return the current time in epoch seconds."""
        ...


class SystemClock:
    """The wall clock."""

    def time(self) -> float:
        """Return the wall-clock time in epoch seconds."""
        return time.time()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def time(self) -> float:
        """Return the clock's current time in epoch seconds."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` and return the new time."""
        self._now += seconds
        return self._now

    def set(self, when: float) -> None:
        """Set the clock to ``when`` (epoch seconds)."""
        self._now = when


_clock: Clock = SystemClock()


def now() -> int:
    """Return the current time in whole epoch seconds, as Dagger records it."""
    return int(_clock.time())


def current_clock() -> Clock:
    """Return the clock in use."""
    return _clock


def use_clock(clock: Clock) -> Clock:
    """Install ``clock`` as the source of time and return the one it replaces."""
    global _clock
    previous, _clock = _clock, clock
    return previous
