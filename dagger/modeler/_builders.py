"""Builders of workflow and process definitions."""

from __future__ import annotations

from dagger.modeler._process_templates import (
    DynamicProcessTemplateDAG,
    ParallelCompositeProcessTemplateDAG,
    ProcessTemplateDAG,
)
from dagger.modeler._workflow_template import TemplateDAG
from dagger.tasks.task import (
    DefaultProcessTemplateDAGInstance,
    DefaultTemplateDAGInstance,
    ITask,
    ITemplateDAGInstance,
    ParallelCompositeTask,
    TaskOperator,
)
from dagger.templates.template import (
    IProcessTemplateDAG,
    IProcessTemplateDAGBuilder,
    ITemplateDAG,
    ITemplateDAGBuilder,
    TaskTemplate,
)


class DefaultTemplateBuilder(ITemplateDAGBuilder):
    """Builds a workflow definition (:class:`TemplateDAG`)."""

    root_process_dag: IProcessTemplateDAG
    _name: str
    _template_type: type[ITemplateDAGInstance] = DefaultTemplateDAGInstance

    def set_type(self, template_type: type[ITemplateDAGInstance]) -> ITemplateDAGBuilder:
        """Set the workflow class to instantiate."""
        self._template_type = template_type
        return self

    def set_root(self, template: IProcessTemplateDAG) -> ITemplateDAGBuilder:
        """Set the first process of the workflow."""
        self.root_process_dag = template
        return self

    def set_name(self, name: str) -> ITemplateDAGBuilder:
        """Set the workflow's template name."""
        self._name = name
        return self

    def build(self) -> ITemplateDAG:
        """Return the workflow definition."""
        return TemplateDAG(dag=self.root_process_dag, name=self._name, app=self.app, template_type=self._template_type)


class ProcessTemplateDagBuilder(IProcessTemplateDAGBuilder):
    """Builds a process definition (:class:`ProcessTemplateDAG`)."""

    root_task_dag: TaskTemplate | None = None
    _name: str
    _process_type: type[ITask] = DefaultProcessTemplateDAGInstance
    _max_run_duration: int = 0

    def set_root_task(self, task: TaskTemplate) -> IProcessTemplateDAGBuilder:
        """Set the first task of the process."""
        self.root_task_dag = task
        return self

    def set_next_process(self, task_template: IProcessTemplateDAG) -> IProcessTemplateDAGBuilder:
        """Add a process that follows this one."""
        self.next_process_dag.append(task_template)
        return self

    def set_name(self, process_name: str) -> IProcessTemplateDAGBuilder:
        """Set the process's name."""
        self._name = process_name
        return self

    def set_type(self, process_type: type[ITask]) -> IProcessTemplateDAGBuilder:
        """Set the process class to instantiate."""
        self._process_type = process_type
        return self

    def set_max_run_duration(self, max_run_duration: int) -> IProcessTemplateDAGBuilder:
        """Skip the process when it runs longer than ``max_run_duration`` seconds (0: no limit)."""
        self._max_run_duration = max_run_duration
        return self

    def build(self) -> IProcessTemplateDAG:
        """Return the process definition."""
        return ProcessTemplateDAG(
            next_process_dag=list(self.next_process_dag),
            app=self.app,
            name=self._name,
            process_type=self._process_type,
            root_task_dag=self.root_task_dag,
            max_run_duration=self._max_run_duration,
        )


class DynamicProcessTemplateDagBuilder(IProcessTemplateDAGBuilder):
    """Builds a dynamic process placeholder (:class:`DynamicProcessTemplateDAG`)."""

    _name: str
    _max_run_duration: int = 0

    def set_root_task(self, task: TaskTemplate) -> IProcessTemplateDAGBuilder:
        """Dynamic processes have no tasks of their own."""
        raise NotImplementedError("DynamicProcessTemplateDagBuilder does not implement this method")

    def set_next_process(self, task: IProcessTemplateDAG) -> IProcessTemplateDAGBuilder:
        """Add a process that follows the expanded ones."""
        self.next_process_dag.append(task)
        return self

    def set_name(self, process_name: str) -> IProcessTemplateDAGBuilder:
        """Set the placeholder's name, by which builders are set on it."""
        self._name = process_name
        return self

    def set_type(self, process_type: type[ITask]) -> IProcessTemplateDAGBuilder:
        """Dynamic processes take the types of the processes they expand into."""
        raise NotImplementedError("DynamicProcessTemplateDagBuilder does not implement this method")

    def set_max_run_duration(self, max_run_duration: int) -> IProcessTemplateDAGBuilder:
        """Set the maximum run duration in seconds."""
        self._max_run_duration = max_run_duration
        return self

    def build(self) -> IProcessTemplateDAG:
        """Return the placeholder's definition."""
        return DynamicProcessTemplateDAG(list(self.next_process_dag), self.app, self._name, self._max_run_duration)


class ParallelCompositeProcessTemplateDagBuilder(IProcessTemplateDAGBuilder):
    """Builds a process that runs child processes in parallel (:class:`ParallelCompositeProcessTemplateDAG`)."""

    _name: str
    _process_type: type[ITask] = ParallelCompositeTask

    def __init__(self, app: object) -> None:
        super().__init__(app)
        self.parallel_operator_type = TaskOperator.JOIN_ALL
        self.child_process_task_templates: list[IProcessTemplateDAG] = []

    def set_parallel_operator_type(self, operator_type: TaskOperator) -> IProcessTemplateDAGBuilder:
        """Set how the children join: JOIN_ALL or ATLEAST_ONE."""
        self.parallel_operator_type = operator_type
        return self

    def set_root_task(self, task: TaskTemplate) -> IProcessTemplateDAGBuilder:
        """Parallel composite processes have children instead of a first task."""
        raise NotImplementedError("ParallelCompositeProcessTemplateDagBuilder does not implement this method")

    def set_next_process(self, task: IProcessTemplateDAG) -> IProcessTemplateDAGBuilder:
        """Add a process that follows this one."""
        self.next_process_dag.append(task)
        return self

    def set_parallel_process_templates(self, task: IProcessTemplateDAG) -> IProcessTemplateDAGBuilder:
        """Add a child process."""
        self.child_process_task_templates.append(task)
        return self

    def set_name(self, process_name: str) -> IProcessTemplateDAGBuilder:
        """Set the process's name."""
        self._name = process_name
        return self

    def set_type(self, process_type: type[ITask]) -> IProcessTemplateDAGBuilder:
        """Set the composite class to instantiate."""
        self._process_type = process_type
        return self

    def set_max_run_duration(self, max_run_duration: int) -> IProcessTemplateDAGBuilder:
        """Parallel composite processes have no maximum duration of their own."""
        raise NotImplementedError("ParallelCompositeProcessTemplateDagBuilder does not implement this method")

    def build(self) -> IProcessTemplateDAG:
        """Return the composite process's definition."""
        return ParallelCompositeProcessTemplateDAG(
            next_process_dag=list(self.next_process_dag),
            app=self.app,
            name=self._name,
            process_type=self._process_type,
            child_process_task_templates=list(self.child_process_task_templates),
            parallel_operator_type=self.parallel_operator_type,
        )
