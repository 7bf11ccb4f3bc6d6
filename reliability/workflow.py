"""The job workflow the fault suite runs: two commands, each answered on a listener topic keyed its own way.

``RESERVE`` sends a command and waits for the answer on the *reserved* topic, whose messages carry
random keys; it is correlated by ``job_id``, the workflow's partition key. ``CONFIRM`` sends a second
command and waits on the *confirmed* topic, whose messages have no key; it is correlated by
``ticket``, a value unrelated to the partition key, so its index entry usually lives on another
worker than the workflow. ``FINISH`` then completes the job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.service.services import Dagger
from dagger.tasks.task import ExecutorTask, ITask, KafkaCommandTask
from dagger.templates.template import ITemplateDAG, TaskTemplate
from examples.json_listener import JsonListenerTask

TEMPLATE = "ReliabilityJob"
RESERVE, CONFIRM = "reserve", "confirm"
MAX_MESSAGE_BYTES = 64 * 1024
"""The workers' ``max_listener_message_bytes``: larger listener messages go to the dead-letter topic."""
APPLICATION_ERROR = "Application error: job request"
"""How a worker logs an exception its application code raised; the fault suite counts these lines."""


@dataclass(frozen=True)
class JobTopics:
    """The topic names of one fault-suite run."""

    requests: str
    commands: str
    reserved: str
    confirmed: str

    @classmethod
    def named_after(cls, application_name: str) -> JobTopics:
        """The topics of the workers named ``application_name``."""
        return cls(*(f"{application_name}-{name}" for name in ("requests", "commands", "reserved", "confirmed")))


class JobCommand(KafkaCommandTask[str, str]):
    """Send the job's command for ``step``, keyed by ``job_id``."""

    step = ""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        command = {"job_id": runtime_parameters["job_id"], "ticket": runtime_parameters["ticket"], "step": self.step}
        await Dagger.app.topics[self.topic].send(key=command["job_id"], value=json.dumps(command).encode())


class ReserveCommand(JobCommand):
    """The ``reserve`` command."""

    step = RESERVE


class ConfirmCommand(JobCommand):
    """The ``confirm`` command."""

    step = CONFIRM


class WaitReserved(JsonListenerTask):
    """Wait for the answer to ``reserve``, correlated by ``job_id``."""

    correlatable_key = "job_id"

    async def on_message(self, runtime_parameters: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        """Complete on the ``reserve`` answer; raise on a message that says ``"fail": true`` (the fault suite's
        poison for user code)."""
        message = json.loads(args[0])
        if message.get("fail") is True:
            raise RuntimeError("the message asked the listener to fail")
        return bool(message.get("step") == RESERVE)


class WaitConfirmed(JsonListenerTask):
    """Wait for the answer to ``confirm``, correlated by ``ticket``."""

    correlatable_key = "ticket"

    async def on_message(self, runtime_parameters: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
        """Complete on the ``confirm`` answer."""
        return bool(json.loads(args[0]).get("step") == CONFIRM)


class Finish(ExecutorTask[str, str]):
    """Mark the job done."""

    async def execute(self, runtime_parameters: dict[str, str], workflow_instance: ITask | None = None) -> None:
        runtime_parameters["done"] = "yes"


def register_job_template(topics: JobTopics) -> None:
    """Register the job workflow with ``Dagger.app``."""

    @Dagger.register_template(TEMPLATE)
    def job(template_name: str) -> ITemplateDAG:
        helper = DAGBuilderHelper(Dagger.app)
        reserve = command_and_answer(helper, topics.commands, ReserveCommand, topics.reserved, WaitReserved, RESERVE)
        confirm = command_and_answer(helper, topics.commands, ConfirmCommand, topics.confirmed, WaitConfirmed, CONFIRM)
        finish = helper.build_and_link_tasks([helper.generic_executor_task_builder(task_type=Finish, name="finish")])
        root = helper.build_and_link_processes(
            [
                helper.generic_process_builder(process_name=RESERVE, root_task=reserve),
                helper.generic_process_builder(process_name=CONFIRM, root_task=confirm),
                helper.generic_process_builder(process_name="finish", root_task=finish),
            ]
        )
        return helper.generic_template(template_name=template_name, root_process=root)


def command_and_answer(
    helper: DAGBuilderHelper,
    commands: str,
    command_type: type[JobCommand],
    answers: str,
    listener_type: type[JsonListenerTask],
    process: str,
) -> TaskTemplate:
    """A command on ``commands`` followed by a listener waiting on ``answers``, both raw bytes."""
    return helper.build_and_link_tasks(
        [
            helper.generic_command_task_builder(
                topic=commands, task_type=command_type, process_name=process, key_type=bytes, value_type=bytes
            ),
            helper.generic_listener_task_builder(
                topic=answers, task_type=listener_type, process_name=process, key_type=bytes, value_type=bytes
            ),
        ]
    )
