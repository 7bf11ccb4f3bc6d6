"""An engine without Kafka or disk, for unit tests of workflows: :class:`InMemoryEngine`.

It runs the engine's own listener path (:class:`~dagger.service._routing.EventRouter`: correlation
values, the correlation index, the workflow's lock and unit of work, dead letters) and its
correlation registration (:class:`~dagger.service._correlation.Correlation`), over one partition held
in memory; the workflows themselves are kept as objects, so a test can watch the ones it created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any
from uuid import UUID

import faust

from dagger import codec
from dagger.exceptions.exceptions import TemplateDoesNotExist
from dagger.executor.executor import SerialExecutorStrategy
from dagger.service._correlation import Correlation
from dagger.service._dead_letters import DeadLetters
from dagger.service._listeners import HandedMessage, topic_name
from dagger.service._routing import EventRouter, RouterTopics
from dagger.service._unit_of_work import Changes, WorkflowLocks, record_change, record_deletion, unit_of_work
from dagger.service.services import Dagger
from dagger.store._correlation_index import CorrelationIndex, split_lookup_key
from dagger.tasks.task import ITask, ITemplateDAGInstance, KafkaListenerTask, TaskStatusEnum
from dagger.testing._memory_table import MemoryTable
from dagger.types import Engine
from dagger.utils import clock

MAX_LISTENER_MESSAGE_BYTES = 1_048_576


class RecordedTopic:
    """A stand-in topic that records what is sent to it: ``sent`` (key and value, a record as its JSON) and
    ``headers``, in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[Any, bytes]] = []
        self.headers: list[Any] = []

    def get_topic_name(self) -> str:
        """The topic's name."""
        return self.name

    async def send(self, key: Any = None, value: Any = None, headers: Any = None, **_: Any) -> asyncio.Future[None]:
        """Record ``key``, ``value`` and ``headers``; return an acknowledgement that has already come."""
        self.sent.append((key, codec.dumps(value) if isinstance(value, faust.Record) else value))
        self.headers.append(headers)
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged

    def take(self) -> list[HandedMessage]:
        """Remove what was sent and return it as messages read from the topic."""
        messages = [
            HandedMessage(
                self.name, value, key=None if key is None else str(key).encode(), partition=0, headers=headers
            )
            for (key, value), headers in zip(self.sent, self.headers, strict=True)
        ]
        self.sent.clear()
        self.headers.clear()
        return messages


class OnePartition:
    """Placement on one worker that owns the only partition."""

    partitions = 1

    def owned_partitions(self) -> list[int]:
        """The only partition."""
        return [0]

    def owns(self, partition: int) -> bool:
        """Always: this worker owns every partition."""
        return True

    def partition_of(self, workflow: ITemplateDAGInstance) -> int:
        """The only partition."""
        return 0

    def partition_of_key(self, key: str) -> int:
        """The only partition."""
        return 0

    def tables_ready(self) -> bool:
        """Always: nothing in memory is ever recovering."""
        return True


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
        """Fire the timers due by :func:`dagger.utils.clock.now`, earliest first, each in a unit of work."""
        now = clock.now()
        for (workflow_id, task_id), due in sorted(self.triggers.items(), key=lambda item: item[1]):
            if due > now:
                continue
            workflow = self.engine.workflows.get(workflow_id)
            task = workflow.get_task(task_id) if workflow else None
            if workflow is None or task is None or task.status.code != TaskStatusEnum.EXECUTING.name:
                self.triggers.pop((workflow_id, task_id), None)
                continue
            async with self.engine.unit():
                await task.start(workflow)
                record_change(workflow)


