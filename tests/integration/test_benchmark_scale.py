"""The scale benchmark on the real broker: small seeded states are rebuilt by a worker, which completes the seeded
workflows it is sent events for and is measured through a restart, or fires timers among the seeded ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.scale import benchmark, parse_options
from tests.support import broker_url


async def test_small_seeded_states_are_rebuilt_their_workflows_complete_and_ticks_and_restarts_are_timed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGGER_BROKER", broker_url())
    json_path = tmp_path / "scale.json"
    waiting = ["--waiting", "200", "--events", "20"]
    timers = ["--future-timers", "50", "--due-timers", "5", "--tick-rounds", "1", "--idle", "1"]
    options = parse_options([*waiting, *timers, "--timeout", "60", "--json", str(json_path)])

    assert await benchmark(options) == 0

    document = json.loads(json_path.read_text())
    (state,) = document["waiting"]
    assert (state["waiting"], state["events"], state["verified"], state["sampled"]) == (200, 20, 3, 3)
    assert 0 < state["worker_cpu_ms_per_event"] < 1000
    assert 0 < state["rebuild_ready_s"] <= state["rebuild_event_s"] < 60
    assert 0 < state["restart_ready_s"] <= state["restart_event_s"] < 60
    assert 20 < state["rss_mib"] <= state["peak_rss_mib"] < 1024
    (ticks,) = document["timers"]
    assert (ticks["future"], ticks["due"], ticks["rounds"]) == (50, 5, 1)
    assert 0 <= ticks["tick_cpu_ms"] < 1000 and 0.5 <= ticks["tick_s"] < 3
