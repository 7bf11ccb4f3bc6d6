"""The benchmark's account of Kafka traffic counts exactly what was written between two readings, topic by topic."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from benchmarks._traffic import Traffic, end_offsets, written
from tests.support import bootstrap_servers, create_topics, unique_name


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

    assert await written(servers, before, after) == {early: Traffic(3, 2 * 13 + 6), late: Traffic(1, 2)}
