"""A PNG of runs over time: completions per second, create-to-complete latency and step latency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmarks._results import RunResult

BINS = 40
"""About how many bins the longest run's completions are counted in."""
SHORTEST_BIN = 0.1
"""Seconds: no bin is narrower."""


def completion_rate(completed: Sequence[float], bin_seconds: float) -> list[tuple[float, float]]:
    """Completions per second in consecutive bins of ``bin_seconds`` from 0 up to the last of ``completed``
    (seconds), each as (the middle of the bin, completions in it divided by ``bin_seconds``)."""
    if not completed:
        return []
    counts = [0] * (int(max(completed) // bin_seconds) + 1)
    for moment in completed:
        counts[int(moment // bin_seconds)] += 1
    return [((number + 0.5) * bin_seconds, count / bin_seconds) for number, count in enumerate(counts)]


def write_plot(path: Path, runs: Mapping[str, RunResult], title: str) -> None:
    """Plot each of ``runs`` (one series per label) over the seconds since its first request and write a PNG.

    The top panel is completions per second, the middle one each workflow's create-to-complete latency at
    the time it completed, the bottom one each workflow's step latency at the time of its "ready" message.
    """
    figure = Figure(figsize=(10, 10), layout="constrained")
    FigureCanvasAgg(figure)
    throughput, complete, step = figure.subplots(3, 1, sharex=True)
    starts = {label: min(t.requested_ms for t in run.times.values()) for label, run in runs.items() if run.times}
    longest = max(
        ((max(t.completed_ms for t in runs[label].times.values()) - start) / 1000 for label, start in starts.items()),
        default=0.0,
    )
    bin_seconds = max(SHORTEST_BIN, longest / BINS)
    for label, start in starts.items():
        times = runs[label].times.values()
        completed = [(t.completed_ms - start) / 1000 for t in times]
        rate = completion_rate(completed, bin_seconds)
        throughput.plot(
            [middle for middle, _ in rate], [value for _, value in rate], label=label, drawstyle="steps-mid"
        )
        complete.scatter(completed, [t.create_to_complete_ms for t in times], s=4, label=label)
        step.scatter([(t.ready_ms - start) / 1000 for t in times], [t.step_ms for t in times], s=4, label=label)
    throughput.set_ylabel(f"completions/s ({bin_seconds:.2g} s bins)")
    complete.set_ylabel("create to complete, ms")
    step.set_ylabel('"ready" to next save, ms')
    step.set_xlabel("seconds since the first request")
    for axes in (throughput, complete, step):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
