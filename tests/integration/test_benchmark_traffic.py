"""The pizza benchmark on the real broker: its account of Kafka traffic counts exactly what was written between two
readings, topic by topic, and a tiny run gives plausible latency, memory and throughput figures as JSON and a plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from benchmarks._traffic import Traffic, TrafficCount, end_offsets, read_back
from benchmarks.pizza import benchmark, parse_options
from tests.support import bootstrap_servers, broker_url, create_topics, unique_name


async def test_what_was_written_between_two_readings_is_counted_by_topic() -> None:
    prefix = unique_name("traffic")
    early, late, other = f"{prefix}-early", f"{prefix}-late", unique_name("elsewhere")
    await create_topics([early, other], partitions=2)
    servers = bootstrap_servers()
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        await producer.send_and_wait(early, key=b"k", value=b"before the first reading")
        before = await end_offsets(servers, prefix)
        for partition in (0, 1):
            await producer.send_and_wait(early, key=b"key", value=b"0123456789", partition=partition)
        await producer.send_and_wait(early, value=b"abc", headers=[("h", b"xy")])
        await producer.send_and_wait(other, value=b"another application's")
        await create_topics([late])
        await producer.send_and_wait(late, key=b"k", value=b"v")
        after = await end_offsets(servers, prefix)
        await producer.send_and_wait(early, value=b"after the second reading")
    finally:
        await producer.stop()

    count = TrafficCount()
    await read_back(servers, before, after, count.add)
    assert count.totals == {early: Traffic(3, 2 * 13 + 6), late: Traffic(1, 2)}


async def test_a_tiny_run_at_half_its_burst_throughput_gives_plausible_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGGER_BROKER", broker_url())
    json_path, plot_path = tmp_path / "bench.json", tmp_path / "bench.png"
    size = ["--workflows", "20", "--runs", "1", "--timeout", "60"]
    load = ["--rate", "half", "--create-concurrency", "2"]
    outputs = ["--json", str(json_path), "--plot", str(plot_path)]
    options = parse_options([*size, *load, *outputs])

    assert await benchmark(options) == 0

    document = json.loads(json_path.read_text())
    burst, (paced,) = document["calibration"]["this"], document["runs"]["this"]
    assert document["settings"]["rate_per_s"] == pytest.approx(burst["workflows_per_s"] / 2)
    assert document["settings"]["create_concurrency"] == 2
    for found in (burst, paced):
        assert found["matched_workflows"] == 20
        assert found["messages_per_workflow"] == 5
        for latency in ("create_to_complete", "step"):
            p50, p95, p99 = (found[f"{latency}_ms_p{share}"] for share in (50, 95, 99))
            assert 0 < p50 <= p95 <= p99 < 60_000
        assert found["create_to_complete_ms_p50"] > found["step_ms_p50"]
        assert 0 < found["worker_end_rss_mib"] <= found["worker_peak_rss_mib"]
    assert paced["wall_s"] >= 19 / document["settings"]["rate_per_s"]
    assert document["medians"]["this"]["wall_s"] == paced["wall_s"]
    assert plot_path.read_bytes().startswith(b"\x89PNG")
