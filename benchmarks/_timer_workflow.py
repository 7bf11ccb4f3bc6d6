"""The timer workflow of the scale benchmark: one process whose only task waits until its due time, then runs.

``ALARM`` is a trigger task whose time (epoch seconds) is the runtime parameter ``due``; the workflow is
placed by its ``timer_id``, and completes when the task has run.
"""

from __future__ import annotations

from typing import Any

from dagger.modeler.definition import DefaultTemplateBuilder, ProcessTemplateDagBuilder
from dagger.service.services import Dagger
from dagger.tasks.task import DefaultProcessTemplateDAGInstance, DefaultTemplateDAGInstance, ITask, TriggerTask
from dagger.templates.template import ITemplateDAG, TriggerTaskTemplateBuilder
from dagger.utils import clock
from examples.pizza.settings import workflow_id

TIMER_TEMPLATE = "ScaleTimer"
TIMER_ID = "timer_id"
"""The runtime parameter that names a timer workflow, and places it."""
DUE = "due"
"""The runtime parameter holding the epoch second the alarm goes off at."""
FIRED_AT = "fired_at"


class Alarm(TriggerTask[str, str]):
    """Goes off at ``due``: notes when."""

    async def execute(self, runtime_parameters: dict[str, Any], workflow_instance: ITask | None = None) -> None:
        """Record the time the alarm went off."""
        runtime_parameters[FIRED_AT] = clock.now()


def register_timer_template() -> None:
    """Register the timer workflow with ``Dagger.app``."""

    @Dagger.register_template(TIMER_TEMPLATE)
    def timer(template_name: str) -> ITemplateDAG:
        alarm = TriggerTaskTemplateBuilder(Dagger.app)
        alarm.set_type(Alarm)
        alarm.set_name("alarm")
        alarm.set_time_to_execute_lookup_key(DUE)
        wait = ProcessTemplateDagBuilder(Dagger.app)
        wait.set_name("Wait")
        wait.set_root_task(alarm.build())
        wait.set_type(DefaultProcessTemplateDAGInstance)
        template = DefaultTemplateBuilder(Dagger.app)
        template.set_name(template_name)
        template.set_type(DefaultTemplateDAGInstance)
        template.set_root(wait.build())
        return template.build()


def timer_requests_topic(application_name: str) -> str:
    """The topic the scale worker reads timer requests from (JSON ``{"timer_id": ..., "due": ...}``)."""
    return f"{application_name}-timer-requests"


async def create_timer(template: ITemplateDAG, timer_id: str, due: int) -> None:
    """Create and start the timer workflow ``timer_id`` from ``template``, due at epoch second ``due``."""
    parameters: dict[str, Any] = {TIMER_ID: timer_id, DUE: due}
    await template.create_instance(workflow_id(timer_id), TIMER_ID, repartition=False, submit_task=True, **parameters)
