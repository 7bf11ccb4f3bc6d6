"""Shortcuts for the common shapes of task and process definitions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagger.modeler.definition import (
    DefaultTemplateBuilder,
    DynamicProcessTemplateDagBuilder,
    ProcessTemplateDagBuilder,
)
from dagger.tasks.task import (
    DefaultProcessTemplateDAGInstance,
    DefaultTemplateDAGInstance,
    ITask,
    ITemplateDAGInstance,
)
from dagger.templates.template import (
    DefaultTaskTemplateBuilder,
    IProcessTemplateDAG,
    IProcessTemplateDAGBuilder,
    ITemplateDAG,
    KafkaCommandTaskTemplateBuilder,
    KafkaListenerTaskTemplateBuilder,
    TaskTemplate,
    TaskTemplateBuilder,
)
from dagger.types import Engine


class DAGBuilderHelper:
    """Builds definitions with the names and defaults most workflows use."""

    def __init__(self, dagger_app: Engine) -> None:
        self.app = dagger_app

    def build_and_link_tasks(self, tasks_builder_list: list[TaskTemplateBuilder]) -> TaskTemplate:
        """Chain the builders' tasks in order and return the first task's definition.

        Each builder is linked with ``set_next`` and then built, so a builder whose ``set_next`` returns
        nothing links as well as one that returns itself.
        """
        template = tasks_builder_list[-1].build()
        for builder in reversed(tasks_builder_list[:-1]):
            builder.set_next(template)
            template = builder.build()
        return template

    def generic_process_builder(
        self,
        *,
        process_name: str,
        root_task: TaskTemplate,
        process_type: type[ITask] = DefaultProcessTemplateDAGInstance,
        max_run_duration: int = 0,
    ) -> ProcessTemplateDagBuilder:
        """Return a builder of the process ``process_name`` starting with ``root_task``."""
        builder = ProcessTemplateDagBuilder(self.app)
        builder.set_name(process_name).set_root_task(root_task).set_type(process_type)
        builder.set_max_run_duration(max_run_duration)
        return builder

    def generic_dynamic_process_builder(
        self, *, name: str, max_run_duration: int = 0
    ) -> DynamicProcessTemplateDagBuilder:
        """Return a builder of the dynamic process placeholder ``name``."""
        builder = DynamicProcessTemplateDagBuilder(self.app)
        builder.set_name(name)
        builder.set_max_run_duration(max_run_duration)
        return builder

    def generic_executor_task_builder(
        self, *, task_type: type[ITask], name: str, allow_skip_to: bool = False
    ) -> DefaultTaskTemplateBuilder:
        """Return a builder of the executor ``<name>_executor_task``."""
        builder = DefaultTaskTemplateBuilder(self.app)
        builder.set_name(f"{name}_executor_task").set_type(task_type).set_allow_skip_to(allow_skip_to)
        return builder

    def generic_command_task_builder(
        self,
        *,
        topic: str,
        task_type: type[ITask],
        process_name: str,
        key_type: Any | None = None,
        value_type: Any | None = None,
        key_serializer: Any | None = None,
        value_serializer: Any | None = None,
    ) -> KafkaCommandTaskTemplateBuilder:
        """Return a builder of the command ``<process_name>_command_task`` sending on ``topic``.

        The topic comes from the engine's ``create_topic``, which declares it unless it is already declared.
        """
        builder = KafkaCommandTaskTemplateBuilder(self.app)
        builder.set_topic(
            self.app.create_topic(
                topic,
                key_type=key_type,
                value_type=value_type,
                key_serializer=key_serializer,
                value_serializer=value_serializer,
            )
        )
        builder.set_type(task_type).set_name(f"{process_name}_command_task")
        return builder

    def generic_listener_task_builder(
        self,
        *,
        topic: str,
        task_type: type[ITask],
        process_name: str,
        allow_skip_to: bool = False,
        concurrency: int = 1,
        reprocess_on_message: bool = False,
        key_type: Any | None = None,
        value_type: Any | None = None,
        key_serializer: Any | None = None,
        value_serializer: Any | None = None,
    ) -> KafkaListenerTaskTemplateBuilder:
        """Return a builder of the listener ``<process_name>_listener_task`` waiting on ``topic``.

        The topic comes from the engine's ``create_topic``, which declares it unless it is already declared.
        """
        builder = KafkaListenerTaskTemplateBuilder(self.app)
        builder.set_topic(
            self.app.create_topic(
                topic,
                key_type=key_type,
                value_type=value_type,
                key_serializer=key_serializer,
                value_serializer=value_serializer,
            )
        )
        builder.set_type(task_type).set_name(f"{process_name}_listener_task")
        builder.set_allow_skip_to(allow_skip_to)
        builder.set_concurrency(concurrency)
        builder.set_reprocess_on_message(reprocess_on_message)
        return builder

    def build_and_link_processes(
        self, process_builder_list: Sequence[IProcessTemplateDAGBuilder]
    ) -> IProcessTemplateDAG:
        """Chain the builders' processes in order and return the first process's definition.

        Each builder is linked with ``set_next_process`` and then built, whatever ``set_next_process`` returns.
        """
        template = process_builder_list[-1].build()
        for builder in reversed(process_builder_list[:-1]):
            builder.set_next_process(template)
            template = builder.build()
        return template

    def generic_template(
        self,
        *,
        template_name: str,
        root_process: IProcessTemplateDAG,
        template_type: type[ITemplateDAGInstance] = DefaultTemplateDAGInstance,
    ) -> ITemplateDAG:
        """Return the workflow definition ``template_name`` starting with ``root_process``."""
        builder = DefaultTemplateBuilder(self.app)
        builder.set_name(template_name).set_type(template_type).set_root(root_process)
        return builder.build()
