"""The Dagger service: the engine behind ``Dagger.app`` and the registry of workflow definitions.

:class:`Dagger` is the public face: it takes the reference's options and answers the reference's methods
by handing them on to the engine's collaborators, which its base :class:`~dagger.service._worker.Worker`
wires and runs, each in its own module (``docs/architecture.md``):
placement of partitions (:mod:`._placement`), workflow persistence (:mod:`._persistence`), requests to
create, start and stop workflows (:mod:`._requests`), timers (:mod:`._timers`), correlation
(:mod:`._correlation`), the path of a listener message (:mod:`._routing`), reading a workflow from
any worker (:mod:`._reading`) and the REST views (:mod:`._views`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, ClassVar
from uuid import UUID

from faust.types import TopicT

from dagger.exceptions.exceptions import TemplateDoesNotExist
from dagger.service._engine_topics import EngineTopicNames
from dagger.service._message_limits import largest_message, size_clients
from dagger.service._options import CHANGELOG_ALWAYS, schema_registry
from dagger.service._persistence import UpdateCallback
from dagger.service._reading import OWNER_READ_TIMEOUT
from dagger.service._views import (
    DagProcessView,
    ServiceStateView,
    TemplateProcessView,
    service_blueprint,
    tasks_blueprint,
)
from dagger.service._worker import Worker
from dagger.service.engineconfig import AerospikeConfig, EngineConfig, StoreEnum
from dagger.tasks._engine import attach
from dagger.tasks.task import (
    CorreletableKeyTasks,
    CorreletableLookUpKey,
    ITask,
    ITemplateDAGInstance,
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


class Dagger(Worker):
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
        self.dd_sensor = datadog_sensor
        super().__init__(beacon=beacon, loop=loop)
        Dagger.app = self
        Dagger.topics = {}
        self._build(
            datadir,
            kwargs,
            EngineTopicNames(tasks_topic, bootstrap_topic, task_update_topic, dead_letter_topic),
            [sensor for sensor in (tracing_sensor, datadog_sensor) if sensor is not None],
        )

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


attach(Dagger)


def _as_engine(dagger: Dagger) -> Engine:
    """What the model may ask of the engine, ``Dagger`` has: mypy checks it here."""
    return dagger


class TaskDTO(ITask, namespace="dagger.service.services.TaskDTO"):
    """A task listed with its child tasks (the reference's record; the engine itself does not use it)."""

    child_tasks: list[ITask] = []
