"""What the scale benchmark measured: one result per number of waiting workflows and per number of future timers,
the figures drawn from them, and their JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks._report import finite
from benchmarks._results import MIB, Figure


@dataclass(frozen=True)
class WaitingResult:
    """A worker holding ``waiting`` pizza workflows that wait for their "ready" message."""

    waiting: int
    seed_seconds: float
    """Creating the workflows offline and writing their records to the changelogs."""
    rebuild_ready_seconds: float
    """From starting a worker on an empty data dir to ``GET /service/ready`` saying true."""
    rebuild_event_seconds: float
    """From starting that worker to the save of the first event it handled (sent as it started)."""
    rebuild_cpu_seconds: float
    """The CPU time that worker had used by then."""
    events: int
    event_cpu_seconds: float
    """Worker CPU time from sending ``events`` "ready" messages to seeing the last of their workflows COMPLETED."""
    event_rocksdb_cpu_seconds: float
    """The part of it used by RocksDB's background threads (flushes and compactions)."""
    rss_bytes: int
    peak_rss_bytes: int
    restart_ready_seconds: float
    """As ``rebuild_ready_seconds``, for the same worker restarted (SIGTERM) on its data dir."""
    restart_event_seconds: float
    verified: int
    """Of the sample read back over REST, how many were COMPLETED and delivered."""
    sampled: int

    @property
    def cpu_ms_per_event(self) -> float:
        """Worker CPU milliseconds per listener event."""
        return self.event_cpu_seconds * 1000 / self.events

    @property
    def rocksdb_cpu_ms_per_event(self) -> float:
        """Of the worker CPU per listener event, the milliseconds RocksDB's background threads used."""
        return self.event_rocksdb_cpu_seconds * 1000 / self.events

    @property
    def rebuild_per_second(self) -> float:
        """Workflows recovered from the changelogs per second, up to the first event handled."""
        return self.waiting / self.rebuild_event_seconds

    @property
    def rebuild_per_cpu_second(self) -> float:
        """Workflows recovered per second of the worker's CPU time, up to the first event handled."""
        return self.waiting / self.rebuild_cpu_seconds

    @property
    def seeded_per_second(self) -> float:
        """Workflows seeded per second."""
        return self.waiting / self.seed_seconds


@dataclass(frozen=True)
class TimerResult:
    """A worker holding ``future`` timer workflows not due for long, then ``due`` more that fall due at once."""

    future: int
    due: int
    rounds: int
    """How many ticks firing ``due`` timers each were measured."""
    seed_seconds: float
    rebuild_event_seconds: float
    """From starting the worker on an empty data dir to the save of the first timer workflow it created."""
    idle_cpu_seconds: float
    idle_seconds: float
    """Worker CPU time over a quiet interval with no timer due, and how long it was (one tick per tick period)."""
    tick_cpu_seconds: float
    """Worker CPU time from just before the ``due`` timers fall due to seeing the last of them COMPLETED, summed
    over the ``rounds``."""
    tick_seconds: float
    """How long that was, summed over the ``rounds``."""
    rss_bytes: int
    peak_rss_bytes: int

    @property
    def idle_cpu_ms_per_second(self) -> float:
        """Worker CPU milliseconds per second while no timer is due."""
        return self.idle_cpu_seconds * 1000 / self.idle_seconds

    @property
    def tick_cpu_ms(self) -> float:
        """Worker CPU milliseconds per tick that fires the due timers (and whatever else ran meanwhile)."""
        return self.tick_cpu_seconds * 1000 / self.rounds

    @property
    def cpu_ms_per_due_timer(self) -> float:
        """That tick's worker CPU per due timer."""
        return self.tick_cpu_ms / self.due


