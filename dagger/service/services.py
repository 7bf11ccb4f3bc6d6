"""The Dagger service: the engine behind ``Dagger.app`` and the registry of workflow definitions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from functools import partial
from typing import Any, ClassVar
from uuid import UUID

import faust
import mode
from faust.types import TP, TopicT

from dagger import codec
from dagger.exceptions.exceptions import TemplateDoesNotExist, WorkflowUnavailable
from dagger.executor.executor import SerialExecutorStrategy
from dagger.modeler._creation import being_created, mark_found_stored
from dagger.service._cluster import Cluster, unanswered
from dagger.service._committed_recovery import PastCommitMarkers
from dagger.service._dead_letters import DeadLetters
from dagger.service._discovery import discover, discovers
from dagger.service._memory_release import RELEASE_INTERVAL, release_freed_memory
from dagger.service._message_limits import largest_message, size_clients, too_small
from dagger.service._options import CHANGELOG_ALWAYS, broker_setting, schema_registry
from dagger.service._partitions import partition_for, workflow_key
from dagger.service._rewind import hold_flow_until_seek, rewind_uncommitted
from dagger.service._routing import EventRouter, Listener, where
from dagger.service._sending import DaggerTopic
from dagger.service._streams import DaggerStream
from dagger.service._topics import MAX_MESSAGE_BYTES, admin_client, bootstrap_servers, ensure_topics, message_limits
from dagger.service._transactions import Transactions, current_transactions
from dagger.service._unit_of_work import (
    Changes,
    WorkflowLocks,
    after_commit,
    in_unit_of_work,
    record_change,
    record_deletion,
    unit_of_work,
)
from dagger.service._views import (
    DagProcessView,
    ServiceStateView,
    TemplateProcessView,
    service_blueprint,
    tasks_blueprint,
)
from dagger.service.engineconfig import AerospikeConfig, EngineConfig, StoreEnum
from dagger.store._correlation_index import split_lookup_key
from dagger.store.stores import RocksDBStore, trigger_of
from dagger.tasks._engine import attach
from dagger.tasks._sensor import deliver_message
from dagger.tasks._status import is_terminal
from dagger.tasks.task import (
    CorrelatableMapValue,
    CorreletableKeyTasks,
    CorreletableLookUpKey,
    ITask,
    ITemplateDAGInstance,
    KafkaListenerTask,
    MonitoringTask,
    TaskStatusEnum,
    Trigger,
    TriggerTask,
)
from dagger.templates.template import IProcessTemplateDAG, ITemplateDAG
from dagger.types import Engine
from dagger.wire import KIND, MALFORMED, STOP, SUBMIT, UNDECODABLE, decode_stop, encode_stop, headers_of

__all__ = [
    "RESTART_WAIT_TIME",
    "DagProcessView",
    "Dagger",
    "RegisterFun",
    "ServiceStateView",
    "TaskDTO",
    "TemplateProcessView",
    "service_blueprint",
    "tasks_blueprint",
]

logger = logging.getLogger(__name__)

RegisterFun = Callable[[str], Any]
RESTART_WAIT_TIME = 1800
OWNER_READ_TIMEOUT = 10.0
"""Seconds :meth:`Dagger.get_instance` keeps asking the cluster for a workflow this worker lacks."""
OWNER_READ_RETRY = 0.5
UpdateCallback = Callable[[ITemplateDAGInstance], Awaitable[None]]


class Dagger(mode.Service):
    """The workflow engine: one faust app, its topics, tables, agents, timer and REST routes.

    The instance created last is reachable as ``Dagger.app``; tasks reach the engine through it.
    Unknown keyword arguments are passed to :class:`faust.App` (for example ``web_port`` or
    ``processing_guarantee``).
    """

    app: ClassVar[Any] = None
    topics: ClassVar[dict[str, TopicT]] = {}
    trigger_interval: float = 60
    enable_changelog: bool = True
    max_correletable_keys_in_values: int = 15000
    delete_workflow_on_complete: bool = False
    logging_config: Any = None

    def __init__(
        self,
        *,
        broker: str,
        datadir: str | None = None,
        store: str = StoreEnum.ROCKSDB.value,
        application_name: str = "dagger",
        package_name: str = "dagger",
        kafka_partitions: int = 1,
        task_update_topic: str | None = None,
        tasks_topic: str = "dagger_task_topic",
        bootstrap_topic: str = "dagger_bootstrap",
        beacon: Any = None,
        kafka_broker_list: Any = None,
        loop: Any = None,
        tracing_sensor: Any = None,
        datadog_sensor: Any = None,
        trigger_interval: float = 60,
        max_tasks_per_trigger: int = 2000,
        restart_tasks_on_boot: bool = True,
        aerospike_config: AerospikeConfig | None = None,
        enable_changelog: bool = True,
        max_correletable_keys_in_values: int = 15000,
        schema_registry_url: str | None = None,
        message_serializer: Any = None,
        delete_workflow_on_complete: bool = False,
        task_update_callbacks: list[UpdateCallback] = [],  # noqa: B006 - the reference's default; copied
        logging_config: Any = None,
        dead_letter_topic: str | None = None,
        max_listener_message_bytes: int = 1_048_576,
        **kwargs: Any,
    ) -> None:
        if store != StoreEnum.ROCKSDB.value:
            raise ValueError(
                f"unsupported store {store!r}: this version of Dagger keeps its state in the embedded "
                f"RocksDB store, {StoreEnum.ROCKSDB.value!r}"
            )
        if kafka_partitions < 1:
            raise ValueError(f"kafka_partitions must be at least 1, not {kafka_partitions}")
        self.largest_message = largest_message(max_listener_message_bytes)
        size_clients(kwargs, self.largest_message)
        self.exactly_once = str(kwargs.pop("processing_guarantee", "")).lower().endswith("exactly_once")
        self.config = EngineConfig(
            BROKER=broker,
            DATADIR=datadir,
            STORE=store,
            APPLICATION_NAME=application_name,
            PACKAGE_NAME=package_name,
            KAFKA_PARTITIONS=kafka_partitions,
            KWARGS=kwargs,
        )
        self.aerospike_config = aerospike_config
        self.trigger_interval = trigger_interval
        self.max_tasks_per_trigger = max_tasks_per_trigger
        self.restart_tasks_on_boot = restart_tasks_on_boot
        self.enable_changelog = enable_changelog
        self.max_correletable_keys_in_values = max_correletable_keys_in_values
        self.delete_workflow_on_complete = delete_workflow_on_complete
        self.task_update_callbacks = list(task_update_callbacks)
        self.logging_config = logging_config
        self.max_listener_message_bytes = max_listener_message_bytes
        self.schema_registry_url = schema_registry_url
        registry = schema_registry(schema_registry_url, message_serializer)
        self.schema_registry_client = registry.client
        self.message_serializer = registry.serializer
        self.kafka_broker_list = kafka_broker_list
        self._without_effect = [
            problem for problem in (registry.problem, None if enable_changelog else CHANGELOG_ALWAYS) if problem
        ]
        self._discovered = False
        self.started_flag = False
        self.template_dags: dict[str, ITemplateDAG] = {}
        self.process_templates: dict[str, IProcessTemplateDAG] = {}
        super().__init__(beacon=beacon, loop=loop)
        Dagger.app = self
        Dagger.topics = {}
        self._transactions: Transactions | None = None
        self.faust_app = self._create_faust_app(datadir, **kwargs)
        self.add_dependency(self.faust_app)
        self._locks = WorkflowLocks()
        self._router = EventRouter(self)
        self._execution_strategy = SerialExecutorStrategy(self)
        self._declare_engine_topics(tasks_topic, bootstrap_topic, task_update_topic, dead_letter_topic)
        for sensor in (tracing_sensor, datadog_sensor):
            if sensor is not None:
                self.faust_app.sensors.add(sensor)
        self.dd_sensor = datadog_sensor
        self._store = RocksDBStore(self, transaction=current_transactions)
        self._store.initialize()
        self._store.enable_changelog = enable_changelog
        self._tick_lock = asyncio.Lock()
        self.faust_app.timer(interval=trigger_interval)(self._process_system_timer_task)
        self.faust_app.timer(interval=RELEASE_INTERVAL)(release_freed_memory)
        self.faust_app.on_rebalance_complete.connect(self._on_rebalance_complete)

    def _create_faust_app(self, datadir: str | None, **kwargs: Any) -> faust.App:
        options: dict[str, Any] = {
            "broker": broker_setting(self.config.BROKER, self.kafka_broker_list),
            "version": 1,
            "autodiscover": discovers(self.config.PACKAGE_NAME),
            "origin": self.config.PACKAGE_NAME,
            "store": self.config.STORE,
            "value_serializer": "raw",
            "topic_partitions": self.partitions,
            "Topic": DaggerTopic,
            "Stream": DaggerStream,
            **kwargs,
        }
        if datadir is not None:
            options["datadir"] = datadir
        if self.logging_config is not None:
            options.setdefault("logging_config", self.logging_config)
        app = faust.App(self.config.APPLICATION_NAME, **options)
        tasks_blueprint.register(app, url_prefix="/tasks")
        service_blueprint.register(app, url_prefix="/service")
        return app

    def _declare_engine_topics(
        self, tasks_topic: str, bootstrap_topic: str, task_update_topic: str | None, dead_letter_topic: str | None
    ) -> None:
        name = self.config.APPLICATION_NAME
        self.tasks_topic = self._engine_topic(tasks_topic)
        self.dead_letter_topic = self._engine_topic(dead_letter_topic or f"{name}-dead-letters")
        self.dead_letters = DeadLetters(self.dead_letter_topic, self.max_listener_message_bytes)
        self.bootstrap_topic = self._engine_topic(bootstrap_topic)
        self.correlation_topic = self._engine_topic(f"{name}-correlation")
        self.delivery_topic = self._engine_topic(f"{name}-delivery")
        self.task_update_topic = None if task_update_topic is None else self._engine_topic(task_update_topic)
        app = self.faust_app
        app.agent(self.tasks_topic, name=tasks_topic)(self._consume(self._on_tasks_message))
        app.agent(self.correlation_topic, name=f"{name}-correlation")(
            self._consume(self._router.on_correlation_message)
        )
        app.agent(self.delivery_topic, name=f"{name}-delivery")(self._consume(self._router.on_delivery_message))

    def _engine_topic(self, topic_name: str) -> TopicT:
        return self.faust_app.topic(
            topic_name,
            key_type=str,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.partitions,
        )

    @staticmethod
    def _consume(handle: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        """An agent that hands each raw message to ``handle``; a message that fails is logged and passed over."""

        async def consume(stream: Any) -> None:
            async for event in stream.events():
                try:
                    await handle(event.message)
                except Exception:
                    logger.exception("Handling the message at %s failed", where(event.message))

        return consume

    # lifecycle
    async def on_first_start(self) -> None:
        """Say which of the given options have no effect, and import the application's definitions."""
        for problem in self._without_effect:
            logger.warning(problem)
        self._discover_templates()

    def _discover_templates(self) -> None:
        """Import every module of ``package_name``, once, so that their ``@Dagger.register_template`` run."""
        if not self._discovered:
            self._discovered = True
            discover(self.faust_app)

    async def on_start(self) -> None:
        """Create every topic the engine and the application declared, before anything consumes them."""
        topics = {
            topic.get_topic_name(): self.partitions
            for topic in [
                self.tasks_topic,
                self.bootstrap_topic,
                self.correlation_topic,
                self.delivery_topic,
                self.dead_letter_topic,
                *([self.task_update_topic] if self.task_update_topic is not None else []),
                *Dagger.topics.values(),
                *(listener.topic for listener in self._router.listeners.values()),
            ]
        }
        conf = self.faust_app.conf
        async with admin_client(bootstrap_servers(conf.broker)) as admin:
            await ensure_topics(
                admin, topics, conf.topic_replication_factor, {MAX_MESSAGE_BYTES: str(self.largest_message)}
            )
            problem = too_small(await message_limits(admin, self._forwarding_topics()), self.largest_message)
        if problem is not None:
            raise ValueError(problem)
        if self.exactly_once:
            self._transactions = Transactions.of_worker(self.faust_app, self.faust_app.crash)
            await self._transactions.start()
            self.add_future(self._recover_past_commit_markers())

    def _forwarding_topics(self) -> list[str]:
        """The engine's topics that carry listener messages: forwarded, or dead-lettered."""
        return [
            topic.get_topic_name() for topic in (self.correlation_topic, self.delivery_topic, self.dead_letter_topic)
        ]

    async def on_started(self) -> None:
        """Report readiness on ``/service/ready``."""
        self.started_flag = True

    async def on_stop(self) -> None:
        """Stop reporting ready, let a running timer tick end, and see every write the tables made reach the
        broker before faust stops."""
        self.started_flag = False
        async with self._tick_lock:
            await self._store.flush()

    async def on_shutdown(self) -> None:
        """Once faust has stopped, stop the transactional producer (exactly-once)."""
        if self._transactions is not None:
            await self._transactions.stop()

    def main(self, override_logging: bool = False) -> None:
        """Run the engine as a worker until it is stopped by a signal."""
        mode.Worker(
            self, daemon=True, override_logging=override_logging, logging_config=self.logging_config
        ).execute_from_commandline()

    # registry
    @classmethod
    def create_topic(
        cls,
        topic_name: str,
        key_type: Any | None = None,
        value_type: Any | None = None,
        key_serializer: Any | None = None,
        value_serializer: Any | None = None,
    ) -> TopicT:
        """Return the topic ``topic_name``, declaring it with the engine's faust app on first use."""
        existing = cls.topics.get(topic_name)
        if existing is not None:
            logger.warning("Topic %s is already declared; using the existing one", topic_name)
            return existing
        topic = cls.app.faust_app.topic(
            topic_name,
            key_type=key_type,
            value_type=value_type,
            key_serializer=key_serializer,
            value_serializer=value_serializer,
        )
        cls.topics[topic_name] = topic
        return topic

    @classmethod
    def register_template(cls, template_name: str) -> Callable[[RegisterFun], None]:
        """Decorator: call the function with ``template_name`` and register the workflow definition it returns."""

        def register(build: RegisterFun) -> None:
            cls.app.template_dags[template_name] = build(template_name)

        return register

    @classmethod
    def register_process_template(cls, process_template_name: str) -> Callable[[RegisterFun], None]:
        """Decorator: call the function with the name and register the process definition it returns."""

        def register(build: RegisterFun) -> None:
            cls.app.process_templates[process_template_name] = build(process_template_name)

        return register

    def add_topic(self, topic_name: str, topic: TopicT) -> None:
        """Make ``topic`` known by ``topic_name``."""
        Dagger.topics[topic_name] = topic

    def get_topic(self, topic_name: str) -> TopicT:
        """Return the topic known by ``topic_name``."""
        return Dagger.topics[topic_name]

    def get_template(self, template_name: str) -> ITemplateDAG:
        """Return the registered workflow definition ``template_name``; raises ``TemplateDoesNotExist``.

        For a name not registered yet, the modules of ``package_name`` are imported first, unless that was
        done already (the engine does it when it starts).
        """
        if template_name not in self.template_dags:
            self._discover_templates()
        try:
            return self.template_dags[template_name]
        except KeyError:
            raise TemplateDoesNotExist(f"no workflow template named {template_name!r}") from None

    def get_process_template(self, process_template_name: str) -> IProcessTemplateDAG:
        """Return the registered process definition ``process_template_name``."""
        return self.process_templates[process_template_name]

    def declare_listener(self, topic: TopicT, listener_type: type[KafkaListenerTask], concurrency: int = 1) -> None:
        """Consume ``topic`` for listener tasks of ``listener_type``; declaring a topic again adds the type."""
        name = topic.get_topic_name()
        listener = self._router.listeners.get(name)
        if listener is None:
            listener = self._router.listeners[name] = Listener(topic=topic, concurrency=concurrency)
            raw = self.faust_app.topic(
                name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
            )
            self.faust_app.agent(raw, name=f"dagger-listener-{name}", concurrency=concurrency)(
                self._consume(lambda message: self._router.on_listener_message(listener, message))
            )
        listener.add_type(listener_type)

    def get_db_options(self) -> Mapping[str, Any]:
        """Return the options of the store's databases."""
        return self._store.get_db_options()

    # placement
    @property
    def partitions(self) -> int:
        """How many partitions the engine's topics and tables have (``kafka_partitions``)."""
        return self.config.KAFKA_PARTITIONS

    def partition_of(self, workflow: ITemplateDAGInstance) -> int:
        """The partition that holds ``workflow``: the one of its partition key."""
        return partition_for(workflow_key(workflow), self.partitions)

    def owned_partitions(self) -> list[int]:
        """The partitions this worker currently owns."""
        name = self.tasks_topic.get_topic_name()
        return sorted(tp.partition for tp in self.faust_app.assignor.assigned_actives() if tp.topic == name)

    def owns(self, partition: int) -> bool:
        """Whether this worker currently owns ``partition``."""
        return TP(self.tasks_topic.get_topic_name(), partition) in self.faust_app.assignor.assigned_actives()

    def settled_partitions(self) -> list[int]:
        """The owned partitions whose tables are complete: none while partitions move or tables recover."""
        return self.owned_partitions() if self._tables_ready() else []

    # workflows
    async def submit(self, task: ITemplateDAGInstance, *, repartition: bool = True) -> None:
        """Start a created workflow: on the worker that owns it (``repartition``) or here."""
        await self._execution_strategy.submit(task, repartition=repartition)

    async def get_instance(self, id: UUID, log: bool = True) -> ITemplateDAGInstance | None:
        """Return the stored workflow ``id`` from whichever worker of the cluster holds it, or None if none does.

        A workflow this worker lacks is asked of the others over their REST routes, for up to
        :data:`OWNER_READ_TIMEOUT` seconds while partitions move or a worker does not answer.

        Raises:
            WorkflowUnavailable: no answer covered every partition in that time.
        """
        workflow = await self._read_anywhere(id)
        if workflow is None and log:
            logger.warning("Workflow %s is not stored on any worker", id)
        return workflow

    async def _read_anywhere(self, workflow_id: UUID) -> ITemplateDAGInstance | None:
        cluster = Cluster(self.faust_app, self.partitions)
        deadline = asyncio.get_running_loop().time() + OWNER_READ_TIMEOUT
        while True:
            partitions = self.settled_partitions()
            workflow = await self._store.get_value_for_key(str(workflow_id))
            if workflow is not None or len(partitions) == self.partitions:
                return workflow
            lookup = await cluster.find_workflow(workflow_id, partitions)
            if lookup.payload is not None:
                return codec.loads(lookup.payload, expected=ITemplateDAGInstance)
            problem = unanswered(lookup.silences, lookup.coverage)
            if problem is None:
                return None
            if asyncio.get_running_loop().time() >= deadline:
                raise WorkflowUnavailable(
                    f"workflow {workflow_id} is not on this worker and no other answered for it within "
                    f"{OWNER_READ_TIMEOUT:g} s: {problem}"
                )
            await asyncio.sleep(OWNER_READ_RETRY)

    def get_instance_payload(self, id: UUID) -> bytes | None:
        """Return the stored JSON of workflow ``id`` if this worker holds it, else None."""
        found = self._store.find_workflow(str(id))
        return None if found is None else found[1]

    async def _on_tasks_message(self, message: Any) -> None:
        """A message on the tasks topic: store a created workflow, start a submitted one, or stop one."""
        kind = headers_of(message).get(KIND)
        if kind == STOP:
            await self._stop_requested(message)
            return
        try:
            workflow = codec.loads(message.value, expected=ITask, strict=True)
        except Exception as error:
            await self.dead_letters.send(message, UNDECODABLE, f"not a workflow: {type(error).__name__}: {error}")
            return
        if not isinstance(workflow, ITemplateDAGInstance):
            await self.dead_letters.send(message, MALFORMED, f"a {type(workflow).__name__}, not a workflow")
            return
        try:
            await self._store_and_create_task(workflow, submission=kind == SUBMIT)
        except Exception:
            logger.exception("Creating workflow %s from %s failed", workflow.id, where(message))

    async def _store_and_create_task(self, task: ITask, *, submission: bool = False) -> ITemplateDAGInstance | None:
        """Store a created workflow unless one with its id exists, and start it when SUBMITTED.

        A stored NOT_STARTED workflow starts when it arrives again SUBMITTED; any other stored workflow
        is returned unchanged, marked as found by a repeated creation, which is logged at INFO (a
        ``submission`` of it, which follows a creation, at DEBUG). On a worker that does not own the
        workflow it is sent to its owner instead.
        """
        if not isinstance(task, ITemplateDAGInstance):
            return None
        partition = self.partition_of(task)
        if not self.owns(partition):
            headers = {KIND: SUBMIT} if submission else None
            await self.tasks_topic.send(key=workflow_key(task), value=task, headers=headers)
            return None
        async with self._locks(task.id):
            stored = self._store.load_workflow(partition, str(task.id))
            workflow = task
            if stored is not None:
                workflow = stored
                if not (_is(workflow, TaskStatusEnum.NOT_STARTED) and _is(task, TaskStatusEnum.SUBMITTED)):
                    _log_repeated(workflow, submission)
                    mark_found_stored(workflow)
                    return workflow
                workflow.status = task.status
            async with unit_of_work(self._commit):
                if stored is None:
                    await self._register_listeners(workflow)
                self._schedule_timers(partition, workflow)
                if _is(workflow, TaskStatusEnum.SUBMITTED):
                    await workflow.start(workflow_instance=workflow)
                record_change(workflow)
            return workflow

    async def _stop_instance(
        self, workflow: ITemplateDAGInstance, runtime_parameters: dict[str, str] | None = None
    ) -> None:
        """Stop ``workflow``: in place while one of its events is handled, else on its owner, on its stored state.

        On the owner, ``workflow`` is brought up to the stopped state; elsewhere the stop is sent to the owner.
        """
        if in_unit_of_work():
            await workflow._halt(runtime_parameters)
            return
        partition = self.partition_of(workflow)
        if not self.owns(partition):
            await self.tasks_topic.send(
                key=workflow_key(workflow), value=encode_stop(workflow.id, runtime_parameters), headers={KIND: STOP}
            )
            return
        stopped = await self._stop_stored(partition, workflow.id, runtime_parameters)
        if stopped is not None:
            for name in type(stopped)._options.fields:
                setattr(workflow, name, getattr(stopped, name))

    async def _stop_requested(self, message: Any) -> None:
        """Stop the workflow named by a stop request on the tasks topic."""
        try:
            workflow_id, runtime_parameters = decode_stop(message.value)
        except ValueError as error:
            await self.dead_letters.send(message, MALFORMED, f"stop request: {error}")
            return
        await self._stop_stored(message.partition, workflow_id, runtime_parameters)

    async def _stop_stored(
        self, partition: int, workflow_id: UUID, runtime_parameters: dict[str, str] | None = None
    ) -> ITemplateDAGInstance | None:
        """Stop the stored workflow ``workflow_id`` of ``partition`` under its lock; return it, or None if absent."""
        async with self._locks(workflow_id):
            workflow = self._store.load_workflow(partition, str(workflow_id))
            if workflow is None:
                logger.warning("Workflow %s to stop is not stored", workflow_id)
                return None
            async with unit_of_work(self._commit):
                await workflow._halt(runtime_parameters)
            return workflow

    def _schedule_timers(self, partition: int, workflow: ITemplateDAGInstance) -> None:
        for task in workflow.tasks.values():
            if isinstance(task, TriggerTask) and task.time_to_execute and not is_terminal(task.status.code):
                self._store.triggers.add(partition, trigger_of(task, workflow))

    async def _update_instance(self, task: ITemplateDAGInstance | None) -> None:
        """Save a changed workflow: once at the end of the event being handled, or now outside one."""
        if task is not None and not record_change(task):
            await self._store_root_template_instance(task)

    async def _store_root_template_instance(self, workflow_instance: ITemplateDAGInstance) -> None:
        """Save ``workflow_instance`` now, if this worker owns it."""
        if not self.owns(self.partition_of(workflow_instance)):
            logger.error("Workflow %s belongs to another worker; this change is not saved", workflow_instance.id)
            return
        await self._store.insert_key_value(str(workflow_instance.id), workflow_instance)

    async def _remove_root_template_instance(self, workflow_instance: ITemplateDAGInstance) -> None:
        """Delete a finished workflow (``delete_workflow_on_complete``), after the event that finished it."""
        if not record_deletion(workflow_instance):
            await self._commit(Changes(deleted={workflow_instance.id: workflow_instance}))

    async def _commit(self, changes: Changes) -> None:
        """Save the changed workflows and delete the deleted ones, publishing each, in one write.

        What must only happen after the save (``changes.afterwards``) waits until the save is durable.
        """
        records = [(workflow, await self._store.stamp_and_publish(workflow)) for workflow in changes.changed.values()]
        for workflow in changes.deleted.values():
            await self._store.stamp_and_publish(workflow)
        acknowledgements = await self._store.write_workflows(
            [*records, *((workflow, None) for workflow in changes.deleted.values())]
        )
        if changes.afterwards:
            await asyncio.gather(*acknowledgements)

    async def _publish_update(self, workflow: ITemplateDAGInstance, payload: bytes) -> None:
        """Send a saved workflow to ``task_update_topic`` and the update callbacks."""
        if self.task_update_topic is not None:
            await self.task_update_topic.send(key=workflow_key(workflow), value=payload)
        for callback in self.task_update_callbacks:
            try:
                await callback(workflow)
            except Exception:
                logger.exception("Update callback %r failed for workflow %s", callback, workflow.id)

    # listeners and correlation
    async def _deliver(self, topic: str, partition: int, workflow_id: UUID, task_id: UUID, payload: Any) -> bool | None:
        """Hand ``payload`` from listener topic ``topic`` to a waiting task and save its workflow; None if the
        workflow or task is gone. A task that raises leaves the workflow unchanged, and the error propagates."""
        async with self._locks(workflow_id):
            workflow = self._store.load_workflow(partition, str(workflow_id))
            if workflow is None:
                return None
            task = workflow.get_task(task_id)
            if task is None:
                return None
            async with unit_of_work(self._commit):
                return await deliver_message(topic, workflow, task, payload)

    async def _insert_correletable_key_task(
        self, task_instance: ITask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        """Register a listener under the current value of its correlation attribute."""
        value = workflow_instance.runtime_parameters.get(task_instance.correlatable_key)  # type: ignore[arg-type]
        await self.update_correletable_key_for_task(
            task_instance, None if value is None else str(value), new_task=True, workflow_instance=workflow_instance
        )

    async def update_correletable_key_for_task(
        self,
        task_instance: ITask,
        key: str | None = None,
        new_task: bool = False,
        workflow_instance: ITemplateDAGInstance | None = None,
    ) -> None:
        """Register ``task_instance`` under correlation value ``key``, first removing its earlier key.

        With no value (``None``) the task waits on nothing.
        """
        if workflow_instance is None:
            logger.error("No workflow given; correlation of task %s not updated", task_instance.id)
            return
        if not new_task:
            registered = workflow_instance.sensor_tasks_to_correletable_map.get(task_instance.id)
            if registered is not None and registered.correlatable_key_attr_value == key:
                return
            await self.remove_task_from_correletable_keys_table(task_instance, workflow_instance)
        workflow_instance.sensor_tasks_to_correletable_map[task_instance.id] = CorrelatableMapValue(
            correlatable_key_attr=task_instance.correlatable_key, correlatable_key_attr_value=key
        )
        if key is not None and not being_created(workflow_instance.id):
            await self._register(workflow_instance, task_instance.id, task_instance.topic, key)

    async def _register(self, workflow: ITemplateDAGInstance, task_id: UUID, topic: str, value: str) -> None:
        entry = CorreletableLookUpKey(workflow_id=workflow.id, task_id=task_id, partition_key=workflow_key(workflow))
        await self._router.update_index(True, value, topic, entry)

    async def _register_listeners(self, workflow: ITemplateDAGInstance) -> None:
        """Register every listener of a workflow being stored for the first time in the correlation index."""
        for task_id, registered in workflow.sensor_tasks_to_correletable_map.items():
            task = workflow.get_task(task_id)
            if task is not None and registered.correlatable_key_attr_value is not None:
                await self._register(workflow, task_id, task.topic, registered.correlatable_key_attr_value)

    async def remove_task_from_correletable_keys_table(
        self, task: ITask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        """Unregister ``task`` from the correlation value it waits on."""
        registered = workflow_instance.sensor_tasks_to_correletable_map.get(task.id)
        if registered is None or registered.correlatable_key_attr_value is None:
            return
        entry = CorreletableLookUpKey(workflow_id=workflow_instance.id, task_id=task.id)
        remove = partial(self._router.update_index, False, registered.correlatable_key_attr_value, task.topic, entry)
        if not after_commit(remove):
            await remove()

    async def chunk_and_store_correlatable_tasks(
        self, cor_instance: CorreletableKeyTasks, value: UUID, workflow_id: UUID
    ) -> None:
        """Register task ``value`` of workflow ``workflow_id`` in the chain of index chunks ``cor_instance`` is part of.

        The entry goes to the last chunk of the chain, or to a new chunk linked after it when that one holds
        ``max_correletable_keys_in_values`` entries, on the worker that owns the chain. The workflow's
        partition key, which routes the messages found through the entry, is read from the workflow when
        this worker holds it.
        """
        workflow = await self._store.get_value_for_key(str(workflow_id))
        partition_key = None if workflow is None else workflow_key(workflow)
        entry = CorreletableLookUpKey(workflow_id=workflow_id, task_id=value, partition_key=partition_key)
        await self._update_index_chain(True, cor_instance.key, [entry])

    async def persist_tasks_ids_for_correletable_keys(
        self, lookup_keys: Iterable[CorreletableLookUpKey], cor_instances: list[CorreletableKeyTasks]
    ) -> None:
        """Make the chain of index chunks ``cor_instances`` (head first) hold exactly the tasks of ``lookup_keys``.

        Its entries whose task is not in ``lookup_keys`` are removed (a chunk left empty is dropped) and the
        entries of ``lookup_keys`` it lacks are added, on the worker that owns the chain.
        """
        if not cor_instances:
            logger.error("No correlation index chunks given; nothing persisted")
            return
        wanted = {(entry.workflow_id, entry.task_id): entry for entry in lookup_keys}
        held = {(entry.workflow_id, entry.task_id): entry for chunk in cor_instances for entry in chunk.lookup_keys}
        head = cor_instances[0].key
        await self._update_index_chain(False, head, [entry for task, entry in held.items() if task not in wanted])
        await self._update_index_chain(True, head, [entry for task, entry in wanted.items() if task not in held])

    async def _update_index_chain(self, add: bool, key: str | None, entries: list[CorreletableLookUpKey]) -> None:
        """Add or remove ``entries`` in the chain of index chunks stored under ``key``.

        A listener's key (``<value>_<topic>``) is updated on the owner of its value; any other key (an
        overflow chunk's) where this worker holds it.
        """
        located = split_lookup_key(key, self._router.listeners) if key else None
        if located is not None:
            for entry in entries:
                await self._router.update_index(add, located[0], located[1], entry)
            return
        index = self._store.correlations
        partition = index.holder(self.owned_partitions(), key) if key else None
        if key is None or partition is None:
            if entries:
                logger.error("No listener's index chain is stored under %r here; the index is unchanged", key)
            return
        for entry in entries:
            index.update(partition, key, add, entry)

    async def get_correletable_key_instances(self, cor_instance: CorreletableKeyTasks) -> list[CorreletableKeyTasks]:
        """Return the chunks stored under ``cor_instance.key`` in the partitions this worker owns."""
        return [
            chunk
            for partition in self.owned_partitions()
            for chunk in self._store.correlations.chunks(partition, str(cor_instance.key))
        ]

    async def _get_tasks_by_correlatable_key(
        self, lookup_key: tuple[str, str], get_completed: bool = False
    ) -> AsyncIterator[tuple[ITemplateDAGInstance, ITask]]:
        """Yield the ``(workflow, task)`` pairs waiting on index key ``lookup_key[1]`` on this worker."""
        for partition in self.owned_partitions():
            for entry in self._store.correlations.entries(partition, lookup_key[1]):
                workflow = await self._store.get_value_for_key(str(entry.workflow_id))
                task = None if workflow is None else workflow.get_task(entry.task_id)
                if (
                    workflow is not None
                    and task is not None
                    and (get_completed or not _is(workflow, TaskStatusEnum.COMPLETED))
                ):
                    yield workflow, task

    async def get_monitoring_task(self, task: ITask, workflow_instance: ITemplateDAGInstance) -> MonitoringTask | None:
        """Return the monitoring task of ``task`` (a monitored process) in ``workflow_instance``, or None."""
        monitoring_task_id = getattr(task, "monitoring_task_id", None)
        monitor = None if monitoring_task_id is None else workflow_instance.get_task(monitoring_task_id)
        return monitor if isinstance(monitor, MonitoringTask) else None

    # timers
    async def _store_trigger_instance(
        self, task_instance: TriggerTask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        """Schedule the timer of a trigger task."""
        await self._store.store_trigger_instance(task_instance, workflow_instance)

    async def _process_system_timer_task(self) -> None:
        """The timer tick: fire the due triggers of the partitions this worker owns.

        Nothing fires while partitions move or the tables recover: their state is not complete yet.
        """
        async with self._tick_lock:
            if not self._tables_ready():
                return
            try:
                await self._store.execute_system_timer_task()
            except Exception:
                logger.exception("Timer tick failed; the due timers wait for the next one")

    async def _on_rebalance_complete(self, *args: Any, **kwargs: Any) -> None:
        """Once partitions are assigned and recovered, before faust seeks them to their committed offsets.

        Nothing is handed to a stream until faust has sought, and partitions without a committed offset
        go back to their first offset (:mod:`dagger.service._rewind`). With ``restart_tasks_on_boot``,
        what is due fires at once: timers that fell due while no worker held their partition (a worker
        died, or this one was down) then run now rather than at the next tick.
        """
        hold_flow_until_seek(self.faust_app)
        try:
            rewound = await rewind_uncommitted(self.faust_app)
        except Exception as error:
            logger.warning("Partitions without a committed offset were not rewound: %r", error)
        else:
            if rewound:
                logger.info("Read from their first offset, having no committed offset: %s", rewound)
        if self.restart_tasks_on_boot:
            self.add_future(self._fire_due_when_ready())

    async def _fire_due_when_ready(self) -> None:
        while not self._tables_ready():
            if self.should_stop:
                return
            await asyncio.sleep(0.1)
        await self._process_system_timer_task()

    async def _recover_past_commit_markers(self) -> None:
        """Under exactly-once, every second: end the recovery of changelog partitions read up to a commit marker."""
        past_markers = PastCommitMarkers(self.faust_app)
        while not self.should_stop:
            await asyncio.sleep(1.0)
            try:
                marked = await past_markers()
            except Exception as error:
                logger.warning("Changelog partitions ending in a commit marker were not checked: %r", error)
            else:
                if marked:
                    logger.info("Recovered up to their closing commit marker: %s", marked)

    def _in_transaction(self) -> AbstractAsyncContextManager[None]:
        """Work outside any consumed event (a due timer) inside a transaction under exactly-once."""
        return nullcontext() if self._transactions is None else self._transactions.handling()

    def _tables_ready(self) -> bool:
        """Whether the tables can be used: partitions settled, tables recovered, the engine not stopping."""
        app = self.faust_app
        return not (self.should_stop or app.rebalancing or getattr(app, "in_recovery", False))

    async def _fire_trigger(self, trigger: Trigger) -> None:
        """Run the task of a due trigger on its workflow and save the workflow.

        A trigger whose task has not started yet is dropped: the task schedules it again when it starts.
        """
        async with self._in_transaction(), self._locks(trigger.workflow_id):  # type: ignore[arg-type]
            found = self._store.find_workflow(str(trigger.workflow_id))
            if found is None:
                await self._store.remove_trigger(trigger)
                return
            partition = found[0]
            workflow = codec.loads(found[1], expected=ITemplateDAGInstance, strict=True)
            task = workflow.get_task(trigger.id)
            if task is None or not _is(task, TaskStatusEnum.EXECUTING):
                self._store.triggers.remove(partition, trigger.workflow_id, trigger.id)  # type: ignore[arg-type]
                return
            async with unit_of_work(self._commit):
                await task.start(workflow_instance=workflow)
                record_change(workflow)
            if is_terminal(task.status.code):
                self._store.triggers.remove(partition, trigger.workflow_id, trigger.id)  # type: ignore[arg-type]


attach(Dagger)


def _as_engine(dagger: Dagger) -> Engine:
    """What the model may ask of the engine, ``Dagger`` has: mypy checks it here."""
    return dagger


def _is(task: ITask, status: TaskStatusEnum) -> bool:
    return task.status.code == status.name


def _log_repeated(workflow: ITemplateDAGInstance, submission: bool) -> None:
    """Log that a workflow arrived again: a repeated creation at INFO, the submission after it at DEBUG."""
    if submission:
        logger.debug(
            "Workflow %s is already %s; submitting it again changes nothing", workflow.id, workflow.status.code
        )
    else:
        logger.info(
            "Workflow %s is already stored (%s); the repeated creation changes nothing",
            workflow.id,
            workflow.status.code,
        )


class TaskDTO(ITask, namespace="dagger.service.services.TaskDTO"):
    """A task listed with its child tasks (the reference's record; the engine itself does not use it)."""

    child_tasks: list[ITask] = []
