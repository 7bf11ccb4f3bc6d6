"""Exceptions raised by Dagger."""


class DaggerError(Exception):
    """Base class of every error Dagger raises."""


class InvalidTaskType(DaggerError):
    """A template builder was given a task class of the wrong family."""


class TaskInvalidState(DaggerError):
    """A task or workflow is in a state that does not allow the requested operation."""


class TemplateDoesNotExist(DaggerError):
    """No workflow template is registered under the requested name."""


class InvalidTriggerTimeForTask(DaggerError):
    """A trigger or interval task's time is missing from the runtime parameters."""


class WorkflowUnavailable(DaggerError):
    """The worker that holds a workflow could not be asked for it (it did not answer in time)."""
