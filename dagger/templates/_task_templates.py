"""Task definitions: how each kind of task is created inside a workflow."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

from faust.types import TopicT

from dagger.exceptions.exceptions import InvalidTriggerTimeForTask
from dagger.tasks._status import status_of
from dagger.tasks.task import ITask, ITemplateDAGInstance, TaskOperator, TaskStatusEnum, TaskType, TriggerTask
from dagger.templates._ids import new_task_id
from dagger.templates._interfaces import TaskTemplate
from dagger.utils import clock


class DefaultTaskTemplate(TaskTemplate):
    """Creates a task of class ``type`` named ``<parent name>.<name>``, then the tasks that follow it."""

    def __init__(
        self,
        app: Any,
        type: type[ITask],
        name: str,
        task_dag_template: list[TaskTemplate],
        allow_skip_to: bool,
        reprocess_on_message: bool = False,
    ) -> None:
        self.app = app
        self._type = type
        self.name = name
        self.next_task_dag = task_dag_template
        self.allow_skip_to = allow_skip_to
        self.reprocess_on_message = reprocess_on_message

    async def create_instance(
        self,
        id: UUID,
        parent_id: UUID,
        parent_name: str,
        partition_key_lookup: str,
        *,
        repartition: bool = True,
        seed: random.Random | None = None,
        workflow_instance: ITemplateDAGInstance | None = None,
        **kwargs: Any,
    ) -> ITask:
        """Create the task and the tasks that follow it."""
        task = self._type(id=id, parent_id=parent_id)
        return await self._setup_instance(
            task,
            parent_id,
            parent_name,
            partition_key_lookup,
            repartition=repartition,
            seed=seed,
            workflow_instance=workflow_instance,
            **kwargs,
        )

    async def _setup_instance(
        self,
        task_instance: ITask,
        parent_id: UUID,
        parent_name: str,
        partition_key_lookup: str,
        *,
        repartition: bool,
        seed: random.Random | None,
        workflow_instance: ITemplateDAGInstance | None,
        **kwargs: Any,
    ) -> ITask:
        """Fill in a new task, create its successors, and register its correlation and timer."""
        task_instance.time_created = clock.now()
        task_instance.status = status_of(TaskStatusEnum.NOT_STARTED)
        task_instance.task_name = f"{parent_name}.{self.name}"
        task_instance.next_dags = []
        task_instance.allow_skip_to = self.allow_skip_to
        task_instance.reprocess_on_message = self.reprocess_on_message
        if workflow_instance is not None:
            workflow_instance.add_task(task_instance)
        for successor_template in self.next_task_dag:
            successor = await successor_template.create_instance(
                id=new_task_id(seed),
                parent_id=parent_id,
                parent_name=parent_name,
                partition_key_lookup=partition_key_lookup,
                repartition=repartition,
                seed=seed,
                workflow_instance=workflow_instance,
                **kwargs,
            )
            task_instance.next_dags.append(successor.id)
        if task_instance.correlatable_key:
            await self.app._insert_correletable_key_task(
                task_instance=task_instance, workflow_instance=workflow_instance
            )
        if isinstance(task_instance, TriggerTask) and task_instance.time_to_execute:
            await self.app._store_trigger_instance(task_instance=task_instance, workflow_instance=workflow_instance)
        return task_instance


class DefaultKafkaTaskTemplate(DefaultTaskTemplate):
    """Creates a Kafka command or listener task bound to ``topic``."""

    def __init__(
        self,
        app: Any,
        type: type[ITask],
        name: str,
        topic: TopicT,
        task_dag_templates: list[TaskTemplate],
        allow_skip_to: bool,
        reprocess_on_message: bool = False,
    ) -> None:
        super().__init__(app, type, name, task_dag_templates, allow_skip_to, reprocess_on_message)
        self.topic = topic

    async def create_instance(
        self,
        id: UUID,
        parent_id: UUID,
        parent_name: str,
        partition_key_lookup: str,
        *,
        repartition: bool = True,
        seed: random.Random | None = None,
        workflow_instance: ITemplateDAGInstance | None = None,
        **kwargs: Any,
    ) -> ITask:
        """Create the task with its topic's name, and the tasks that follow it."""
        topic_name = self.topic.get_topic_name()
        self.app.add_topic(topic_name, self.topic)
        task = self._type(id=id, topic=topic_name, parent_id=parent_id)
        return await self._setup_instance(
            task,
            parent_id,
            parent_name,
            partition_key_lookup,
            repartition=repartition,
            seed=seed,
            workflow_instance=workflow_instance,
            **kwargs,
        )


def _required_time(workflow_instance: ITemplateDAGInstance | None, key: str, task_name: str) -> int:
    parameters = workflow_instance.runtime_parameters if workflow_instance is not None else {}
    value = parameters.get(key)
    if value is None:
        raise InvalidTriggerTimeForTask(f"runtime parameter {key!r} is required by task {task_name!r}")
    return int(value)


