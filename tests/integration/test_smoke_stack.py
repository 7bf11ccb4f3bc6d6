"""The stack Dagger runs on, exercised on the real broker: faust + rocksdict tables, Kafka transactions."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.support import broker_url, create_topics, list_topics, unique_name, wait_for


def counting_app(app_id: str, source: str, datadir: Path) -> tuple[faust.App, faust.Table]:
    """A faust app whose agent counts the messages of ``source`` per key into a rocksdict table."""
    app = faust.App(
        app_id,
        broker=broker_url(),
        store="rocksdb://",
        datadir=str(datadir),
        web_enabled=False,
        topic_partitions=1,
        broker_session_timeout=6,
        broker_heartbeat_interval=1,
        stream_wait_empty=False,
    )
    topic = app.topic(source, key_type=str, value_type=str, key_serializer="raw", value_serializer="raw")
    counts = app.Table("counts", default=int, partitions=1, options={"driver": "rocksdict"})

    @app.agent(topic)
    async def count(stream):
        async for key, _ in stream.items():
            counts[key] += 1

    return app, counts


def snapshot(table: faust.Table) -> dict:
    return dict(table.items())


async def start(app: faust.App) -> None:
    # App.start() returns once partitions are assigned and table recovery has completed.
    await asyncio.wait_for(app.start(), timeout=60)


async def produce(bootstrap: str, topic: str, keys: list[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key in keys:
            await producer.send_and_wait(topic, key=key.encode(), value=b"x")
    finally:
        await producer.stop()


async def test_faust_table_survives_losing_local_state(tmp_path: Path, app_id: str, bootstrap: str) -> None:
    source = unique_name("counted")
    await create_topics([source])
    keys = ["a", "b", "a", "c", "a", "b"]
    expected = {"a": 3, "b": 2, "c": 1}

    first, second = tmp_path / "data-1", tmp_path / "data-2"
    app, counts = counting_app(app_id, source, first)
    await start(app)
    try:
        assert counts.data.use_rocksdict
        await produce(bootstrap, source, keys)
        await wait_for(lambda: snapshot(counts) == expected, 30, lambda: f"counts {snapshot(counts)}")
    finally:
        await app.stop()
    assert f"{app_id}-counts-changelog" in await list_topics()
    assert (first / "v1" / "tables" / "counts-0.db" / "rocksdict-config.json").exists()

    # faust closes rocksdict handles only through garbage collection, so a stopped app may hold
    # the RocksDB lock on its directory a while longer: the new worker starts in a fresh one.
    shutil.rmtree(first)
    app, counts = counting_app(app_id, source, second)
    await start(app)
    try:
        assert snapshot(counts) == expected, "table not rebuilt from its changelog"
        await produce(bootstrap, source, ["c"])
        expected["c"] += 1
        await wait_for(lambda: snapshot(counts) == expected, 30, lambda: f"counts {snapshot(counts)}")
    finally:
        await app.stop()


async def consume_all(bootstrap: str, topic: str, isolation_level: str, until: bytes) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        isolation_level=isolation_level,
    )
    await consumer.start()
    seen: list[bytes] = []
    try:

        async def done() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                seen.extend(r.value for r in records)
            return until in seen

        await wait_for(done, 30, f"{until!r} in {topic} ({isolation_level})")
    finally:
        await consumer.stop()
    return seen


async def test_transactions_hide_aborted_messages(bootstrap: str) -> None:
    topic = unique_name("tx")
    await create_topics([topic])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=unique_name("txid"))
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, b"committed-1")
            await producer.send(topic, b"committed-2")
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, b"committed-3")
    finally:
        await producer.stop()

    committed = await consume_all(bootstrap, topic, "read_committed", until=b"committed-3")
    assert committed == [b"committed-1", b"committed-2", b"committed-3"]
    everything = await consume_all(bootstrap, topic, "read_uncommitted", until=b"committed-3")
    assert b"aborted" in everything
