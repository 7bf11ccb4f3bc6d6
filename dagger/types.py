"""What the workflow model may ask of the engine, and what a store is handed by it, stated as protocols.

Tasks, templates and the executor reach the running engine through :func:`dagger.tasks._engine.engine`
(the reference's ``Dagger.app``) and ask it only what :class:`Engine` lists: to save a workflow, to
schedule or unschedule a timer, to register a listener under its correlation value, to stop or delete a
workflow, to store a created one, to declare a topic and to consume a listener topic. The names are the reference's,
private ones included, because application code and the reference's own tests replace exactly these
on ``Dagger.app``. :class:`dagger.service.services.Dagger` implements the protocol and mypy checks
that it does; the model imports this module, never the engine.

:class:`Placement` is what the engine tells a store about partitions: how many there are, which of them
this worker owns, and which one holds a workflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from dagger.tasks.task import ITask, ITemplateDAGInstance, KafkaListenerTask, TriggerTask


class Placement(Protocol):
    """The partitions of the engine's topics and tables, and which of them this worker owns."""

    @property
    def partitions(self) -> int:
        """How many partitions there are."""

    def owned_partitions(self) -> list[int]:
        """The partitions this worker owns now, in order."""

    def owns(self, partition: int) -> bool:
        """Whether this worker owns ``partition`` now."""

    def partition_of(self, workflow: ITemplateDAGInstance) -> int:
        """The partition that holds ``workflow``."""

    def partition_of_key(self, key: str) -> int:
        """The partition of ``key``: a workflow's partition key, or a correlation value."""


class TimerStore(Protocol):
    """The part of the engine's store the model's timer tasks use."""

    async def execute_system_timer_task(self) -> None:
        """Fire the timers that are due."""

    async def process_trigger_task_complete(self, task: ITask, wokflow_instance: ITemplateDAGInstance | None) -> None:
        """Unschedule the timer of a trigger task that has completed."""


class Engine(Protocol):
    """What the workflow model asks of the running engine."""

    delete_workflow_on_complete: bool
    tasks_topic: Any

    @property
    def _store(self) -> TimerStore:
        """The engine's store, as far as timer tasks use it."""

    async def _update_instance(self, task: ITemplateDAGInstance | None) -> None:
        """Save a changed workflow (at the end of the event being handled, or now)."""

    async def _store_and_create_task(self, task: ITask, *, submission: bool = False) -> ITemplateDAGInstance | None:
        """Store a created workflow, and start it when submitted, on the worker that owns it."""

    async def _stop_instance(
        self, workflow: ITemplateDAGInstance, runtime_parameters: dict[str, str] | None = None
    ) -> None:
        """Stop a workflow on the worker that owns it."""

    async def _remove_root_template_instance(self, workflow_instance: ITemplateDAGInstance) -> None:
        """Delete a finished workflow."""

    async def _store_trigger_instance(
        self, task_instance: TriggerTask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        """Schedule the timer of a trigger task."""

    async def _insert_correletable_key_task(
        self, task_instance: ITask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        """Register a new listener under the current value of its correlation attribute."""

    async def update_correletable_key_for_task(
        self,
        task_instance: ITask,
        key: str | None = None,
        new_task: bool = False,
        workflow_instance: ITemplateDAGInstance | None = None,
    ) -> None:
        """Register a listener under correlation value ``key`` (None: under none)."""

    async def remove_task_from_correletable_keys_table(
        self, task: ITask, workflow_instance: ITemplateDAGInstance
    ) -> None:
        """Unregister a listener from the correlation value it waits on."""

    async def route_listener_payload(self, topic: Any, payload: Any) -> None:
        """Hand a decoded message of listener topic ``topic`` to the tasks waiting for it, as the engine's own
        consumer of that topic does."""

    def declare_listener(self, topic: Any, listener_type: type[KafkaListenerTask], concurrency: int = 1) -> None:
        """Consume ``topic`` for listener tasks of ``listener_type``."""

    def add_topic(self, topic_name: str, topic: Any) -> None:
        """Make ``topic`` known by ``topic_name``."""

    def create_topic(
        self,
        topic_name: str,
        key_type: Any | None = None,
        value_type: Any | None = None,
        key_serializer: Any | None = None,
        value_serializer: Any | None = None,
    ) -> Any:
        """Return the topic ``topic_name``, declaring it on first use."""
