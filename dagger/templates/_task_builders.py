"""Builders of task definitions, one per kind of task."""

from __future__ import annotations

from faust.types import TopicT
from mode import Service

from dagger.exceptions.exceptions import InvalidTaskType
from dagger.tasks.task import (
    DecisionTask,
    ITask,
    KafkaCommandTask,
    KafkaListenerTask,
    TaskOperator,
    TriggerTask,
)
from dagger.templates._interfaces import TaskTemplate, TaskTemplateBuilder
from dagger.templates._task_templates import (
    DefaultIntervalTaskTemplate,
    DefaultKafkaTaskTemplate,
    DefaultTaskTemplate,
    DefaultTriggerTaskTemplate,
    ParallelCompositeTaskTemplate,
)


def _require(task_type: type, family: type, builder: str) -> None:
    if not (isinstance(task_type, type) and issubclass(task_type, family)):
        raise InvalidTaskType(f"{builder} needs a subclass of {family.__name__}, got {task_type!r}")


class DefaultTaskTemplateBuilder(TaskTemplateBuilder):
    """Builds the definition of a plain executor (or any task that is not a Kafka command or listener)."""

    _type: type[ITask]

    def set_type(self, task_type: type[ITask]) -> TaskTemplateBuilder:
        """Set the task class; Kafka command and listener classes have builders of their own."""
        if isinstance(task_type, type) and issubclass(task_type, KafkaListenerTask | KafkaCommandTask):
            raise InvalidTaskType(f"{task_type.__name__} needs its Kafka task builder")
        self._type = task_type
        return self

    def set_name(self, name: str) -> TaskTemplateBuilder:
        """Set the task's name."""
        self.name = name
        return self

    def build(self) -> TaskTemplate:
        """Return the task definition."""
        return DefaultTaskTemplate(
            app=self.app,
            type=self._type,
            name=self.name,
            task_dag_template=self.task_dags,
            allow_skip_to=self.allow_skip_to,
            reprocess_on_message=self.reprocess_on_message,
        )


class ParallelCompositeTaskTemplateBuilder(DefaultTaskTemplateBuilder):
    """Builds a parallel composite task starting with ``no_of_parallel_tasks`` copies of ``task_template``."""

    def __init__(self, app: Service, no_of_parallel_tasks: int, task_template: TaskTemplate) -> None:
        super().__init__(app)
        self.parallel_tasks = self.get_parallel_tasks_templates(no_of_parallel_tasks, task_template)
        self.operator_type = TaskOperator.JOIN_ALL

    def add_parallel_task(self, task_template: TaskTemplate) -> ParallelCompositeTaskTemplateBuilder:
        """Add one more child definition."""
        self.parallel_tasks.append(task_template)
        return self

    def get_parallel_tasks_templates(
        self, no_of_parallel_tasks: int, task_template: TaskTemplate
    ) -> list[TaskTemplate]:
        """Return ``no_of_parallel_tasks`` references to ``task_template``."""
        return [task_template] * no_of_parallel_tasks

    def set_task_operator(self, operator: TaskOperator) -> ParallelCompositeTaskTemplateBuilder:
        """Set how the children join: JOIN_ALL or ATLEAST_ONE."""
        self.operator_type = operator
        return self

    def build(self) -> TaskTemplate:
        """Return the composite's definition."""
        return ParallelCompositeTaskTemplate(
            app=self.app,
            type=self._type,
            name=self.name,
            task_dag_templates=self.task_dags,
            child_task_templates=list(self.parallel_tasks),
            allow_skip_to=self.allow_skip_to,
            reprocess_on_message=self.reprocess_on_message,
            parallel_operator_type=self.operator_type,
        )


class KafkaCommandTaskTemplateBuilder(DefaultTaskTemplateBuilder):
    """Builds the definition of a :class:`KafkaCommandTask` bound to a topic."""

    _topic: TopicT

    def set_type(self, task_type: type[ITask]) -> TaskTemplateBuilder:
        """Set the command class (a ``KafkaCommandTask`` subclass)."""
        _require(task_type, KafkaCommandTask, type(self).__name__)
        self._type = task_type
        return self

    def set_topic(self, topic: TopicT) -> TaskTemplateBuilder:
        """Set the topic the command is sent on."""
        self._topic = topic
        return self

    def build(self) -> TaskTemplate:
        """Return the command's definition."""
        return DefaultKafkaTaskTemplate(
            app=self.app,
            type=self._type,
            name=self.name,
            topic=self._topic,
            task_dag_templates=self.task_dags,
            allow_skip_to=self.allow_skip_to,
        )


