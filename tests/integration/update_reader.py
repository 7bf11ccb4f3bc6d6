"""A reader of a task update topic that has none of the application's modules, run as a process of its own.

``python update_reader.py BOOTSTRAP_SERVERS TOPIC`` reads the topic from its beginning to its current end,
decodes every record with ``ITemplateDAGInstance.from_data(json.loads(value))`` and prints, as JSON, what
it decoded (each workflow's id, status, update count and tasks, in order within each partition), the
warnings the codec logged, and the application modules that were imported (none, unless something went
wrong). Each task's ``topic``, a field ``ITask`` does not declare, shows whether such fields are kept. A
record it cannot decode ends it with the error and a non-zero exit code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from dagger.tasks.task import ITemplateDAGInstance


class Collected(logging.Handler):
    """Keeps the messages of the records it handles."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def summary(workflow: ITemplateDAGInstance) -> dict[str, Any]:
    """What the test compares of a decoded workflow."""
    return {
        "id": str(workflow.id),
        "type": type(workflow).__name__,
        "status": workflow.status.code,
        "update_count": workflow.update_count,
        "tasks": {
            str(task_id): {
                "name": task.task_name,
                "status": task.status.code,
                "type": type(task).__name__,
                "topic": getattr(task, "topic", None),
            }
            for task_id, task in workflow.tasks.items()
        },
    }


async def read(bootstrap_servers: str, topic: str) -> list[dict[str, Any]]:
    """Decode every record of ``topic`` up to its end as this process sees it on start."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, number) for number in sorted(consumer.partitions_for_topic(topic))]
        ends = await consumer.end_offsets(partitions)
        next_offsets = await consumer.beginning_offsets(partitions)
        decoded: list[dict[str, Any]] = []
        while any(next_offsets[partition] < ends[partition] for partition in partitions):
            for partition, records in (await consumer.getmany(timeout_ms=1000)).items():
                decoded.extend(summary(ITemplateDAGInstance.from_data(json.loads(r.value))) for r in records)
                next_offsets[partition] = records[-1].offset + 1
        return decoded
    finally:
        await consumer.stop()


def main() -> None:
    """Read the topic named on the command line and print the result as JSON."""
    warnings = Collected()
    logging.getLogger("dagger.codec").addHandler(warnings)
    decoded = asyncio.run(read(sys.argv[1], sys.argv[2]))
    imported = sorted(name for name in sys.modules if name.split(".")[0] in {"examples", "tests"})
    print(json.dumps({"decoded": decoded, "warnings": warnings.messages, "imported": imported}))


if __name__ == "__main__":
    main()
