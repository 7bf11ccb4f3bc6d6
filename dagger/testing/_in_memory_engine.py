"""An engine without Kafka or disk, for unit tests of workflows: :class:`InMemoryEngine`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import faust

from dagger import codec
from dagger.exceptions.exceptions import TemplateDoesNotExist
from dagger.executor.executor import SerialExecutorStrategy
from dagger.service.services import Dagger
from dagger.tasks.task import (
    CorrelatableMapValue,
    ITask,
    ITemplateDAGInstance,
    KafkaAgent,
    TaskStatusEnum,
)
from dagger.types import Engine
from dagger.utils import clock


class RecordedTopic:
    """A stand-in topic that records what is sent to it (``sent``), encoded as the engine would."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[Any, bytes]] = []

    def get_topic_name(self) -> str:
        """The topic's name."""
        return self.name

    async def send(self, key: Any = None, value: Any = None, **_: Any) -> None:
        """Record ``key`` and ``value`` (a record as its JSON)."""
        self.sent.append((key, codec.dumps(value) if isinstance(value, faust.Record) else value))


class InMemoryTimers:
    """The timer part of the store: the due time of each timer by ``(workflow id, task id)``."""

    def __init__(self, engine: InMemoryEngine) -> None:
        self.engine = engine
        self.triggers: dict[tuple[UUID, UUID], int] = {}

    async def process_trigger_task_complete(self, task: ITask, wokflow_instance: ITemplateDAGInstance | None) -> None:
        """Forget the timer of a trigger task that has completed."""
        if wokflow_instance is not None:
            self.triggers.pop((wokflow_instance.id, task.id), None)

    async def execute_system_timer_task(self) -> None:
        """Fire the timers due by :func:`dagger.utils.clock.now`, earliest first."""
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


