"""A Kafka listener of JSON messages, correlated by one field of the message."""

from __future__ import annotations

import json
from typing import Any

from dagger.tasks.task import KafkaListenerTask, TaskLookupKey


class JsonListenerTask(KafkaListenerTask[str, str]):
    """Waits for JSON messages; ``correlatable_key`` names both the runtime parameter and the message's field.

    A message ``{"order_id": "order-001", ...}`` goes to the task whose ``order_id`` is ``order-001``
    when ``correlatable_key`` is ``"order_id"``. Subclasses set ``correlatable_key`` and ``on_message``.
    """

    async def get_correlatable_keys_from_payload(self, payload: Any) -> list[TaskLookupKey]:
        """The value of the message's ``correlatable_key`` field."""
        return [(self.correlatable_key, json.loads(payload)[self.correlatable_key])]
