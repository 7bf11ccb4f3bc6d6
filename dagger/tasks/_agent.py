"""``KafkaAgent``: the reference's consumer of a listener topic, kept as a face over the engine's own path."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable
from typing import Any

from faust import App, Topic

from dagger.tasks._sensor import KafkaListenerTask

logger = logging.getLogger("dagger.tasks.task")


class KafkaAgent:
    """The consumer of one listener topic, for listener tasks like ``task``.

    The engine ``app`` consumes every declared listener topic itself; this class hands what it is given
    to that same path (correlation, the correlation index, the workflow's lock and unit of work, dead
    letters), so a message handled through it is handled exactly as one read from the topic.
    """

    def __init__(self, app: Any, topic: Topic, task: KafkaListenerTask) -> None:
        self.app = app
        self._topic = topic
        self._task = task

    async def process_event_helper(self, event: Any) -> None:
        """Hand one decoded message of the topic to the tasks waiting for it."""
        self.app.declare_listener(self._topic, type(self._task))
        await self.app.route_listener_payload(self._topic, event)

    async def process_event(self, stream: AsyncIterable[Any]) -> None:
        """Hand over every message of ``stream``; a message that cannot be handled is logged and passed over."""
        async for event in stream:
            try:
                await self.process_event_helper(event)
            except Exception:
                logger.exception("Message on %s could not be handled", self._topic.get_topic_name())

    def decorate(self, app: App, concurrency: int = 1) -> None:
        """Have the engine consume the topic for listener tasks like this agent's."""
        self.app.declare_listener(self._topic, type(self._task), concurrency=concurrency)
