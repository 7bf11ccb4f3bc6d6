"""Process definitions: plain, parallel composite and dynamic processes."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from dagger.exceptions.exceptions import TaskInvalidState
from dagger.modeler._creation import choice_for
from dagger.tasks._status import status_of
from dagger.tasks.task import (
    IProcessTemplateDAGInstance,
    ITask,
    ITemplateDAGInstance,
    ParallelCompositeTask,
    TaskOperator,
    TaskStatusEnum,
    TaskType,
)
from dagger.templates._ids import new_task_id
from dagger.templates.template import (
    IDynamicProcessTemplateDAG,
    IProcessTemplateDAG,
    IProcessTemplateDAGBuilder,
    TaskTemplate,
)
from dagger.utils import clock


class ProcessTemplateDAG(IProcessTemplateDAG):
    """Creates a process named ``<parent name>.<name>``, its chain of tasks, then the processes after it."""

    def __init__(
        self,
        next_process_dag: list[IProcessTemplateDAG],
        app: Any,
        name: str,
        process_type: type[ITask],
        root_task_dag: TaskTemplate | None,
        max_run_duration: int,
    ) -> None:
        super().__init__(
            next_process_dag=next_process_dag,
            app=app,
            name=name,
            process_type=process_type,
            root_task_dag=root_task_dag,
            max_run_duration=max_run_duration,
        )

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
    ) -> IProcessTemplateDAGInstance:
        """Create the process, its tasks and the processes that follow it."""
        process = self._new_process(id, parent_id, parent_name, TaskType.SUB_DAG, workflow_instance)
        process.max_run_duration = self.max_run_duration
        creation: dict[str, Any] = {
            "partition_key_lookup": partition_key_lookup,
            "repartition": repartition,
            "seed": seed,
        }
        first = await self.root_task_dag.create_instance(  # type: ignore[union-attr]
            id=new_task_id(seed),
            parent_id=process.id,
            parent_name=process.task_name,  # type: ignore[arg-type]
            workflow_instance=workflow_instance,
            **creation,
            **kwargs,
        )
        process.root_dag = first.id
        await _create_successors(
            process, self.next_process_dag, parent_id, parent_name, workflow_instance, creation, kwargs
        )
        return process

    def _new_process(
        self,
        id: UUID,
        parent_id: UUID,
        parent_name: str,
        task_type: TaskType,
        workflow_instance: ITemplateDAGInstance | None,
    ) -> ITask:
        process = self.process_type(id=id, process_name=self.name, parent_id=parent_id)
        process.task_type = task_type.name
        process.time_created = clock.now()
        process.status = status_of(TaskStatusEnum.NOT_STARTED)
        process.task_name = f"{parent_name}.{self.name}"
        process.next_dags = []
        if workflow_instance is not None:
            workflow_instance.add_task(task=process)
        return process

    def set_dynamic_process_builders(self, process_template_builders: Sequence[IProcessTemplateDAGBuilder]) -> None:
        """Plain processes do not expand."""
        raise NotImplementedError("ProcessTemplateDAG does not implement this method")

    def set_parallel_process_template_dags(self, parallel_process_templates: list[IProcessTemplateDAG]) -> None:
        """Plain processes have no parallel children."""
        raise NotImplementedError("ProcessTemplateDAG does not implement this method")


class ParallelCompositeProcessTemplateDAG(ProcessTemplateDAG):
    """Creates a :class:`ParallelCompositeTask` whose children are whole processes."""

    def __init__(
        self,
        next_process_dag: list[IProcessTemplateDAG],
        app: Any,
        name: str,
        process_type: type[ParallelCompositeTask],
        child_process_task_templates: list[IProcessTemplateDAG],
        parallel_operator_type: TaskOperator,
    ) -> None:
        super().__init__(
            next_process_dag=next_process_dag,
            app=app,
            name=name,
            process_type=process_type,
            root_task_dag=None,
            max_run_duration=0,
        )
        self.child_process_task_templates = child_process_task_templates
        self.parallel_operator_type = parallel_operator_type

    def set_parallel_process_template_dags(self, parallel_process_templates: list[IProcessTemplateDAG]) -> None:
        """Replace the child processes created from now on."""
        self.child_process_task_templates = list(parallel_process_templates)

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
    ) -> ParallelCompositeTask:
        """Create the composite, one child per child process definition, then the processes after it."""
        composite = self._new_process(id, parent_id, parent_name, TaskType.PARALLEL_COMPOSITE, workflow_instance)
        composite.operator_type = _operator_name(self.parallel_operator_type)
        composite.parallel_child_task_list = []
        composite.root_dag = None
        creation: dict[str, Any] = {
            "partition_key_lookup": partition_key_lookup,
            "repartition": repartition,
            "seed": seed,
        }
        for child_template in choice_for(self, self.child_process_task_templates):
            child = await child_template.create_instance(
                id=new_task_id(seed),
                parent_id=composite.id,
                parent_name=composite.task_name,
                workflow_instance=workflow_instance,
                **creation,
                **kwargs,
            )
            composite.parallel_child_task_list.append(child.id)
        await _create_successors(
            composite, self.next_process_dag, parent_id, parent_name, workflow_instance, creation, kwargs
        )
        return composite


class DynamicProcessTemplateDAG(IDynamicProcessTemplateDAG):
    """A placeholder that expands, per creation, into the processes built by the builders set on it.

    The expanded chain takes the placeholder's place: its first process gets the placeholder's id and
    the placeholder's next processes follow its last one. Without builders, the first next process takes
    the placeholder's place.
    """

    def __init__(self, next_process_dag: list[IProcessTemplateDAG], app: Any, name: str, max_run_duration: int) -> None:
        super().__init__(next_process_dags=next_process_dag, app=app, name=name, max_run_duration=max_run_duration)

    def build_and_link_processes(
        self, process_builder_list: Sequence[IProcessTemplateDAGBuilder], dag_templates: list[IProcessTemplateDAG]
    ) -> list[IProcessTemplateDAG]:
        """Build one process definition per builder, in order, without changing the builders.

        ``dag_templates`` is not used here: ``create_instance`` links the placeholder's next processes
        after the last definition built.
        """
        return [builder.build() for builder in process_builder_list]

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
    ) -> IProcessTemplateDAGInstance:
        """Expand the placeholder; raises ``TaskInvalidState`` when there is nothing to expand into."""
        creation: dict[str, Any] = {
            "partition_key_lookup": partition_key_lookup,
            "repartition": repartition,
            "seed": seed,
        }
        builders = choice_for(self, self._dynamic_process_builders)
        chain = (
            self.build_and_link_processes(builders, self.next_process_dag) if builders else self.next_process_dag[:1]
        )
        tail = self.next_process_dag if builders else []
        if not chain:
            raise TaskInvalidState(f"dynamic process {self.name!r} has no processes to expand into")
        head = previous = None
        for position, template in enumerate(chain):
            instance = await template.create_instance(
                id=id if position == 0 else new_task_id(seed),
                parent_id=parent_id,
                parent_name=parent_name,
                workflow_instance=workflow_instance,
                **creation,
                **kwargs,
            )
            if previous is not None:
                previous.next_dags.append(instance.id)
            head = head or instance
            previous = instance
        await _create_successors(previous, tail, parent_id, parent_name, workflow_instance, creation, kwargs)
        return head  # type: ignore[return-value]


async def _create_successors(
    process: Any,
    templates: Sequence[IProcessTemplateDAG],
    parent_id: UUID,
    parent_name: str,
    workflow_instance: ITemplateDAGInstance | None,
    creation: dict[str, Any],
    kwargs: dict[str, Any],
) -> None:
    for template in templates:
        successor = await template.create_instance(
            id=new_task_id(creation["seed"]),
            parent_id=parent_id,
            parent_name=parent_name,
            workflow_instance=workflow_instance,
            **creation,
            **kwargs,
        )
        process.next_dags.append(successor.id)


def _operator_name(operator: TaskOperator | str) -> str:
    return operator.name if isinstance(operator, TaskOperator) else str(operator)
