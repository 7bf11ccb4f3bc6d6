"""The workflow model: task records, their states and how a workflow moves from task to task.

Every class is a faust ``Record`` whose serialized form names its class (``__faust.ns``), so a decoded
workflow gives back the concrete classes of all its tasks.
"""

from dagger.tasks._agent import KafkaAgent
from dagger.tasks._base import ITask
from dagger.tasks._composite import (
    DefaultProcessTemplateDAGInstance,
    INonLeafNodeTask,
    IProcessTemplateDAGInstance,
    MonitoredProcessTemplateDAGInstance,
    ParallelCompositeTask,
)
from dagger.tasks._decision import DecisionTask
from dagger.tasks._executor import ExecutorTask, KafkaCommandTask, SystemTask, SystemTimerTask
from dagger.tasks._records import CorrelatableMapValue, CorreletableKeyTasks, CorreletableLookUpKey, Trigger
from dagger.tasks._sensor import KafkaListenerTask, SensorTask
from dagger.tasks._status import (
    COMPLETE_BY_KEY,
    KT,
    TERMINAL_STATUSES,
    VT,
    TaskLookupKey,
    TaskOperator,
    TaskStatus,
    TaskStatusEnum,
    TaskType,
)
from dagger.tasks._timers import (
    DefaultMonitoringTask,
    IMonitoredTask,
    IntervalTask,
    MonitoringTask,
    SkipOnMaxDurationTask,
    TriggerTask,
)
from dagger.tasks._workflow import DefaultTemplateDAGInstance, ITemplateDAGInstance

__all__ = [
    "COMPLETE_BY_KEY",
    "KT",
    "TERMINAL_STATUSES",
    "VT",
    "CorrelatableMapValue",
    "CorreletableKeyTasks",
    "CorreletableLookUpKey",
    "DecisionTask",
    "DefaultMonitoringTask",
    "DefaultProcessTemplateDAGInstance",
    "DefaultTemplateDAGInstance",
    "ExecutorTask",
    "IMonitoredTask",
    "INonLeafNodeTask",
    "IProcessTemplateDAGInstance",
    "ITask",
    "ITemplateDAGInstance",
    "IntervalTask",
    "KafkaAgent",
    "KafkaCommandTask",
    "KafkaListenerTask",
    "MonitoredProcessTemplateDAGInstance",
    "MonitoringTask",
    "ParallelCompositeTask",
    "SensorTask",
    "SkipOnMaxDurationTask",
    "SystemTask",
    "SystemTimerTask",
    "TaskLookupKey",
    "TaskOperator",
    "TaskStatus",
    "TaskStatusEnum",
    "TaskType",
    "Trigger",
    "TriggerTask",
]
