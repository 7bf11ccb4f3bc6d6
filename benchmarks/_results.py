"""What one run of the pizza benchmark measured, the figures drawn from it and their medians over runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from benchmarks._latency import WorkflowTimes, percentile
from benchmarks._traffic import Traffic

MIB = 1024 * 1024

Measured = TypeVar("Measured")


@dataclass(frozen=True)
class RunResult:
    """The measurements of one run."""

    workflows: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    """The worker's peak resident memory since it started (``VmHWM``), read at the end of the run."""
    end_rss_bytes: int
    """The worker's resident memory (``VmRSS``) at the end of the run."""
    traffic: dict[str, Traffic] = field(default_factory=dict)
    """What the worker wrote during the run, by topic (its name without the application's prefix)."""
    times: dict[str, WorkflowTimes] = field(default_factory=dict)
    """When each workflow's records were written, by order id (those that could be matched)."""

    @property
    def per_second(self) -> float:
        """Workflows completed per wall-clock second."""
        return self.workflows / self.wall_seconds

    @property
    def cpu_ms_per_workflow(self) -> float:
        """Worker CPU milliseconds per workflow."""
        return self.cpu_seconds * 1000 / self.workflows

    @property
    def messages_per_workflow(self) -> float:
        """Messages the worker wrote to Kafka per workflow."""
        return sum(traffic.messages for traffic in self.traffic.values()) / self.workflows

    @property
    def bytes_per_workflow(self) -> float:
        """Bytes (keys, values, headers) the worker wrote to Kafka per workflow."""
        return sum(traffic.bytes for traffic in self.traffic.values()) / self.workflows

    @property
    def create_to_complete_ms(self) -> list[int]:
        """Each matched workflow's milliseconds from its request to its COMPLETED version."""
        return [times.create_to_complete_ms for times in self.times.values()]

    @property
    def step_ms(self) -> list[int]:
        """Each matched workflow's milliseconds from the shop's "ready" message to the version saved on it."""
        return [times.step_ms for times in self.times.values()]


@dataclass(frozen=True)
class Figure(Generic[Measured]):
    """One figure of a measurement (a run): its name in JSON, its column header and how it is drawn from it."""

    key: str
    header: str
    decimals: int
    value: Callable[[Measured], float]


COST: tuple[Figure[RunResult], ...] = (
    Figure("wall_s", "wall s", 2, lambda run: run.wall_seconds),
    Figure("workflows_per_s", "workflows/s", 1, lambda run: run.per_second),
    Figure("worker_cpu_ms_per_workflow", "worker CPU ms/workflow", 2, lambda run: run.cpu_ms_per_workflow),
    Figure("messages_per_workflow", "messages/workflow", 2, lambda run: run.messages_per_workflow),
    Figure("bytes_per_workflow", "bytes/workflow", 0, lambda run: run.bytes_per_workflow),
)
"""Throughput and what a workflow costs, as the benchmark has always reported them."""


def _latency(name: str, key: str, samples: Callable[[RunResult], Sequence[float]], share: int) -> Figure[RunResult]:
    return Figure(f"{key}_ms_p{share}", f"{name} p{share}", 1, lambda run: percentile(samples(run), share))


LATENCY_AND_MEMORY: tuple[Figure[RunResult], ...] = (
    *(_latency("c2c", "create_to_complete", lambda run: run.create_to_complete_ms, share) for share in (50, 95, 99)),
    *(_latency("step", "step", lambda run: run.step_ms, share) for share in (50, 95, 99)),
    Figure("worker_peak_rss_mib", "peak RSS MiB", 1, lambda run: run.peak_rss_bytes / MIB),
    Figure("worker_end_rss_mib", "end RSS MiB", 1, lambda run: run.end_rss_bytes / MIB),
)
"""Per-workflow latency percentiles (ms) and the worker's resident memory (MiB)."""

FIGURES = (*COST, *LATENCY_AND_MEMORY)


def figures(run: RunResult) -> dict[str, float]:
    """Every figure of ``run``, by key."""
    return {figure.key: figure.value(run) for figure in FIGURES}


def medians(runs: Sequence[RunResult]) -> dict[str, float]:
    """The median of each figure over ``runs``, figure by figure."""
    return {figure.key: statistics.median(figure.value(run) for run in runs) for figure in FIGURES}


def ratios(ours: Mapping[str, float], theirs: Mapping[str, float]) -> dict[str, float]:
    """``ours`` divided by ``theirs``, figure by figure (NaN where ``theirs`` is 0)."""
    return {key: ours[key] / theirs[key] if theirs[key] else math.nan for key in ours}
