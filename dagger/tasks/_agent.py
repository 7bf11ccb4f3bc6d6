"""``KafkaAgent``: consumes a listener topic and hands each message to the tasks it correlates to."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable
from typing import Any

from faust import App, Topic

from dagger.tasks._sensor import KafkaListenerTask, deliver_message

logger = logging.getLogger("dagger.tasks.task")


class KafkaAgent:
    """The consumer of one listener topic.

    ``task`` is a listener of the topic's template; its ``get_correlatable_keys_from_payload`` turns a
    message into the correlation values that find the waiting tasks through the engine ``app``.
    """

    def __init__(self, app: Any, topic: Topic, task: KafkaListenerTask) -> None:
        self.app = app
        self._topic = topic
        self._task = task

    async def process_event_helper(self, event: Any) -> None:
        """Deliver one message to the tasks waiting on each of its correlation values.

        With the listener's ``match_only_one`` set, delivery for a correlation value stops at the first
        task that takes the message.
        """
        topic_name = self._topic.get_topic_name()
        mappings = await self._task.get_correlatable_keys_from_payload(event)
        for mapping in mappings or []:
            if not mapping or len(mapping) < 2 or mapping[1] is None:
                logger.warning("Listener on topic %s extracted an unusable mapping %r", topic_name, mapping)
                continue
            lookup = (mapping[0], f"{mapping[1]}_{topic_name}")
            async for workflow_instance, task in self.app._get_tasks_by_correlatable_key(lookup, get_completed=True):
                try:
                    taken = await deliver_message(topic_name, workflow_instance, task, event)
                except Exception:
                    logger.exception(
                        "Task %s failed to handle a message from %s", getattr(task, "id", None), topic_name
                    )
                    continue
                if taken and getattr(self._task, "match_only_one", False):
                    break

    async def process_event(self, stream: AsyncIterable[Any]) -> None:
        """Deliver every message of ``stream``; a message that cannot be handled is logged and passed over."""
        async for event in stream:
            try:
                await self.process_event_helper(event)
            except Exception:
                logger.exception("Message on %s could not be handled", self._topic.get_topic_name())

    def decorate(self, app: App, concurrency: int = 1) -> None:
        """Register this agent with the faust ``app``, named after its topic."""
        app.agent(self._topic, name=self._topic.get_topic_name(), concurrency=concurrency)(self.process_event)