class InMemoryEngine:
    """An engine without Kafka or disk: workflows in a dict, the correlation index and timers in memory.

    Install it as ``Dagger.app`` (:func:`installed`) and create, submit and drive workflows as the
    application does; :meth:`deliver` hands a message to the listeners of a topic, and the timers
    fire when :meth:`fire_due_timers` is called (move a :class:`~dagger.utils.clock.ManualClock` first).
    ``workflows`` holds each saved workflow, ``saves`` counts the saves, ``tasks_topic.sent`` is what
    was sent to the tasks topic and ``dead_letters.topic.sent`` the messages no task could use.
    """

    def __init__(self) -> None:
        self.faust_app = faust.App(
            "dagger-unit-tests", broker="kafka://127.0.0.1:1", store="memory://", value_serializer="raw"
        )
        self.template_dags: dict[str, Any] = {}
        self.process_templates: dict[str, Any] = {}
        self.tasks_topic = RecordedTopic("dagger_task_topic")
        self.workflows: dict[UUID, ITemplateDAGInstance] = {}
        self.saves = 0
        self.deleted: list[UUID] = []
        self.delete_workflow_on_complete = False
        self.dead_letters = DeadLetters(RecordedTopic("dagger-dead-letters"), MAX_LISTENER_MESSAGE_BYTES)
        self.index = CorrelationIndex(MemoryTable(), max_entries=15000)  # type: ignore[arg-type]
        self._store = InMemoryTimers(self)
        self._locks = WorkflowLocks()
        self._topics = RouterTopics(correlation=RecordedTopic("correlation"), delivery=RecordedTopic("delivery"))
        placement = OnePartition()
        self._router = EventRouter(
            placement=placement,
            index=self.index,
            workflows=self,
            topics=self._topics,
            dead_letters=self.dead_letters,
            serializers=self.faust_app.serializers,
            max_listener_message_bytes=MAX_LISTENER_MESSAGE_BYTES,
            background=asyncio.ensure_future,
        )
        self._correlation = Correlation(self.index, placement, self._router, self._read)

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

    # persistence: what the router needs of it too
    def lock(self, workflow_id: UUID) -> asyncio.Lock:
        """The lock of workflow ``workflow_id``."""
        return self._locks(workflow_id)

    def load(self, partition: int, workflow_id: UUID) -> ITemplateDAGInstance | None:
        """The saved workflow ``workflow_id``, or None."""
        return self.workflows.get(workflow_id)

    def unit(self) -> AbstractAsyncContextManager[Changes]:
        """A unit of work whose changed workflows are saved at its end."""
        return unit_of_work(self._commit)

    async def _commit(self, changes: Changes) -> list[Any]:
        for workflow in changes.changed.values():
            self._save(workflow)
        for workflow in changes.deleted.values():
            self._delete(workflow)
        return []

    async def _read(self, key: str) -> ITemplateDAGInstance | None:
        return self.workflows.get(UUID(key))

    async def _update_instance(self, task: ITemplateDAGInstance | None = None) -> None:
        """Save a changed workflow: once at the end of the unit of work open, as the engine does, or now."""
        if task is not None and not record_change(task):
            self._save(task)

    def _save(self, workflow: ITemplateDAGInstance) -> None:
        if workflow.id not in self.deleted:
            self.saves += 1
            self.workflows[workflow.id] = workflow

    async def _store_and_create_task(self, task: ITask, *, submission: bool = False) -> None:
        if not isinstance(task, ITemplateDAGInstance):
            return
        async with self.unit():
            if task.id not in self.workflows:
                await self._correlation.register_all(task)
            if task.status.code == TaskStatusEnum.SUBMITTED.name:
                await task.start(workflow_instance=task)
            record_change(task)

    async def _stop_instance(self, workflow: ITemplateDAGInstance, runtime_parameters: Any = None) -> None:
        await workflow._halt(runtime_parameters)

    async def _remove_root_template_instance(self, workflow_instance: ITemplateDAGInstance) -> None:
        """Delete a finished workflow: at the end of the unit of work open, as the engine does, or now."""
        if not record_deletion(workflow_instance):
            self._delete(workflow_instance)

    def _delete(self, workflow: ITemplateDAGInstance) -> None:
        self.deleted.append(workflow.id)
        self.workflows.pop(workflow.id, None)

    # topics and listeners: in ``Dagger.topics``, declared with this engine's faust app, as the engine does
    add_topic = Dagger.add_topic
    create_topic = Dagger.create_topic

    def declare_listener(self, topic: Any, listener_type: type[KafkaListenerTask], concurrency: int = 1) -> None:
        """Let tasks of ``listener_type`` wait on ``topic``: :meth:`deliver` hands them its messages."""
        self._router.declare(topic, listener_type, concurrency)

    @property
    def listeners(self) -> dict[str, tuple[type, int]]:
        """Each listener topic declared, with the first listener class declared on it and its concurrency."""
        return {
            name: (type(listener.prototypes[0]), listener.concurrency)
            for name, listener in self._router.listeners.items()
        }

    async def route_listener_payload(self, topic: Any, payload: Any) -> None:
        """Hand a decoded message of listener topic ``topic`` (a topic or its name) to the tasks waiting for it."""
        await self.deliver(topic_name(topic), payload)

    # timers
    async def _store_trigger_instance(self, task_instance: ITask, workflow_instance: Any = None, **_: Any) -> None:
        self._store.triggers[(workflow_instance.id, task_instance.id)] = task_instance.time_to_execute

    # correlation: the engine's own (``_correlation``), through the engine's own methods
    _insert_correletable_key_task = Dagger._insert_correletable_key_task
    update_correletable_key_for_task = Dagger.update_correletable_key_for_task
    remove_task_from_correletable_keys_table = Dagger.remove_task_from_correletable_keys_table
    _get_tasks_by_correlatable_key = Dagger._get_tasks_by_correlatable_key
    get_monitoring_task = Dagger.get_monitoring_task

    # driving the model in tests
    async def fire_due_timers(self) -> None:
        """Fire the timers that are due by Dagger's clock, as a timer tick would."""
        await self._store.execute_system_timer_task()

    async def deliver(self, topic_name: str, payload: Any) -> None:
        """Hand ``payload`` to the listeners of ``topic_name`` through the engine's listener path, as if read
        from the topic, and handle whatever that path forwards between the engine's own topics."""
        await self._router.on_payload(topic_name, payload)
        while forwarded := self._topics.correlation.take() + self._topics.delivery.take():
            for message in forwarded:
                if message.topic == self._topics.correlation.name:
                    await self._router.on_correlation_message(message)
                else:
                    await self._router.on_delivery_message(message)

    def keys_of(self, workflow_id: UUID) -> set[str]:
        """The correlation keys under which tasks of ``workflow_id`` wait."""
        return {
            key
            for key in _keys(self.index.table.items(0))
            if split_lookup_key(key, self._router.listeners) is not None
            and any(entry.workflow_id == workflow_id for entry in self.index.entries(0, key))
        }


def _keys(items: Iterable[tuple[bytes, bytes]]) -> list[str]:
    return [key.decode() for key, _ in items]


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
