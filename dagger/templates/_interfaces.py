"""The abstract definitions a workflow is described with: templates and their builders."""

from __future__ import annotations

import abc
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from dagger.tasks.task import IProcessTemplateDAGInstance, ITask, ITemplateDAGInstance


class TaskTemplate:
    """The definition of one task; ``next_task_dag`` lists the definitions that follow it."""

    app: Any
    next_task_dag: list[TaskTemplate]

    @abc.abstractmethod
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
        """Create the task, and the tasks that follow it, inside ``workflow_instance``."""


class IProcessTemplateDAG:
    """The definition of a process: a chain of tasks, followed by the processes in ``next_process_dag``."""

    def __init__(
        self,
        next_process_dag: list[IProcessTemplateDAG],
        app: Any,
        name: str,
        process_type: type[ITask],
        root_task_dag: TaskTemplate | None,
        max_run_duration: int,
    ) -> None:
        self.next_process_dag = next_process_dag
        self.app = app
        self.name = name
        self.process_type = process_type
        self.root_task_dag = root_task_dag
        self.max_run_duration = max_run_duration

    @abc.abstractmethod
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
        """Create the process, its tasks and the processes after it inside ``workflow_instance``."""

    @abc.abstractmethod
    def set_dynamic_process_builders(self, process_template_builders: Sequence[IProcessTemplateDAGBuilder]) -> None:
        """Set the builders a dynamic process expands into."""

    @abc.abstractmethod
    def set_parallel_process_template_dags(self, parallel_process_templates: list[IProcessTemplateDAG]) -> None:
        """Set the processes a parallel composite process runs."""


class IDynamicProcessTemplateDAG(IProcessTemplateDAG):
    """A placeholder process that expands into processes chosen when a workflow is created."""

    def __init__(
        self, next_process_dags: list[IProcessTemplateDAG], app: Any, name: str, max_run_duration: int
    ) -> None:
        super().__init__(
            next_process_dag=next_process_dags,
            app=app,
            name=name,
            process_type=None,  # type: ignore[arg-type]
            root_task_dag=None,
            max_run_duration=max_run_duration,
        )
        self._dynamic_process_builders: list[IProcessTemplateDAGBuilder] = []

    def set_dynamic_process_builders(self, process_template_builders: Sequence[IProcessTemplateDAGBuilder]) -> None:
        """Set the builders this placeholder expands into at the next creations."""
        self._dynamic_process_builders = list(process_template_builders)

    def set_parallel_process_template_dags(self, parallel_process_templates: list[IProcessTemplateDAG]) -> None:
        """Dynamic processes have no parallel children."""
        raise NotImplementedError("IDynamicProcessTemplateDAG does not implement this method")


class ITemplateDAG:
    """The definition of a workflow: its first process, name and workflow class."""

    def __init__(
        self, dag: IProcessTemplateDAG, name: str, app: Any, template_type: type[ITemplateDAGInstance]
    ) -> None:
        self.root_process_dag = dag
        self.name = name
        self.app = app
        self.template_type = template_type

    @abc.abstractmethod
    async def create_instance(
        self,
        id: UUID,
        partition_key_lookup: str,
        *,
        repartition: bool = True,
        seed: random.Random | None = None,
        submit_task: bool = False,
        **kwargs: Any,
    ) -> ITemplateDAGInstance:
        """Create a workflow; ``kwargs`` become its runtime parameters."""

    @abc.abstractmethod
    def set_dynamic_builders_for_process_template(
        self, name: str, process_template_builders: Sequence[IProcessTemplateDAGBuilder]
    ) -> None:
        """Set the builders the dynamic process ``name`` expands into."""


class TaskTemplateBuilder:
    """Builds a :class:`TaskTemplate`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.task_dags: list[TaskTemplate] = []
        self.name = "task"
        self.allow_skip_to = False
        self.reprocess_on_message = False

    @abc.abstractmethod
    def set_type(self, task_type: type[ITask]) -> TaskTemplateBuilder:
        """Set the task class to instantiate."""

    @abc.abstractmethod
    def set_name(self, name: str) -> TaskTemplateBuilder:
        """Set the task's name."""

    @abc.abstractmethod
    def build(self) -> TaskTemplate:
        """Return the task definition."""

    def set_next(self, task_template: TaskTemplate) -> TaskTemplateBuilder:
        """Add a task that follows this one."""
        self.task_dags.append(task_template)
        return self

    def set_allow_skip_to(self, allow_skip_to: bool) -> TaskTemplateBuilder:
        """Let a message for this (listener) task skip the unfinished tasks before it."""
        self.allow_skip_to = allow_skip_to
        return self


class IProcessTemplateDAGBuilder:
    """Builds an :class:`IProcessTemplateDAG`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.next_process_dag: list[IProcessTemplateDAG] = []

    @abc.abstractmethod
    def set_root_task(self, task: TaskTemplate) -> IProcessTemplateDAGBuilder:
        """Set the first task of the process."""

    @abc.abstractmethod
    def set_next_process(self, task: IProcessTemplateDAG) -> IProcessTemplateDAGBuilder:
        """Add a process that follows this one."""

    @abc.abstractmethod
    def set_name(self, process_name: str) -> IProcessTemplateDAGBuilder:
        """Set the process's name."""

    @abc.abstractmethod
    def set_type(self, process_type: type[ITask]) -> IProcessTemplateDAGBuilder:
        """Set the process class to instantiate."""

    @abc.abstractmethod
    def build(self) -> IProcessTemplateDAG:
        """Return the process definition."""


class ITemplateDAGBuilder:
    """Builds an :class:`ITemplateDAG`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @abc.abstractmethod
    def set_root(self, template: IProcessTemplateDAG) -> ITemplateDAGBuilder:
        """Set the first process of the workflow."""

    @abc.abstractmethod
    def build(self) -> ITemplateDAG:
        """Return the workflow definition."""

    @abc.abstractmethod
    def set_name(self, name: str) -> ITemplateDAGBuilder:
        """Set the workflow's template name."""

    @abc.abstractmethod
    def set_type(self, template_type: type[ITemplateDAGInstance]) -> ITemplateDAGBuilder:
        """Set the workflow class to instantiate."""
