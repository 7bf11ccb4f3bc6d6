"""Workflow and process definitions and their builders."""

from dagger.modeler._builders import (
    DefaultTemplateBuilder,
    DynamicProcessTemplateDagBuilder,
    ParallelCompositeProcessTemplateDagBuilder,
    ProcessTemplateDagBuilder,
)
from dagger.modeler._process_templates import (
    DynamicProcessTemplateDAG,
    ParallelCompositeProcessTemplateDAG,
    ProcessTemplateDAG,
)
from dagger.modeler._workflow_template import TemplateDAG

__all__ = [
    "DefaultTemplateBuilder",
    "DynamicProcessTemplateDAG",
    "DynamicProcessTemplateDagBuilder",
    "ParallelCompositeProcessTemplateDAG",
    "ParallelCompositeProcessTemplateDagBuilder",
    "ProcessTemplateDAG",
    "ProcessTemplateDagBuilder",
    "TemplateDAG",
]
