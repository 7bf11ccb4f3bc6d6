"""The pizza benchmark's results as printed tables and as a JSON document."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks._results import Figure, RunResult, figures

LABEL_WIDTH = 16
RATIO_DECIMALS = 3


class Table:
    """Rows of some figures, one column each, under a header; each row is labelled in a first column, ``label``."""

    def __init__(self, columns: Sequence[Figure[Any]], label: str = "run") -> None:
        self.columns = columns
        self.label = label
        self.widths = [max(8, len(figure.header)) for figure in columns]

    def header(self) -> str:
        """The header line."""
        cells = (f"{figure.header:>{width}}" for figure, width in zip(self.columns, self.widths, strict=True))
        return f"{self.label:>{LABEL_WIDTH}}  " + "  ".join(cells)

    def row(self, label: str, values: Mapping[str, float], ratio: bool = False) -> str:
        """One line: ``values`` by figure key, with each figure's decimals, or ``RATIO_DECIMALS`` for a ratio."""
        cells = (
            f"{values[figure.key]:>{width}.{RATIO_DECIMALS if ratio else figure.decimals}f}"
            for figure, width in zip(self.columns, self.widths, strict=True)
        )
        return f"{label:>{LABEL_WIDTH}}  " + "  ".join(cells)

    def summary(self, medians: Mapping[str, Mapping[str, float]], ratio: Mapping[str, float] | None) -> list[str]:
        """The lines of the medians of each checkout and, comparing two, of their ratio."""
        lines = [self.row(f"median {label}" if ratio else "median", values) for label, values in medians.items()]
        if ratio is not None:
            lines.append(self.row("this/against", ratio, ratio=True))
        return lines


def traffic_lines(run: RunResult) -> list[str]:
    """What the worker wrote per workflow in ``run``, topic by topic."""
    return [
        f"  {topic:<40} {traffic.messages / run.workflows:>6.2f} messages {traffic.bytes / run.workflows:>8.0f} bytes"
        for topic, traffic in sorted(run.traffic.items())
    ]


def write_json(
    path: Path,
    settings: Mapping[str, Any],
    runs: Mapping[str, Sequence[RunResult]],
    medians: Mapping[str, Mapping[str, float]],
    ratio: Mapping[str, float] | None,
    calibration: Mapping[str, RunResult] | None,
) -> None:
    """Write the settings, every run's figures (with what it wrote by topic), the medians, the ratio when
    two checkouts are compared and the burst runs that set the offered load, if any, to ``path`` as JSON.
    A figure that could not be measured (no workflow matched) is null."""
    document: dict[str, Any] = {
        "settings": settings,
        "runs": {label: [_run_json(run) for run in found] for label, found in runs.items()},
        "medians": {label: finite(values) for label, values in medians.items()},
    }
    if ratio is not None:
        document["ratio"] = finite(ratio)
    if calibration is not None:
        document["calibration"] = {label: _run_json(run) for label, run in calibration.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def _run_json(run: RunResult) -> dict[str, Any]:
    return {
        **finite(figures(run)),
        "workflows": run.workflows,
        "matched_workflows": len(run.times),
        "traffic": {topic: {"messages": t.messages, "bytes": t.bytes} for topic, t in sorted(run.traffic.items())},
    }


def finite(values: Mapping[str, float]) -> dict[str, float | None]:
    """``values`` with each figure that could not be measured (not finite) as None, for JSON."""
    return {key: value if math.isfinite(value) else None for key, value in values.items()}
