"""The engine's running parts: the faust app, the engine's topics and agents, the collaborators the work is
handed to, and the service's lifecycle.

:class:`Worker` is the base of :class:`dagger.service.services.Dagger`, which adds the reference's public
methods on top and sets, from its options, the attributes declared here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, ClassVar

import faust
import mode
from faust.types import TopicT

from dagger.executor.executor import SerialExecutorStrategy
from dagger.service._committed_recovery import recover_past_commit_markers
from dagger.service._correlation import Correlation
from dagger.service._dead_letters import DeadLetters
from dagger.service._discovery import discover, discovers
from dagger.service._engine_topics import EngineTopicNames, EngineTopics
from dagger.service._listeners import topic_name
from dagger.service._memory_release import RELEASE_INTERVAL, release_freed_memory
from dagger.service._options import broker_setting
from dagger.service._partitions import key_partitioner
from dagger.service._persistence import UpdateCallback, UpdatePublisher, WorkflowPersistence
from dagger.service._placement import Placement
from dagger.service._reading import WorkflowReader
from dagger.service._requests import WorkflowRequests
from dagger.service._rewind import hold_flow_until_seek, rewind_uncommitted_on_seek
from dagger.service._routing import EventRouter, RouterTopics, where
from dagger.service._sending import DaggerTopic
from dagger.service._streams import DaggerStream
from dagger.service._timers import Timers
from dagger.service._transactions import Transactions, current_transactions
from dagger.service._views import service_blueprint, tasks_blueprint
from dagger.service.engineconfig import EngineConfig
from dagger.store.stores import RocksDBStore, StoreContext
from dagger.tasks.task import ITemplateDAGInstance, KafkaListenerTask

logger = logging.getLogger("dagger.service.services")


class Worker(mode.Service):
    """The engine as a running service: what it is built from and how it starts and stops."""

    topics: ClassVar[dict[str, TopicT]]
    config: EngineConfig
    kafka_broker_list: Any
    logging_config: Any
    max_tasks_per_trigger: int
    max_correletable_keys_in_values: int
    max_listener_message_bytes: int
    largest_message: int
    enable_changelog: bool
    exactly_once: bool
    restart_tasks_on_boot: bool
    trigger_interval: float
    task_update_callbacks: list[UpdateCallback]
    _without_effect: list[str]
    _discovered: bool
    started_flag: bool

    def _build(self, datadir: str | None, kwargs: dict[str, Any], names: EngineTopicNames, sensors: list[Any]) -> None:
        """Create the faust app, the engine's topics, the store and the collaborators, and start consuming."""
        self._transactions: Transactions | None = None
        self.faust_app = self._create_faust_app(datadir, **kwargs)
        self.add_dependency(self.faust_app)
        self._placement = Placement(self.faust_app, names.tasks, self.partitions, lambda: self.should_stop)
        self._declare_engine_topics(names)
        for sensor in sensors:
            self.faust_app.sensors.add(sensor)
        self._wire_collaborators()
        self._consume_engine_topics()
        self.faust_app.timer(interval=self.trigger_interval)(self._process_system_timer_task)
        self.faust_app.timer(interval=RELEASE_INTERVAL)(release_freed_memory)
        self.faust_app.on_rebalance_complete.connect(self._on_rebalance_complete)

    def _wire_collaborators(self) -> None:
        """Create the store and the collaborators the engine hands its work to; each is given what it uses."""
        context = StoreContext(
            faust_app=self.faust_app,
            placement=self._placement,
            publish=UpdatePublisher(self.task_update_topic, self.task_update_callbacks),
            tick=self._process_system_timer_task,
            transaction=current_transactions,
            max_due_per_tick=self.max_tasks_per_trigger,
            max_entries_per_chunk=self.max_correletable_keys_in_values,
        )
        self._store = RocksDBStore(self, context=context)
        self._store.initialize()
        self._store.enable_changelog = self.enable_changelog
        self._persistence = WorkflowPersistence(self._store, self._placement, self.add_future)
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
            self.tasks_topic, self._placement, self._persistence, self._timers, self._correlation, self.dead_letters
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
            "producer_partitioner": key_partitioner,
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

    def _declare_engine_topics(self, names: EngineTopicNames) -> None:
        self._topics = EngineTopics(self.faust_app, self.config.APPLICATION_NAME, self.partitions, names)
        self.tasks_topic = self._topics.tasks
        self.bootstrap_topic = self._topics.bootstrap
        self.task_update_topic = self._topics.updates
        self.correlation_topic = self._topics.correlation
        self.delivery_topic = self._topics.delivery
        self.dead_letter_topic = self._topics.dead_letters
        self.dead_letters = DeadLetters(self.dead_letter_topic, self.max_listener_message_bytes)

    def _consume_engine_topics(self) -> None:
        app = self.faust_app
        for topic, handle in (
            (self.tasks_topic, self._requests.on_tasks_message),
            (self.correlation_topic, self._router.on_correlation_message),
            (self.delivery_topic, self._router.on_delivery_message),
        ):
            app.agent(topic, name=topic.get_topic_name())(self._consume(handle))

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
        """Say which of the given options have no effect, import the application's definitions, and make every
        seek of faust's consumer to the committed offsets rewind the partitions that have none
        (:mod:`dagger.service._rewind`)."""
        for problem in self._without_effect:
            logger.warning(problem)
        self._discover_templates()
        rewind_uncommitted_on_seek(self.faust_app)

    def _discover_templates(self) -> None:
        """Import every module of ``package_name``, once, so that their ``@Dagger.register_template`` run."""
        if not self._discovered:
            self._discovered = True
            discover(self.faust_app)

    async def on_start(self) -> None:
        """Create every topic the engine and the application declared, before anything consumes them."""
        listener_topics = [listener.topic for listener in self._router.listeners.values()]
        await self._topics.create([*type(self).topics.values(), *listener_topics], self.largest_message)
        if self.exactly_once:
            self._transactions = Transactions.of_worker(self.faust_app, self.faust_app.crash)
            await self._transactions.start()
            self.add_future(recover_past_commit_markers(self.faust_app, lambda: self.should_stop))

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

        Nothing is handed to a stream until faust has sought (:mod:`dagger.service._rewind`). With
        ``restart_tasks_on_boot``, what is due fires at once: timers that fell due while no worker held
        their partition (a worker died, or this one was down) then run now rather than at the next tick.
        """
        hold_flow_until_seek(self.faust_app)
        if self.restart_tasks_on_boot:
            self.add_future(self._timers.tick_when_ready())

    def _in_transaction(self) -> AbstractAsyncContextManager[None]:
        """Work outside any consumed event (a due timer) inside a transaction under exactly-once."""
        return nullcontext() if self._transactions is None else self._transactions.handling()

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
        await self._router.on_payload(topic_name(topic), payload)

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

    async def _process_system_timer_task(self) -> None:
        """The timer tick: fire the due triggers of the partitions this worker owns."""
        await self._timers.tick()