class DecisionTaskTemplateBuilder(DefaultTaskTemplateBuilder):
    """Builds the definition of a :class:`DecisionTask`."""

    def set_type(self, task_type: type[ITask]) -> TaskTemplateBuilder:
        """Set the decision class (a ``DecisionTask`` subclass)."""
        _require(task_type, DecisionTask, type(self).__name__)
        self._type = task_type
        return self


class TriggerTaskTemplateBuilder(DefaultTaskTemplateBuilder):
    """Builds the definition of a :class:`TriggerTask` whose time is read from a runtime parameter."""

    _time_to_execute_key: str | None = None

    def set_time_to_execute_lookup_key(self, key: str) -> TaskTemplateBuilder:
        """Name the runtime parameter holding the epoch second to run at."""
        self._time_to_execute_key = key
        return self

    def set_type(self, task_type: type[ITask]) -> TaskTemplateBuilder:
        """Set the trigger class (a ``TriggerTask`` subclass)."""
        _require(task_type, TriggerTask, type(self).__name__)
        self._type = task_type
        return self

    def build(self) -> TaskTemplate:
        """Return the trigger's definition."""
        return DefaultTriggerTaskTemplate(
            app=self.app,
            type=self._type,
            name=self.name,
            time_to_execute_key=self._time_to_execute_key,  # type: ignore[arg-type]
            task_dag_templates=self.task_dags,
            allow_skip_to=self.allow_skip_to,
        )


class IntervalTaskTemplateBuilder(TriggerTaskTemplateBuilder):
    """Builds the definition of an :class:`IntervalTask`."""

    _time_to_force_complete_key: str | None = None
    _interval_execute_period_key: str | None = None

    def set_interval_execute_period_lookup_key(self, key: str) -> TaskTemplateBuilder:
        """Name the runtime parameter holding the period in seconds."""
        self._interval_execute_period_key = key
        return self

    def set_time_to_force_complete_lookup_key(self, key: str) -> TaskTemplateBuilder:
        """Name the runtime parameter holding the epoch second by which the task completes."""
        self._time_to_force_complete_key = key
        return self

    def build(self) -> TaskTemplate:
        """Return the interval task's definition."""
        return DefaultIntervalTaskTemplate(
            app=self.app,
            type=self._type,
            name=self.name,
            time_to_execute_key=self._time_to_execute_key,
            time_to_force_complete_key=self._time_to_force_complete_key,  # type: ignore[arg-type]
            interval_execute_period_key=self._interval_execute_period_key,  # type: ignore[arg-type]
            task_dag_templates=self.task_dags,
            allow_skip_to=self.allow_skip_to,
        )


class KafkaListenerTaskTemplateBuilder(DefaultTaskTemplateBuilder):
    """Builds the definition of a :class:`KafkaListenerTask` waiting on a topic.

    Building declares the topic's listener to the engine, which consumes it once the worker starts;
    building again for the same topic declares nothing new.
    """

    _topic: TopicT
    _concurrency: int = 1

    def set_type(self, task_type: type[ITask]) -> TaskTemplateBuilder:
        """Set the listener class (a ``KafkaListenerTask`` subclass)."""
        _require(task_type, KafkaListenerTask, type(self).__name__)
        self._type = task_type
        return self

    def set_topic(self, topic: TopicT) -> TaskTemplateBuilder:
        """Set the topic the listener waits on."""
        self._topic = topic
        return self

    def set_concurrency(self, concurrency: int) -> TaskTemplateBuilder:
        """Set how many messages of the topic are handled at once."""
        self._concurrency = concurrency
        return self

    def set_reprocess_on_message(self, reprocess_on_message: bool) -> TaskTemplateBuilder:
        """Let a completed listener handle later messages too."""
        self.reprocess_on_message = reprocess_on_message
        return self

    def build(self) -> TaskTemplate:
        """Declare the topic's listener to the engine and return the listener's definition."""
        self.app.declare_listener(self._topic, self._type, concurrency=self._concurrency)
        return DefaultKafkaTaskTemplate(
            app=self.app,
            type=self._type,
            name=self.name,
            topic=self._topic,
            task_dag_templates=self.task_dags,
            allow_skip_to=self.allow_skip_to,
            reprocess_on_message=self.reprocess_on_message,
        )
