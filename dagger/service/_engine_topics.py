"""The engine's own topics: declared with its faust app, and created with the application's before anything
consumes them.

Every engine topic has the engine's partitions and carries raw bytes keyed by text: the tasks topic
(workflows to store, start or stop), the bootstrap topic (kept from the reference), the correlation
and delivery topics (listener messages on their way, index updates), the dead-letter topic and,
when asked for, the update topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from faust.types import TopicT

from dagger.service._message_limits import too_small
from dagger.service._topics import MAX_MESSAGE_BYTES, admin_client, bootstrap_servers, ensure_topics, message_limits


class EngineTopicNames(NamedTuple):
    """The names of the engine's topics the application chooses (None: the default, or no update topic)."""

    tasks: str
    bootstrap: str
    updates: str | None
    dead_letters: str | None


class EngineTopics:
    """The topics the engine declares on ``faust_app``, the others named from the application name ``name``."""

    def __init__(self, faust_app: Any, name: str, partitions: int, names: EngineTopicNames) -> None:
        self.faust_app = faust_app
        self.partitions = partitions
        self.tasks = self._declare(names.tasks)
        self.dead_letters = self._declare(names.dead_letters or f"{name}-dead-letters")
        self.bootstrap = self._declare(names.bootstrap)
        self.correlation = self._declare(f"{name}-correlation")
        self.delivery = self._declare(f"{name}-delivery")
        self.updates = None if names.updates is None else self._declare(names.updates)

    def _declare(self, topic_name: str) -> TopicT:
        return self.faust_app.topic(
            topic_name,
            key_type=str,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.partitions,
        )

    def all(self) -> list[TopicT]:
        """Every engine topic."""
        own = [self.tasks, self.bootstrap, self.correlation, self.delivery, self.dead_letters]
        return own if self.updates is None else [*own, self.updates]

    async def create(self, application_topics: Iterable[TopicT], largest_message: int) -> None:
        """Create the engine's topics and ``application_topics`` where missing, each taking ``largest_message``.

        Raises:
            ValueError: a topic that carries listener messages (forwarded, or dead-lettered) exists and takes
                less than ``largest_message``.
        """
        topics = {topic.get_topic_name(): self.partitions for topic in [*self.all(), *application_topics]}
        conf = self.faust_app.conf
        forwarding = [topic.get_topic_name() for topic in (self.correlation, self.delivery, self.dead_letters)]
        async with admin_client(bootstrap_servers(conf.broker)) as admin:
            await ensure_topics(admin, topics, conf.topic_replication_factor, {MAX_MESSAGE_BYTES: str(largest_message)})
            problem = too_small(await message_limits(admin, forwarding), largest_message)
        if problem is not None:
            raise ValueError(problem)
