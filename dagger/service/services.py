"""The Dagger service: the engine behind ``Dagger.app`` and the registry of workflow definitions.

:class:`Dagger` is the public face: it wires faust and the engine's collaborators, each in its own
module, and answers the reference's methods by handing them on (``docs/architecture.md``):
placement of partitions (:mod:`._placement`), workflow persistence (:mod:`._persistence`), requests to
create, start and stop workflows (:mod:`._requests`), timers (:mod:`._timers`), correlation
(:mod:`._correlation`), the path of a listener message (:mod:`._routing`), reading a workflow from
any worker (:mod:`._reading`) and the REST views (:mod:`._views`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, ClassVar
from uuid import UUID

import faust
import mode
from faust.types import TopicT

from dagger.exceptions.exceptions import TemplateDoesNotExist
from dagger.executor.executor import SerialExecutorStrategy
from dagger.service._committed_recovery import PastCommitMarkers
from dagger.service._correlation import Correlation
from dagger.service._dead_letters import DeadLetters
from dagger.service._discovery import discover, discovers
from dagger.service._memory_release import RELEASE_INTERVAL, release_freed_memory
from dagger.service._message_limits import largest_message, size_clients, too_small
from dagger.service._options import CHANGELOG_ALWAYS, broker_setting, schema_registry
from dagger.service._persistence import UpdateCallback, UpdatePublisher, WorkflowPersistence
from dagger.service._placement import Placement
from dagger.service._reading import OWNER_READ_TIMEOUT, WorkflowReader
from dagger.service._requests import WorkflowRequests
from dagger.service._rewind import hold_flow_until_seek, rewind_uncommitted
from dagger.service._routing import EventRouter, RouterTopics, where
from dagger.service._sending import DaggerTopic
from dagger.service._streams import DaggerStream
from dagger.service._timers import Timers
from dagger.service._topics import MAX_MESSAGE_BYTES, admin_client, bootstrap_servers, ensure_topics, message_limits
from dagger.service._transactions import Transactions, current_transactions
from dagger.service._views import (
    DagProcessView,
    ServiceStateView,
    TemplateProcessView,
    service_blueprint,
    tasks_blueprint,
)
from dagger.service.engineconfig import AerospikeConfig, EngineConfig, StoreEnum
from dagger.store.stores import RocksDBStore, StoreContext
from dagger.tasks._engine import attach
from dagger.tasks.task import (
    CorreletableKeyTasks,
    CorreletableLookUpKey,
    ITask,
    ITemplateDAGInstance,
    KafkaListenerTask,
    MonitoringTask,
    TriggerTask,
)
from dagger.templates.template import IProcessTemplateDAG, ITemplateDAG
from dagger.types import Engine

__all__ = [
    "OWNER_READ_TIMEOUT",
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
        self._placement = Placement(self.faust_app, tasks_topic, kafka_partitions, lambda: self.should_stop)
        self._declare_engine_topics(tasks_topic, bootstrap_topic, task_update_topic, dead_letter_topic)
        for sensor in (tracing_sensor, datadog_sensor):
            if sensor is not None:
                self.faust_app.sensors.add(sensor)
        self.dd_sensor = datadog_sensor
        self._wire_collaborators()
        self._consume_engine_topics()
        self.faust_app.timer(interval=trigger_interval)(self._process_system_timer_task)
        self.faust_app.timer(interval=RELEASE_INTERVAL)(release_freed_memory)
        self.faust_app.on_rebalance_complete.connect(self._on_rebalance_complete)

    def _wire_collaborators(self) -> None:
        """Create the store and the collaborators the engine hands its work to; each is given what it uses."""
        publish = UpdatePublisher(self.task_update_topic, self.task_update_callbacks)
        context = StoreContext(
            faust_app=self.faust_app,
            placement=self._placement,
            publish=publish,
            tick=self._process_system_timer_task,
            transaction=current_transactions,
            max_due_per_tick=self.max_tasks_per_trigger,
            max_entries_per_chunk=self.max_correletable_keys_in_values,
        )
        self._store = RocksDBStore(self, context=context)
        self._store.initialize()
        self._store.enable_changelog = self.enable_changelog
        self._persistence = WorkflowPersistence(self._store, self._placement, publish)
        self._timers = Timers(self._store, self._placement, self._persistence, self._in_transaction)
        self._router = EventRouter(
            placement=self._placement,
            index=self._store.correlations,
            workflows=self._persistence,
            topics=RouterTopics(correlation=self.correlation_topic, delivery=self.delivery_topic),
            dead_letters=self.dead_letters,
            serializers=self.faust_app.serializers,
            max_listener_message_bytes=self.max_listener_message_bytes,
            background=self.add_future,
        )
        self._correlation = Correlation(
            self._store.correlations, self._placement, self._router, self._store.get_value_for_key
        )
        self._requests = WorkflowRequests(
            tasks_topic=self.tasks_topic,
            placement=self._placement,
            persistence=self._persistence,
            timers=self._timers,
            correlation=self._correlation,
            dead_letters=self.dead_letters,
        )
        self._reader = WorkflowReader(self.faust_app, self._store, self._placement)
        self._execution_strategy = SerialExecutorStrategy(self)

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

    def _consume_engine_topics(self) -> None:
        app, name = self.faust_app, self.config.APPLICATION_NAME
        app.agent(self.tasks_topic, name=self.tasks_topic.get_topic_name())(
            self._consume(self._requests.on_tasks_message)
        )
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
        async with self._timers.ticking:
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
            self.add_future(self._timers.tick_when_ready())

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
        listener = self._router.declare(topic, listener_type, concurrency)
        if listener is not None:
            name = listener.name
            raw = self.faust_app.topic(
                name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
            )
            self.faust_app.agent(raw, name=f"dagger-listener-{name}", concurrency=concurrency)(
                self._consume(lambda message: self._router.on_listener_message(listener, message))
            )

    async def route_listener_payload(self, topic: Any, payload: Any) -> None:
        """Hand a decoded message of listener topic ``topic`` (a topic or its name) to the tasks waiting for it,
        as the engine's consumer of that topic does."""
        await self._router.on_payload(topic if isinstance(topic, str) else topic.get_topic_name(), payload)

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
        return self._placement.partition_of(workflow)

    def owned_partitions(self) -> list[int]:
        """The partitions this worker currently owns."""
        return self._placement.owned_partitions()

    def owns(self, partition: int) -> bool:
        """Whether this worker currently owns ``partition``."""
        return self._placement.owns(partition)

    def settled_partitions(self) -> list[int]:
        """The owned partitions whose tables are complete: none while partitions move or tables recover."""
        return self._placement.settled_partitions()

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
        workflow = await self._reader.read(id)
        if workflow is None and log:
            logger.warning("Workflow %s is not stored on any worker", id)
        return workflow

    def get_instance_payload(self, id: UUID) -> bytes | None:
        """Return the stored JSON of workflow ``id`` if this worker holds it, else None."""
        return self._reader.payload(id)

    async def _store_and_create_task(self, task: ITask, *, submission: bool = False) -> ITemplateDAGInstance | None:
        """Store a created workflow unless one with its id exists, and start it when SUBMITTED, on its owner."""
        if not isinstance(task, ITemplateDAGInstance):
            return None
        return await self._requests.store_and_start(task, submission=submission)

    async def _stop_instance(
        self, workflow: ITemplateDAGInstance, runtime_parameters: dict[str, str] | None = None
    ) -> None:
        """Stop ``workflow`` on the worker that owns it, bringing ``workflow`` up to the stopped state there."""
        await self._requests.stop(workflow, runtime_parameters)

    async def _update_instance(self, task: ITemplateDAGInstance | None) -> None:
        """Save a changed workflow: once at the end of the event being handled, or now outside one."""
        await self._persistence.save(task)

    async def _store_root_template_instance(self, workflow_instance: ITemplateDAGInstance) -> None:
        """Save ``workflow_instance`` now, if this worker owns it."""
        await self._persistence.save_now(workflow_instance)

    async def _remove_root_template_instance(self, workflow_instance: ITemplateDAGInstance) -> None:
        """Delete a finished workflow (``delete_workflow_on_complete``), after the event that finished it."""
        await self._persistence.delete(workflow_instance)

    # listeners and correlation
    async def _insert_correletable_key_task(
        self, task_instance: ITask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        """Register a listener under the current value of its correlation attribute."""
        await self._correlation.register_new(task_instance, workflow_instance)

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
        await self._correlation.register(task_instance, key, new_task, workflow_instance)

    async def remove_task_from_correletable_keys_table(
        self, task: ITask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        """Unregister ``task`` from the correlation value it waits on."""
        await self._correlation.unregister(task, workflow_instance)

    async def chunk_and_store_correlatable_tasks(
        self, cor_instance: CorreletableKeyTasks, value: UUID, workflow_id: UUID
    ) -> None:
        """Register task ``value`` of workflow ``workflow_id`` in the chain of index chunks ``cor_instance`` is part of.

        The entry goes to the last chunk of the chain, or to a new chunk linked after it when that one holds
        ``max_correletable_keys_in_values`` entries, on the worker that owns the chain.
        """
        await self._correlation.add_to_chain(cor_instance, value, workflow_id)

    async def persist_tasks_ids_for_correletable_keys(
        self, lookup_keys: Iterable[CorreletableLookUpKey], cor_instances: list[CorreletableKeyTasks]
    ) -> None:
        """Make the chain of index chunks ``cor_instances`` (head first) hold exactly the tasks of ``lookup_keys``.

        Its entries whose task is not in ``lookup_keys`` are removed (a chunk left empty is dropped) and the
        entries of ``lookup_keys`` it lacks are added, on the worker that owns the chain.
        """
        await self._correlation.replace_chain(lookup_keys, cor_instances)

    async def get_correletable_key_instances(self, cor_instance: CorreletableKeyTasks) -> list[CorreletableKeyTasks]:
        """Return the chunks stored under ``cor_instance.key`` in the partitions this worker owns."""
        return self._correlation.chunks(str(cor_instance.key))

    def _get_tasks_by_correlatable_key(
        self, lookup_key: tuple[str, str], get_completed: bool = False
    ) -> AsyncIterator[tuple[ITemplateDAGInstance, ITask]]:
        """Yield the ``(workflow, task)`` pairs waiting on index key ``lookup_key[1]`` on this worker."""
        return self._correlation.waiting(lookup_key[1], get_completed)

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
        self._timers.schedule(task_instance, workflow_instance)

    async def _process_system_timer_task(self) -> None:
        """The timer tick: fire the due triggers of the partitions this worker owns."""
        await self._timers.tick()


attach(Dagger)


def _as_engine(dagger: Dagger) -> Engine:
    """What the model may ask of the engine, ``Dagger`` has: mypy checks it here."""
    return dagger


class TaskDTO(ITask, namespace="dagger.service.services.TaskDTO"):
    """A task listed with its child tasks (the reference's record; the engine itself does not use it)."""

    child_tasks: list[ITask] = []
