"""Workflow definitions: the abstract templates and builders, and the task-level ones."""

from dagger.templates._interfaces import (
    IDynamicProcessTemplateDAG,
    IProcessTemplateDAG,
    IProcessTemplateDAGBuilder,
    ITemplateDAG,
    ITemplateDAGBuilder,
    TaskTemplate,
    TaskTemplateBuilder,
)
from dagger.templates._task_builders import (
    DecisionTaskTemplateBuilder,
    DefaultTaskTemplateBuilder,
    IntervalTaskTemplateBuilder,
    KafkaCommandTaskTemplateBuilder,
    KafkaListenerTaskTemplateBuilder,
    ParallelCompositeTaskTemplateBuilder,
    TriggerTaskTemplateBuilder,
)
from dagger.templates._task_templates import (
    DefaultIntervalTaskTemplate,
    DefaultKafkaTaskTemplate,
    DefaultTaskTemplate,
    DefaultTriggerTaskTemplate,
    ParallelCompositeTaskTemplate,
)

__all__ = [
    "DecisionTaskTemplateBuilder",
    "DefaultIntervalTaskTemplate",
    "DefaultKafkaTaskTemplate",
    "DefaultTaskTemplate",
    "DefaultTaskTemplateBuilder",
    "DefaultTriggerTaskTemplate",
    "IDynamicProcessTemplateDAG",
    "IProcessTemplateDAG",
    "IProcessTemplateDAGBuilder",
    "ITemplateDAG",
    "ITemplateDAGBuilder",
    "IntervalTaskTemplateBuilder",
    "KafkaCommandTaskTemplateBuilder",
    "KafkaListenerTaskTemplateBuilder",
    "ParallelCompositeTaskTemplate",
    "ParallelCompositeTaskTemplateBuilder",
    "TaskTemplate",
    "TaskTemplateBuilder",
    "TriggerTaskTemplateBuilder",
]
