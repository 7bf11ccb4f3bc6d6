"""``TemplateDAG``: the definition of a workflow, and how a workflow is created from it."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from dagger.modeler._creation import creating, pinned_choices
from dagger.modeler._process_templates import DynamicProcessTemplateDAG, ParallelCompositeProcessTemplateDAG
from dagger.tasks._status import status_of
from dagger.tasks.task import ITemplateDAGInstance, TaskStatusEnum
from dagger.templates._ids import new_task_id
from dagger.templates.template import IProcessTemplateDAG, IProcessTemplateDAGBuilder, ITemplateDAG
from dagger.utils import clock

logger = logging.getLogger(__name__)


class TemplateDAG(ITemplateDAG):
    """A registered workflow definition."""

    def __init__(
        self, dag: IProcessTemplateDAG, name: str, app: Any, template_type: type[ITemplateDAGInstance]
    ) -> None:
        super().__init__(dag, name, app, template_type)

    def get_given_process(self, process_name: str) -> IProcessTemplateDAG | None:
        """Return the process definition named ``process_name``, or None."""
        for process in self._processes():
            if process.name == process_name:
                return process
        logger.warning("Template %s has no process named %s", self.name, process_name)
        return None

    def set_dynamic_builders_for_process_template(
        self, name: str, process_template_builders: Sequence[IProcessTemplateDAGBuilder]
    ) -> None:
        """Set the builders the dynamic process ``name`` expands into at the next creations."""
        process = self.get_given_process(name)
        if process is not None:
            process.set_dynamic_process_builders(process_template_builders)

    def set_parallel_process_template_dags_for_a_composite_process(
        self, name: str, parallel_process_templates: list[IProcessTemplateDAG]
    ) -> None:
        """Set the child processes of the parallel composite process ``name``."""
        process = self.get_given_process(name)
        if process is not None:
            process.set_parallel_process_template_dags(parallel_process_templates)

    def set_given_num_of_parallel_processes_for_a_composite_process(
        self, no_of_processes: int, composite_process_name: str, parallel_template_builder: IProcessTemplateDAGBuilder
    ) -> None:
        """Make the parallel composite process run ``no_of_processes`` copies of one built process."""
        templates = [parallel_template_builder.build() for _ in range(no_of_processes)]
        self.set_parallel_process_template_dags_for_a_composite_process(composite_process_name, templates)

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
        """Create a workflow with ``kwargs`` as its runtime parameters.

        The whole graph is created at once and, with ``submit_task``, submitted too. With ``repartition``
        the workflow is sent to the worker that owns its partition key, which stores it (and starts it
        when submitted); otherwise that happens here. A workflow whose id is already stored is left as
        it is, and without ``repartition`` the stored one is returned.
        """
        with pinned_choices(self._choices()), creating(id):
            workflow = self.template_type(
                id=id,
                template_name=self.name,
                parent_id=None,
                partition_key_lookup=partition_key_lookup,
                runtime_parameters=kwargs,
            )
            workflow.next_dags = []
            workflow.tasks = {}
            process = await self.root_process_dag.create_instance(
                id=new_task_id(seed),
                parent_id=workflow.id,
                parent_name=workflow.template_name,  # type: ignore[arg-type]
                partition_key_lookup=partition_key_lookup,
                repartition=repartition,
                seed=seed,
                workflow_instance=workflow,
            )
        workflow.time_created = clock.now()
        workflow.status = status_of(TaskStatusEnum.NOT_STARTED)
        workflow.root_dag = process.id
        workflow.add_task(task=process)
        if submit_task:
            workflow.status = status_of(TaskStatusEnum.SUBMITTED)
        if repartition:
            if partition_key_lookup not in workflow.runtime_parameters:
                raise KeyError(f"partition key {partition_key_lookup!r} is not among the runtime parameters")
            await self.app.tasks_topic.send(key=workflow.runtime_parameters[partition_key_lookup], value=workflow)
            return workflow
        stored = await self.app._store_and_create_task(workflow)
        return stored if isinstance(stored, ITemplateDAGInstance) else workflow

    def _processes(self) -> Iterator[IProcessTemplateDAG]:
        """Every process definition reachable from the first one, each once."""
        seen: set[int] = set()
        pending: list[IProcessTemplateDAG] = [self.root_process_dag]
        while pending:
            process = pending.pop(0)
            if id(process) in seen:
                continue
            seen.add(id(process))
            yield process
            pending.extend(getattr(process, "next_process_dag", None) or [])
            if isinstance(process, ParallelCompositeProcessTemplateDAG):
                pending.extend(process.child_process_task_templates)

    def _choices(self) -> dict[int, list[Any]]:
        choices: dict[int, list[Any]] = {}
        for process in self._processes():
            if isinstance(process, DynamicProcessTemplateDAG):
                choices[id(process)] = list(process._dynamic_process_builders)
            elif isinstance(process, ParallelCompositeProcessTemplateDAG):
                choices[id(process)] = list(process.child_process_task_templates)
        return choices
