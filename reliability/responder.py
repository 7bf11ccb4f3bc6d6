"""The service the job workflows talk to: it answers every command, counts the commands sent twice and the jobs
that ran twice."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord

from dagger.wire import IDEMPOTENCY_KEY
from examples.kafka_service import KafkaService
from reliability.workflow import RESERVE, JobTopics

HOSTAGE_PREFIX = "hostage-"
"""Jobs whose id starts with this are not answered until :meth:`Responder.release` is called."""


class Responder(KafkaService):
    """Answers ``reserve`` on the reserved topic with a random key and ``confirm`` on the confirmed topic unkeyed.

    A receiver that deduplicates would act once per idempotency key and answer each copy the same way;
    this one answers every copy, and counts them by the key the engine put in the command's headers. A job
    whose command for one step came with two keys ran that step as two different tasks: it ran twice.
    """

    group_prefix = "reliability-responder"

    def __init__(self, bootstrap_servers: str, topics: JobTopics) -> None:
        super().__init__(bootstrap_servers)
        self.topics = topics
        self.copies: Counter[str] = Counter()
        self.keys: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        self.held: dict[str, dict[str, Any]] = {}

    @property
    def commands(self) -> int:
        """Commands received, copies included."""
        return sum(self.copies.values())

    @property
    def duplicated(self) -> int:
        """Commands received more than once: every copy after the first."""
        return self.commands - len(self.copies)

    @property
    def run_twice(self) -> int:
        """Jobs that sent the command of a step under more than one idempotency key."""
        return len({job for (job, _), keys in self.keys.items() if len(keys) > 1})

    def subscriptions(self) -> Sequence[str]:
        """The commands topic."""
        return [self.topics.commands]

    async def handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Count the command by its idempotency key, then answer it."""
        headers = dict(record.headers or ())
        key = headers.get(IDEMPOTENCY_KEY, b"").decode() or f"no-key-{record.partition}-{record.offset}"
        self.copies[key] += 1
        command = json.loads(record.value or b"{}")
        self.keys[str(command.get("job_id")), str(command.get("step"))].add(key)
        await super().handle_record(record)

    async def handle(self, topic: str, message: dict[str, Any]) -> None:
        """Answer a command on the topic of its step; hold it if it is a hostage's."""
        if str(message["job_id"]).startswith(HOSTAGE_PREFIX) and message["job_id"] not in self.held:
            self.held[message["job_id"]] = message
            return
        await self.answer(message)

    async def release(self, job_id: str) -> None:
        """Answer the held command of hostage ``job_id``."""
        await self.answer(self.held[job_id])

    async def answer(self, message: dict[str, Any]) -> None:
        """Answer a command on the topic of its step."""
        answer = json.dumps({**message, "answer": "ok"}).encode()
        if message["step"] == RESERVE:
            await self.send(self.topics.reserved, uuid.uuid4().hex, answer)
        else:
            await self.send(self.topics.confirmed, None, answer)