class InMemoryEngine:
    """An engine without Kafka or disk: workflows, correlation entries and timers in dicts.

    Install it as ``Dagger.app`` (:func:`installed`) and create, submit and drive workflows as the
    application does; :meth:`deliver` hands a message to the listeners of a topic, and the timers
    fire when :meth:`fire_due_timers` is called (move a :class:`~dagger.utils.clock.ManualClock` first).
    ``workflows`` holds each saved workflow, ``saves`` counts the saves and ``tasks_topic.sent`` what
    was sent to the tasks topic.
    """

    def __init__(self) -> None:
        self.faust_app = faust.App("dagger-unit-tests", broker="kafka://127.0.0.1:1", store="memory://")
        self.template_dags: dict[str, Any] = {}
        self.process_templates: dict[str, Any] = {}
        self.tasks_topic = RecordedTopic("dagger_task_topic")
        self.workflows: dict[UUID, ITemplateDAGInstance] = {}
        self.correlations: dict[str, set[tuple[UUID, UUID]]] = defaultdict(set)
        self.listeners: dict[str, Any] = {}
        self.saves = 0
        self.deleted: list[UUID] = []
        self.delete_workflow_on_complete = False
        self._store = InMemoryTimers(self)

    # what application code calls
    def get_template(self, template_name: str) -> Any:
        """Return the workflow definition registered as ``template_name``; raises ``TemplateDoesNotExist``."""
        try:
            return self.template_dags[template_name]
        except KeyError:
            raise TemplateDoesNotExist(f"no workflow template named {template_name!r}") from None

    async def submit(self, task: ITemplateDAGInstance, *, repartition: bool = True) -> None:
        """Start a created workflow here (there is no other worker to send it to)."""
        await SerialExecutorStrategy(self).submit(task, repartition=False)

    async def get_instance(self, id: UUID, log: bool = True) -> ITemplateDAGInstance | None:
        """Return the saved workflow ``id``, or None."""
        return self.workflows.get(id)

    # persistence
    async def _update_instance(self, task: ITemplateDAGInstance | None = None) -> None:
        if task is not None and task.id not in self.deleted:
            self.saves += 1
            self.workflows[task.id] = task

    async def _store_and_create_task(self, task: ITask, *, submission: bool = False) -> None:
        if not isinstance(task, ITemplateDAGInstance):
            return
        if task.status.code == TaskStatusEnum.SUBMITTED.name:
            await task.start(workflow_instance=task)
        await self._update_instance(task=task)

    async def _stop_instance(self, workflow: ITemplateDAGInstance, runtime_parameters: Any = None) -> None:
        await workflow._halt(runtime_parameters)

    async def _remove_root_template_instance(self, workflow_instance: ITemplateDAGInstance) -> None:
        self.deleted.append(workflow_instance.id)
        self.workflows.pop(workflow_instance.id, None)

    # topics and listeners: in ``Dagger.topics``, declared with this engine's faust app, as the engine does
    add_topic = Dagger.add_topic
    create_topic = Dagger.create_topic

    def declare_listener(self, topic: Any, listener_type: type, concurrency: int = 1) -> None:
        """Note that tasks of ``listener_type`` wait on ``topic``: :meth:`deliver` hands them its messages."""
        self.listeners[topic.get_topic_name()] = (listener_type, concurrency)

    # timers
    async def _store_trigger_instance(self, task_instance: ITask, workflow_instance: Any = None, **_: Any) -> None:
        self._store.triggers[(workflow_instance.id, task_instance.id)] = task_instance.time_to_execute

    # correlation
    async def _insert_correletable_key_task(
        self, task_instance: ITask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        value = workflow_instance.runtime_parameters.get(task_instance.correlatable_key or "")
        await self.update_correletable_key_for_task(
            task_instance, None if value is None else str(value), new_task=True, workflow_instance=workflow_instance
        )

    async def update_correletable_key_for_task(
        self, task_instance: ITask, key: str | None = None, new_task: bool = False, workflow_instance: Any = None
    ) -> None:
        """Register ``task_instance`` under correlation value ``key`` (None: under none)."""
        mapping = workflow_instance.sensor_tasks_to_correletable_map
        if not new_task:
            await self.remove_task_from_correletable_keys_table(task_instance, workflow_instance)
        mapping[task_instance.id] = CorrelatableMapValue(task_instance.correlatable_key, key)
        if key is not None:
            self.correlations[f"{key}_{task_instance.topic}"].add((workflow_instance.id, task_instance.id))

    async def remove_task_from_correletable_keys_table(self, task: ITask, workflow_instance: Any) -> None:
        """Unregister ``task`` from the correlation value it waits on."""
        registered = workflow_instance.sensor_tasks_to_correletable_map.get(task.id)
        if registered is not None and registered.correlatable_key_attr_value is not None:
            key = f"{registered.correlatable_key_attr_value}_{task.topic}"
            self.correlations[key].discard((workflow_instance.id, task.id))

    async def _get_tasks_by_correlatable_key(
        self, lookup_key: tuple[str, str], get_completed: bool = False
    ) -> AsyncIterator[tuple[ITemplateDAGInstance, ITask]]:
        for workflow_id, task_id in sorted(self.correlations.get(lookup_key[1], set())):
            workflow = self.workflows.get(workflow_id)
            if workflow is not None:
                yield workflow, workflow.get_task(task_id)  # type: ignore[misc]

    async def get_monitoring_task(self, task: ITask, workflow_instance: Any) -> Any:
        """Return the monitoring task of ``task`` (a monitored process) in ``workflow_instance``, or None."""
        monitor_id = getattr(task, "monitoring_task_id", None)
        return workflow_instance.get_task(monitor_id) if monitor_id else None

    # driving the model in tests
    async def fire_due_timers(self) -> None:
        """Fire the timers that are due by Dagger's clock, as a timer tick would."""
        await self._store.execute_system_timer_task()

    async def deliver(self, topic_name: str, payload: Any) -> None:
        """Hand ``payload`` to the listeners of ``topic_name`` as the listener agent would."""
        listener_type, _ = self.listeners[topic_name]
        agent = KafkaAgent(app=self, topic=RecordedTopic(topic_name), task=listener_type(UUID(int=0)))  # type: ignore[arg-type]
        await agent.process_event_helper(payload)

    def keys_of(self, workflow_id: UUID) -> set[str]:
        """The correlation keys under which tasks of ``workflow_id`` wait."""
        return {key for key, pairs in self.correlations.items() if any(w == workflow_id for w, _ in pairs)}


@contextmanager
def installed(engine: InMemoryEngine | None = None) -> Iterator[InMemoryEngine]:
    """Make ``engine`` (a new :class:`InMemoryEngine` when None) ``Dagger.app`` with no topics declared, and put
    back ``Dagger.app`` and ``Dagger.topics`` as they were when the block ends."""
    previous_app, previous_topics = Dagger.app, dict(Dagger.topics)
    try:
        Dagger.app = engine if engine is not None else InMemoryEngine()
        Dagger.topics.clear()
        yield Dagger.app
    finally:
        Dagger.app = previous_app
        Dagger.topics.clear()
        Dagger.topics.update(previous_topics)


def _as_engine(engine: InMemoryEngine) -> Engine:
    """What the model may ask of the engine, the in-memory engine has: mypy checks it here."""
    return engine
