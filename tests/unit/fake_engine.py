"""An in-memory stand-in for the engine methods the model calls through ``Dagger.app``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import faust

from dagger import codec
from dagger.tasks.task import (
    CorrelatableMapValue,
    ITask,
    ITemplateDAGInstance,
    KafkaAgent,
    TaskStatusEnum,
)
from dagger.utils import clock


class SentMessages:
    """A stand-in topic that records what is sent to it, encoded as the engine would."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[Any, bytes]] = []

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, key: Any = None, value: Any = None, **_: Any) -> None:
        self.sent.append((key, codec.dumps(value) if isinstance(value, faust.Record) else value))


class FakeStore:
    """The timer part of the store: triggers by ``(workflow id, task id)``."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.triggers: dict[tuple[UUID, UUID], int] = {}

    async def process_trigger_task_complete(self, task: ITask, wokflow_instance: Any = None) -> None:
        if wokflow_instance is not None:
            self.triggers.pop((wokflow_instance.id, task.id), None)

    async def execute_system_timer_task(self) -> None:
        now = clock.now()
        for (workflow_id, task_id), due in sorted(self.triggers.items(), key=lambda item: item[1]):
            if due > now:
                continue
            workflow = self.engine.workflows.get(workflow_id)
            task = workflow.get_task(task_id) if workflow else None
            if task is None or task.status.code != TaskStatusEnum.EXECUTING.name:
                self.triggers.pop((workflow_id, task_id), None)
                continue
            await task.start(workflow)
            await self.engine._update_instance(task=workflow)


class FakeEngine:
    """Workflows, correlation entries and triggers in dicts; every call the model makes is recorded."""

    def __init__(self) -> None:
        self.faust_app = faust.App("dagger-unit-tests", broker="kafka://127.0.0.1:1", store="memory://")
        self.template_dags: dict[str, Any] = {}
        self.process_templates: dict[str, Any] = {}
        self.tasks_topic = SentMessages("dagger_task_topic")
        self.workflows: dict[UUID, ITemplateDAGInstance] = {}
        self.correlations: dict[str, set[tuple[UUID, UUID]]] = defaultdict(set)
        self.listeners: dict[str, Any] = {}
        self.saves = 0
        self.deleted: list[UUID] = []
        self.delete_workflow_on_complete = False
        self._store = FakeStore(self)

    # persistence
    async def _update_instance(self, task: ITemplateDAGInstance | None = None) -> None:
        if task is not None and task.id not in self.deleted:
            self.saves += 1
            self.workflows[task.id] = task

    async def _store_and_create_task(self, task: ITemplateDAGInstance, *, submission: bool = False) -> None:
        if task.status.code == TaskStatusEnum.SUBMITTED.name:
            await task.start(workflow_instance=task)
        await self._update_instance(task=task)

    async def _stop_instance(self, workflow: ITemplateDAGInstance, runtime_parameters: Any = None) -> None:
        await workflow._halt(runtime_parameters)

    async def _remove_root_template_instance(self, workflow: ITemplateDAGInstance) -> None:
        self.deleted.append(workflow.id)
        self.workflows.pop(workflow.id, None)

    # topics and listeners
    def add_topic(self, topic_name: str, topic: Any) -> None:
        from dagger.service.services import Dagger

        Dagger.topics[topic_name] = topic

    def create_topic(self, topic_name: str, **options: Any) -> Any:
        from dagger.service.services import Dagger

        return Dagger.create_topic(topic_name, **options)

    def declare_listener(self, topic: Any, listener_type: type, concurrency: int = 1) -> None:
        self.listeners[topic.get_topic_name()] = (listener_type, concurrency)

    # timers
    async def _store_trigger_instance(self, task_instance: ITask, workflow_instance: Any = None, **_: Any) -> None:
        self._store.triggers[(workflow_instance.id, task_instance.id)] = task_instance.time_to_execute  # type: ignore[attr-defined]

    # correlation
    async def _insert_correletable_key_task(
        self, task_instance: ITask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        value = workflow_instance.runtime_parameters.get(task_instance.correlatable_key)
        await self.update_correletable_key_for_task(
            task_instance, None if value is None else str(value), new_task=True, workflow_instance=workflow_instance
        )

    async def update_correletable_key_for_task(
        self, task_instance: ITask, key: str | None = None, new_task: bool = False, workflow_instance: Any = None
    ) -> None:
        mapping = workflow_instance.sensor_tasks_to_correletable_map
        if not new_task:
            await self.remove_task_from_correletable_keys_table(task_instance, workflow_instance)
        mapping[task_instance.id] = CorrelatableMapValue(task_instance.correlatable_key, key)
        if key is not None:
            self.correlations[f"{key}_{task_instance.topic}"].add((workflow_instance.id, task_instance.id))  # type: ignore[attr-defined]

    async def remove_task_from_correletable_keys_table(self, task: ITask, workflow_instance: Any) -> None:
        registered = workflow_instance.sensor_tasks_to_correletable_map.get(task.id)
        if registered is not None and registered.correlatable_key_attr_value is not None:
            key = f"{registered.correlatable_key_attr_value}_{task.topic}"  # type: ignore[attr-defined]
            self.correlations[key].discard((workflow_instance.id, task.id))

    async def _get_tasks_by_correlatable_key(
        self, lookup_key: tuple[str, str], get_completed: bool = False
    ) -> AsyncIterator[tuple[ITemplateDAGInstance, ITask]]:
        for workflow_id, task_id in sorted(self.correlations.get(lookup_key[1], set())):
            workflow = self.workflows.get(workflow_id)
            if workflow is not None:
                yield workflow, workflow.get_task(task_id)  # type: ignore[misc]

    async def get_monitoring_task(self, task: ITask, workflow_instance: Any) -> Any:
        monitor_id = getattr(task, "monitoring_task_id", None)
        return workflow_instance.get_task(monitor_id) if monitor_id else None

    # driving the model in tests
    async def deliver(self, topic_name: str, payload: Any) -> None:
        """Hand ``payload`` to the listeners of ``topic_name`` as the listener agent would."""
        listener_type, _ = self.listeners[topic_name]
        agent = KafkaAgent(app=self, topic=SentMessages(topic_name), task=listener_type(UUID(int=0)))  # type: ignore[arg-type]
        await agent.process_event_helper(payload)

    def keys_of(self, workflow_id: UUID) -> set[str]:
        """The correlation keys under which tasks of ``workflow_id`` wait."""
        return {key for key, pairs in self.correlations.items() if any(w == workflow_id for w, _ in pairs)}