WAITING_FIGURES: tuple[Figure[WaitingResult], ...] = (
    Figure("seed_s", "seed s", 1, lambda run: run.seed_seconds),
    Figure("worker_cpu_ms_per_event", "CPU ms/event", 3, lambda run: run.cpu_ms_per_event),
    Figure("rocksdb_cpu_ms_per_event", "RocksDB bg ms/event", 3, lambda run: run.rocksdb_cpu_ms_per_event),
    Figure("rss_mib", "RSS MiB", 1, lambda run: run.rss_bytes / MIB),
    Figure("peak_rss_mib", "peak RSS MiB", 1, lambda run: run.peak_rss_bytes / MIB),
    Figure("rebuild_ready_s", "rebuild ready s", 1, lambda run: run.rebuild_ready_seconds),
    Figure("rebuild_event_s", "rebuild event s", 1, lambda run: run.rebuild_event_seconds),
    Figure("rebuild_workflows_per_s", "rebuild wf/s", 0, lambda run: run.rebuild_per_second),
    Figure("rebuild_workflows_per_cpu_s", "rebuild wf/CPU s", 0, lambda run: run.rebuild_per_cpu_second),
    Figure("restart_ready_s", "restart ready s", 1, lambda run: run.restart_ready_seconds),
    Figure("restart_event_s", "restart event s", 1, lambda run: run.restart_event_seconds),
)
"""The figures of a worker with waiting workflows."""

TIMER_FIGURES: tuple[Figure[TimerResult], ...] = (
    Figure("seed_s", "seed s", 1, lambda run: run.seed_seconds),
    Figure("idle_cpu_ms_per_s", "idle CPU ms/s", 2, lambda run: run.idle_cpu_ms_per_second),
    Figure("tick_cpu_ms", "tick CPU ms", 1, lambda run: run.tick_cpu_ms),
    Figure("worker_cpu_ms_per_due_timer", "CPU ms/due timer", 3, lambda run: run.cpu_ms_per_due_timer),
    Figure("tick_s", "tick s", 2, lambda run: run.tick_seconds / run.rounds),
    Figure("rss_mib", "RSS MiB", 1, lambda run: run.rss_bytes / MIB),
    Figure("rebuild_event_s", "rebuild event s", 1, lambda run: run.rebuild_event_seconds),
)
"""The figures of a worker with future timers."""


def values_of(result: Any, columns: Sequence[Figure[Any]]) -> dict[str, float]:
    """Each of ``columns`` drawn from ``result``, by key."""
    return {figure.key: figure.value(result) for figure in columns}


def ratio_to_first(values: Sequence[float]) -> list[float]:
    """Each of ``values`` divided by the first (NaN where the first is 0)."""
    first = values[0] if values else 0.0
    return [value / first if first else math.nan for value in values]


def scale_json(
    settings: Mapping[str, Any], waiting: Sequence[WaitingResult], timers: Sequence[TimerResult]
) -> dict[str, Any]:
    """The settings and every result's figures, with the ratio of its cost to that of the smallest state."""
    waiting = sorted(waiting, key=lambda run: run.waiting)
    timers = sorted(timers, key=lambda run: run.future)
    event_ratios = ratio_to_first([run.cpu_ms_per_event for run in waiting])
    tick_ratios = ratio_to_first([run.tick_cpu_ms for run in timers])
    return {
        "settings": dict(settings),
        "waiting": [
            {
                "waiting": run.waiting,
                "events": run.events,
                "verified": run.verified,
                "sampled": run.sampled,
                **finite(values_of(run, WAITING_FIGURES)),
                **finite({"cpu_per_event_ratio": ratio, "seeded_per_s": run.seeded_per_second}),
            }
            for run, ratio in zip(waiting, event_ratios, strict=True)
        ],
        "timers": [
            {
                "future": run.future,
                "due": run.due,
                "rounds": run.rounds,
                **finite(values_of(run, TIMER_FIGURES)),
                **finite({"tick_cpu_ratio": ratio}),
            }
            for run, ratio in zip(timers, tick_ratios, strict=True)
        ],
    }
