"""The Dagger service: the engine behind ``Dagger.app`` and the registry of workflow definitions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

import mode
from faust.types import TopicT

from dagger.exceptions.exceptions import TemplateDoesNotExist
from dagger.templates.template import IProcessTemplateDAG, ITemplateDAG

logger = logging.getLogger(__name__)

RegisterFun = Callable[[str], Any]


class Dagger(mode.Service):
    """The workflow engine. One instance per process is reachable as ``Dagger.app``."""

    app: ClassVar[Any] = None
    topics: ClassVar[dict[str, TopicT]] = {}

    @classmethod
    def create_topic(
        cls,
        topic_name: str,
        key_type: Any | None = None,
        value_type: Any | None = None,
        key_serializer: Any | None = None,
        value_serializer: Any | None = None,
    ) -> TopicT:
        """Return the topic ``topic_name``, declaring it with the engine's faust app on first use."""
        existing = cls.topics.get(topic_name)
        if existing is not None:
            logger.warning("Topic %s is already declared; using the existing one", topic_name)
            return existing
        topic = cls.app.faust_app.topic(
            topic_name,
            key_type=key_type,
            value_type=value_type,
            key_serializer=key_serializer,
            value_serializer=value_serializer,
        )
        cls.topics[topic_name] = topic
        return topic

    @classmethod
    def register_template(cls, template_name: str) -> Callable[[RegisterFun], None]:
        """Decorator: call the function with ``template_name`` and register the workflow definition it returns."""

        def register(build: RegisterFun) -> None:
            cls.app.template_dags[template_name] = build(template_name)

        return register

    @classmethod
    def register_process_template(cls, process_template_name: str) -> Callable[[RegisterFun], None]:
        """Decorator: call the function with the name and register the process definition it returns."""

        def register(build: RegisterFun) -> None:
            cls.app.process_templates[process_template_name] = build(process_template_name)

        return register

    def add_topic(self, topic_name: str, topic: TopicT) -> None:
        """Make ``topic`` known by ``topic_name``."""
        Dagger.topics[topic_name] = topic

    def get_topic(self, topic_name: str) -> TopicT:
        """Return the topic known by ``topic_name``."""
        return Dagger.topics[topic_name]

    def get_template(self, template_name: str) -> ITemplateDAG:
        """Return the registered workflow definition ``template_name``; raises ``TemplateDoesNotExist``."""
        try:
            return self.template_dags[template_name]  # type: ignore[misc,arg-type,attr-defined,no-any-return]
        except KeyError:
            raise TemplateDoesNotExist(f"no workflow template named {template_name!r}") from None

    def get_process_template(self, process_template_name: str) -> IProcessTemplateDAG:
        """Return the registered process definition ``process_template_name``."""
        return self.process_templates[process_template_name]  # type: ignore[misc,arg-type,attr-defined,no-any-return]