class DefaultTriggerTaskTemplate(DefaultTaskTemplate):
    """Creates a trigger task that runs at the epoch second in runtime parameter ``time_to_execute_key``."""

    def __init__(
        self,
        app: Any,
        type: type[ITask],
        name: str,
        time_to_execute_key: str,
        task_dag_templates: list[TaskTemplate],
        allow_skip_to: bool,
    ) -> None:
        super().__init__(app, type, name, task_dag_templates, allow_skip_to)
        self.time_to_execute_key = time_to_execute_key

    async def create_instance(
        self,
        id: UUID,
        parent_id: UUID,
        parent_name: str,
        partition_key_lookup: str,
        *,
        repartition: bool = True,
        seed: random.Random | None = None,
        workflow_instance: ITemplateDAGInstance | None = None,
        **kwargs: Any,
    ) -> ITask:
        """Create the trigger task; raises ``InvalidTriggerTimeForTask`` if its time is not given."""
        time_to_execute = _required_time(workflow_instance, self.time_to_execute_key, self.name)
        task = self._type(id=id, time_to_execute=time_to_execute, parent_id=parent_id)
        return await self._setup_instance(
            task,
            parent_id,
            parent_name,
            partition_key_lookup,
            repartition=repartition,
            seed=seed,
            workflow_instance=workflow_instance,
            **kwargs,
        )


class DefaultIntervalTaskTemplate(DefaultTaskTemplate):
    """Creates an interval task; its start time (optional), deadline and period come from runtime parameters."""

    def __init__(
        self,
        app: Any,
        type: type[ITask],
        name: str,
        time_to_execute_key: str | None,
        time_to_force_complete_key: str,
        interval_execute_period_key: str,
        task_dag_templates: list[TaskTemplate],
        allow_skip_to: bool,
    ) -> None:
        super().__init__(app, type, name, task_dag_templates, allow_skip_to)
        self.time_to_execute_key = time_to_execute_key
        self.time_to_force_complete_key = time_to_force_complete_key
        self.interval_execute_period_key = interval_execute_period_key

    async def create_instance(
        self,
        id: UUID,
        parent_id: UUID,
        parent_name: str,
        partition_key_lookup: str,
        *,
        repartition: bool = True,
        seed: random.Random | None = None,
        workflow_instance: ITemplateDAGInstance | None = None,
        **kwargs: Any,
    ) -> ITask:
        """Create the interval task; raises ``InvalidTriggerTimeForTask`` if a required time is not given."""
        time_to_execute = (
            _required_time(workflow_instance, self.time_to_execute_key, self.name) if self.time_to_execute_key else None
        )
        task = self._type(
            id=id,
            time_to_execute=time_to_execute,
            time_to_force_complete=_required_time(workflow_instance, self.time_to_force_complete_key, self.name),
            interval_execute_period=_required_time(workflow_instance, self.interval_execute_period_key, self.name),
            parent_id=parent_id,
        )
        return await self._setup_instance(
            task,
            parent_id,
            parent_name,
            partition_key_lookup,
            repartition=repartition,
            seed=seed,
            workflow_instance=workflow_instance,
            **kwargs,
        )


class ParallelCompositeTaskTemplate(DefaultTaskTemplate):
    """Creates a parallel composite task, its children (one per child template) and its successors."""

    def __init__(
        self,
        app: Any,
        type: type[ITask],
        name: str,
        task_dag_templates: list[TaskTemplate],
        child_task_templates: list[TaskTemplate],
        allow_skip_to: bool,
        reprocess_on_message: bool = False,
        parallel_operator_type: TaskOperator = TaskOperator.JOIN_ALL,
    ) -> None:
        super().__init__(app, type, name, task_dag_templates, allow_skip_to, reprocess_on_message)
        self.child_task_templates = child_task_templates
        self.parallel_operator_type = parallel_operator_type

    async def _setup_instance(
        self,
        task_instance: ITask,
        parent_id: UUID,
        parent_name: str,
        partition_key_lookup: str,
        *,
        repartition: bool,
        seed: random.Random | None,
        workflow_instance: ITemplateDAGInstance | None,
        **kwargs: Any,
    ) -> ITask:
        """Fill in the composite, create its successors, then its children."""
        task_instance.task_type = TaskType.PARALLEL_COMPOSITE.name
        task_instance.operator_type = self.parallel_operator_type.name
        task_instance.time_created = clock.now()
        task_instance.status = status_of(TaskStatusEnum.NOT_STARTED)
        task_instance.task_name = f"{parent_name}.{self.name}"
        task_instance.next_dags = []
        task_instance.parallel_child_task_list = []
        task_instance.allow_skip_to = self.allow_skip_to
        task_instance.reprocess_on_message = self.reprocess_on_message
        if workflow_instance is not None:
            workflow_instance.add_task(task_instance)
        creation: dict[str, Any] = {
            "partition_key_lookup": partition_key_lookup,
            "repartition": repartition,
            "seed": seed,
        }
        for successor_template in self.next_task_dag:
            successor = await successor_template.create_instance(
                id=new_task_id(seed),
                parent_id=parent_id,
                parent_name=parent_name,
                workflow_instance=workflow_instance,
                **creation,
                **kwargs,
            )
            task_instance.next_dags.append(successor.id)
        for child_template in self.child_task_templates:
            child = await child_template.create_instance(
                id=new_task_id(seed),
                parent_id=task_instance.id,
                parent_name=task_instance.task_name,
                workflow_instance=workflow_instance,
                **creation,
                **kwargs,
            )
            task_instance.parallel_child_task_list.append(child.id)
        return task_instance
