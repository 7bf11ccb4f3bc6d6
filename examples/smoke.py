"""End-to-end smoke demo: a faust agent counts messages into a rocksdict-backed table.

Run against a local broker (``make kafka``): ``python -m examples.smoke``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import uuid
from collections import Counter

import faust
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

BROKER = os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092")
BOOTSTRAP = BROKER.split("://", 1)[-1]
WORDS = ["order", "pizza", "bake", "deliver", "order", "pizza", "order"]


async def main(timeout: float = 60.0) -> int:
    run = uuid.uuid4().hex[:8]
    source = f"smoke-words-{run}"
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(source, 1, 1)])
    finally:
        await admin.close()

    with tempfile.TemporaryDirectory(prefix="dagger-smoke-") as datadir:
        app = faust.App(
            f"smoke-{run}",
            broker=BROKER,
            store="rocksdb://",
            datadir=datadir,
            web_enabled=False,
            topic_partitions=1,
            stream_wait_empty=False,
        )
        topic = app.topic(source, key_type=str, value_type=str, key_serializer="raw", value_serializer="raw")
        counts = app.Table("counts", default=int, partitions=1, options={"driver": "rocksdict"})

        @app.agent(topic)
        async def count(stream):
            async for word, _ in stream.items():
                counts[word] += 1

        await asyncio.wait_for(app.start(), timeout)
        try:
            producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
            await producer.start()
            try:
                for word in WORDS:
                    await producer.send(source, key=word.encode(), value=b"1")
            finally:
                await producer.stop()

            expected = dict(Counter(WORDS))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while dict(counts.items()) != expected and loop.time() < deadline:
                await asyncio.sleep(0.1)
            result = dict(counts.items())
        finally:
            await app.stop()

    print(f"sent {len(WORDS)} messages; table counts: {dict(sorted(result.items()))}")
    if result != expected:
        print(f"FAILED: expected {expected}", file=sys.stderr)
        return 1
    print("OK: every message was counted")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    # A fresh broker creates its offsets topic on the first group join; aiokafka logs the retry as an error.
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.CRITICAL)
    sys.exit(asyncio.run(main()))
