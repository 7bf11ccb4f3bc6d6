"""The pizza benchmark's options, completion rate series, figures and JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks._latency import WorkflowTimes
from benchmarks._plot import completion_rate
from benchmarks._report import write_json
from benchmarks._results import FIGURES, RunResult, figures, medians, ratios
from benchmarks._traffic import Traffic
from benchmarks.pizza import HALF, parse_options


def test_completions_are_counted_per_bin_as_a_rate() -> None:
    assert completion_rate([0.05, 0.12, 0.15, 0.31], 0.1) == [
        pytest.approx((0.05, 10.0)),
        pytest.approx((0.15, 20.0)),
        pytest.approx((0.25, 0.0)),
        pytest.approx((0.35, 10.0)),
    ]
    assert completion_rate([], 0.1) == []


def test_rate_is_a_positive_number_or_half(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_options(["--rate", "50"]).plan.rate == 50.0
    half = parse_options(["--rate", HALF])
    assert (half.plan.rate, half.half_rate) == (None, True)
    burst = parse_options([])
    assert (burst.plan.rate, burst.half_rate, burst.plan.create_concurrency) == (None, False, None)
    assert parse_options(["--create-concurrency", "4"]).command().endswith("--create-concurrency 4")
    for wrong in (["--rate", "0"], ["--rate", "fast"], ["--create-concurrency", "0"]):
        with pytest.raises(SystemExit):
            parse_options(wrong)


def run(wall: float, latencies: list[int], workflows: int = 4) -> RunResult:
    """A run of ``workflows``, of which those with ``latencies`` (create to complete, ms) were matched."""
    times = {f"o{n}": WorkflowTimes(0, 10, 10 + ms // 2, ms) for n, ms in enumerate(latencies)}
    return RunResult(
        workflows=workflows,
        wall_seconds=wall,
        cpu_seconds=0.01,
        peak_rss_bytes=2 * 1024 * 1024,
        end_rss_bytes=1024 * 1024,
        traffic={"orders": Traffic(workflows, 100)},
        times=times,
    )


def test_the_figures_of_a_run_and_their_medians_and_ratio() -> None:
    first, second = run(1.0, [20, 40, 60, 80]), run(2.0, [20, 40])
    found = figures(first)
    assert set(found) == {figure.key for figure in FIGURES}
    assert found["workflows_per_s"] == 4.0
    assert found["create_to_complete_ms_p50"] == 50.0
    assert (found["worker_peak_rss_mib"], found["worker_end_rss_mib"]) == (2.0, 1.0)
    median = medians([first, second, run(3.0, [20])])
    assert median["wall_s"] == 2.0
    ratio = ratios(figures(first), figures(second))
    assert ratio["wall_s"] == 0.5
    assert math.isnan(ratios({"x": 1.0}, {"x": 0.0})["x"])


def test_the_json_holds_every_run_the_medians_and_the_ratio_with_nan_as_null(tmp_path: Path) -> None:
    path = tmp_path / "out" / "bench.json"
    this, against = run(1.0, [20, 40]), run(2.0, [])
    write_json(
        path,
        {"workflows": 2},
        {"this": [this], "against": [against]},
        {"this": figures(this), "against": figures(against)},
        ratios(figures(this), figures(against)),
        calibration=None,
    )
    document = json.loads(path.read_text())
    assert document["settings"] == {"workflows": 2}
    assert document["runs"]["this"][0]["wall_s"] == 1.0
    assert document["runs"]["this"][0]["traffic"] == {"orders": {"messages": 4, "bytes": 100}}
    assert document["runs"]["against"][0]["step_ms_p50"] is None
    assert document["runs"]["this"][0]["matched_workflows"] == 2
    assert document["medians"]["this"]["wall_s"] == 1.0
    assert document["ratio"]["wall_s"] == 0.5
    assert "calibration" not in document
