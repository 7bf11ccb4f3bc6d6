"""Records, their codec, and the reference's public surface."""
# ruff: noqa: E501

from __future__ import annotations

import importlib
import inspect
import random
import uuid

import pytest

from dagger import codec
from dagger.tasks.task import (
    CorreletableKeyTasks,
    CorreletableLookUpKey,
    DefaultTemplateDAGInstance,
    ITask,
    KafkaListenerTask,
    ParallelCompositeTask,
    TaskStatus,
    Trigger,
)
from dagger.utils import clock
from dagger.utils.utils import DAGIDGenerator

PUBLIC_NAMES = {
    "dagger.exceptions.exceptions": "DaggerError InvalidTaskType TaskInvalidState TemplateDoesNotExist InvalidTriggerTimeForTask",
    "dagger.utils.utils": "DAGIDGenerator",
    "dagger.executor.executor": "ExecutorStrategy SerialExecutorStrategy",
    "dagger.service.engineconfig": "StoreEnum CompressionType EngineConfig AerospikeConfig ROCKS_DB_OPTIONS",
    "dagger.tasks.task": (
        "KT VT TaskLookupKey COMPLETE_BY_KEY TERMINAL_STATUSES TaskStatusEnum TaskType TaskOperator TaskStatus ITask "
        "ExecutorTask TriggerTask IntervalTask MonitoringTask DefaultMonitoringTask SkipOnMaxDurationTask DecisionTask "
        "SystemTask SystemTimerTask SensorTask IMonitoredTask KafkaAgent KafkaCommandTask KafkaListenerTask "
        "INonLeafNodeTask ParallelCompositeTask IProcessTemplateDAGInstance DefaultProcessTemplateDAGInstance "
        "MonitoredProcessTemplateDAGInstance ITemplateDAGInstance DefaultTemplateDAGInstance CorrelatableMapValue "
        "Trigger CorreletableLookUpKey CorreletableKeyTasks"
    ),
    "dagger.templates.template": (
        "ITemplateDAG IProcessTemplateDAG IDynamicProcessTemplateDAG TaskTemplate TaskTemplateBuilder "
        "IProcessTemplateDAGBuilder ITemplateDAGBuilder DefaultTaskTemplate DefaultKafkaTaskTemplate "
        "DefaultTriggerTaskTemplate DefaultIntervalTaskTemplate ParallelCompositeTaskTemplate DefaultTaskTemplateBuilder "
        "ParallelCompositeTaskTemplateBuilder KafkaCommandTaskTemplateBuilder DecisionTaskTemplateBuilder "
        "TriggerTaskTemplateBuilder IntervalTaskTemplateBuilder KafkaListenerTaskTemplateBuilder"
    ),
    "dagger.modeler.definition": (
        "DefaultTemplateBuilder ProcessTemplateDAG ParallelCompositeProcessTemplateDAG DynamicProcessTemplateDAG "
        "TemplateDAG ProcessTemplateDagBuilder DynamicProcessTemplateDagBuilder ParallelCompositeProcessTemplateDagBuilder"
    ),
    "dagger.modeler.builder_helper": "DAGBuilderHelper",
    "dagger.store.stores": "IStore RocksDBStore TERMINAL_STATUSES",
    "dagger.service.services": (
        "Dagger ServiceStateView DagProcessView TemplateProcessView TaskDTO RegisterFun RESTART_WAIT_TIME "
        "service_blueprint tasks_blueprint logger"
    ),
}

SIGNATURES = {
    (
        "dagger.templates.template",
        "ITemplateDAG.create_instance",
    ): "self id partition_key_lookup repartition seed submit_task kwargs",
    ("dagger.templates.template", "TaskTemplate.create_instance"): (
        "self id parent_id parent_name partition_key_lookup repartition seed workflow_instance kwargs"
    ),
    ("dagger.templates.template", "DefaultTaskTemplate.__init__"): (
        "self app type name task_dag_template allow_skip_to reprocess_on_message"
    ),
    ("dagger.templates.template", "ParallelCompositeTaskTemplate.__init__"): (
        "self app type name task_dag_templates child_task_templates allow_skip_to reprocess_on_message parallel_operator_type"
    ),
    ("dagger.templates.template", "ParallelCompositeTaskTemplateBuilder.__init__"): (
        "self app no_of_parallel_tasks task_template"
    ),
    ("dagger.templates.template", "ParallelCompositeTaskTemplateBuilder.add_parallel_task"): "self task_template",
    ("dagger.templates.template", "ParallelCompositeTaskTemplateBuilder.get_parallel_tasks_templates"): (
        "self no_of_parallel_tasks task_template"
    ),
    ("dagger.templates.template", "ParallelCompositeTaskTemplateBuilder.set_task_operator"): "self operator",
    ("dagger.templates.template", "DefaultIntervalTaskTemplate.__init__"): (
        "self app type name time_to_execute_key time_to_force_complete_key interval_execute_period_key "
        "task_dag_templates allow_skip_to"
    ),
    ("dagger.modeler.definition", "ParallelCompositeProcessTemplateDAG.__init__"): (
        "self next_process_dag app name process_type child_process_task_templates parallel_operator_type"
    ),
    (
        "dagger.modeler.definition",
        "DynamicProcessTemplateDAG.__init__",
    ): "self next_process_dag app name max_run_duration",
    ("dagger.modeler.definition", "TemplateDAG.set_given_num_of_parallel_processes_for_a_composite_process"): (
        "self no_of_processes composite_process_name parallel_template_builder"
    ),
    ("dagger.modeler.builder_helper", "DAGBuilderHelper.generic_listener_task_builder"): (
        "self topic task_type process_name allow_skip_to concurrency reprocess_on_message key_type value_type "
        "key_serializer value_serializer"
    ),
    ("dagger.tasks.task", "ITask.on_complete"): "self workflow_instance status iterate",
    ("dagger.tasks.task", "ITask.get_remaining_tasks"): "self next_dag_id workflow_instance tasks end_task_id",
    ("dagger.tasks.task", "DefaultProcessTemplateDAGInstance.setup_max_run_duration"): "self wokflow_instance",
    ("dagger.tasks.task", "KafkaAgent.__init__"): "self app topic task",
    ("dagger.executor.executor", "SerialExecutorStrategy.submit"): "self task_template repartition",
    ("dagger.service.services", "Dagger.__init__"): (
        "self broker datadir store application_name package_name kafka_partitions task_update_topic tasks_topic "
        "bootstrap_topic beacon kafka_broker_list loop tracing_sensor datadog_sensor trigger_interval "
        "max_tasks_per_trigger restart_tasks_on_boot aerospike_config enable_changelog max_correletable_keys_in_values "
        "schema_registry_url message_serializer delete_workflow_on_complete task_update_callbacks logging_config "
        "dead_letter_topic max_listener_message_bytes kwargs"
    ),
    ("dagger.service.services", "Dagger.update_correletable_key_for_task"): (
        "self task_instance key new_task workflow_instance"
    ),
    ("dagger.service.services", "Dagger.remove_task_from_correletable_keys_table"): "self task workflow_instance",
    ("dagger.service.services", "Dagger.chunk_and_store_correlatable_tasks"): "self cor_instance value workflow_id",
    ("dagger.service.services", "Dagger.get_correletable_key_instances"): "self cor_instance",
    ("dagger.service.services", "Dagger.persist_tasks_ids_for_correletable_keys"): "self lookup_keys cor_instances",
    ("dagger.service.services", "Dagger.get_monitoring_task"): "self task workflow_instance",
    ("dagger.service.services", "Dagger.get_instance"): "self id log",
    ("dagger.service.services", "Dagger.submit"): "self task repartition",
    ("dagger.service.services", "Dagger.create_topic"): (
        "topic_name key_type value_type key_serializer value_serializer"
    ),
    ("dagger.service.services", "Dagger.main"): "self override_logging",
    ("dagger.store.stores", "IStore.insert_key_value"): "self key value",
    ("dagger.store.stores", "IStore.store_trigger_instance"): "self task_instance wokflow_instance",
    ("dagger.store.stores", "IStore.process_trigger_task_complete"): "self task wokflow_instance",
    ("dagger.store.stores", "IStore.insert_trigger"): "self value",
    ("dagger.store.stores", "IStore.remove_trigger"): "self value",
    ("dagger.store.stores", "IStore.get_trigger"): "self key use_partition",
    ("dagger.store.stores", "IStore.get_valid_triggers"): "self",
    ("dagger.store.stores", "IStore.process_system_timer_task"): "self timer_task",
    ("dagger.store.stores", "RocksDBStore.insert_trigger"): "self value",
    ("dagger.store.stores", "RocksDBStore.remove_trigger"): "self key",
    ("dagger.store.stores", "RocksDBStore.get_trigger"): "self key use_partition",
    ("dagger.store.stores", "RocksDBStore.get_value_for_key"): "self key",
}

COROUTINES = {
    "dagger.store.stores": "IStore.get_valid_triggers IStore.insert_trigger IStore.remove_trigger IStore.get_trigger",
    "dagger.service.services": (
        "Dagger.get_monitoring_task Dagger.chunk_and_store_correlatable_tasks "
        "Dagger.persist_tasks_ids_for_correletable_keys Dagger.get_correletable_key_instances"
    ),
}


@pytest.mark.parametrize("module", sorted(PUBLIC_NAMES))
def test_every_public_name_imports_from_its_reference_path(module):
    imported = importlib.import_module(module)
    missing = [name for name in PUBLIC_NAMES[module].split() if not hasattr(imported, name)]
    assert missing == []


@pytest.mark.parametrize(("module", "qualname"), sorted(SIGNATURES))
def test_signatures_take_the_reference_parameters(module, qualname):
    owner_name, method = qualname.split(".")
    function = getattr(getattr(importlib.import_module(module), owner_name), method)
    assert " ".join(inspect.signature(function).parameters) == SIGNATURES[(module, qualname)]


@pytest.mark.parametrize(("module", "qualname"), [(m, q) for m, names in COROUTINES.items() for q in names.split()])
def test_methods_the_reference_declares_async_are_coroutines(module, qualname):
    owner_name, method = qualname.split(".")
    assert inspect.iscoroutinefunction(getattr(getattr(importlib.import_module(module), owner_name), method))


def test_the_rocksdb_store_yields_due_triggers_from_an_async_generator():
    from dagger.store.stores import RocksDBStore

    assert inspect.isasyncgenfunction(RocksDBStore.get_valid_triggers)


def test_record_fields_keep_the_reference_order():
    assert list(ITask._options.fields) == [
        "id",
        "time_submitted",
        "time_completed",
        "lastupdated",
        "task_name",
        "task_type",
        "parent_id",
        "status",
        "time_created",
        "next_dags",
        "root_dag",
        "message",
        "allow_skip_to",
        "reprocess_on_message",
        "correlatable_key",
    ]
    assert list(DefaultTemplateDAGInstance._options.fields)[-6:] == [
        "template_name",
        "partition_key_lookup",
        "tasks",
        "sensor_tasks_to_correletable_map",
        "runtime_parameters",
        "update_count",
    ]
    assert list(Trigger._options.fields) == ["trigger_time", "id", "workflow_id"]


def test_defaults_are_fresh_per_instance_and_times_taken_at_creation(manual_clock):
    first, second = ITask(uuid.uuid1()), ITask(uuid.uuid1())
    assert first.status is not second.status and first.next_dags is not second.next_dags
    first.status.code = "EXECUTING"
    assert second.status == TaskStatus()
    assert first.time_created == int(manual_clock.time())
    manual_clock.advance(5)
    assert ITask(uuid.uuid1()).time_created == int(manual_clock.time()) and Trigger().trigger_time == clock.now()
    workflows = DefaultTemplateDAGInstance(uuid.uuid1()), DefaultTemplateDAGInstance(uuid.uuid1())
    assert (
        workflows[0].tasks is not workflows[1].tasks
        and workflows[0].runtime_parameters is not workflows[1].runtime_parameters
    )


def test_abstract_task_classes_instantiate_with_a_positional_id():
    for task_type in (ITask, KafkaListenerTask, ParallelCompositeTask):
        assert task_type(uuid.uuid1()).status.code == "NOT_STARTED"


def test_workflow_round_trips_through_bytes_keeping_concrete_classes():
    workflow = DefaultTemplateDAGInstance(uuid.uuid1(), runtime_parameters={"k": "v"})
    listener = KafkaListenerTask(uuid.uuid1(), topic="t", parent_id=workflow.id)
    composite = ParallelCompositeTask(uuid.uuid1(), parallel_child_task_list=[listener.id])
    workflow.add_task(listener)
    workflow.add_task(composite)
    decoded = codec.loads(codec.dumps(workflow))
    assert decoded == workflow and type(decoded) is DefaultTemplateDAGInstance
    assert (
        type(decoded.tasks[listener.id]) is KafkaListenerTask
        and type(decoded.tasks[composite.id]) is ParallelCompositeTask
    )
    assert decoded.tasks[composite.id].parallel_child_task_list == [listener.id]
    assert ITask.loads(workflow.dumps()) == workflow and ITask.from_data(codec.to_data(workflow)) == workflow


def test_task_dto_carries_its_child_tasks_as_their_own_classes():
    from dagger.service.services import TaskDTO

    listener = KafkaListenerTask(uuid.uuid1(), topic="t")
    composite = ParallelCompositeTask(uuid.uuid1(), parallel_child_task_list=[listener.id])
    listing = TaskDTO(uuid.uuid1(), task_name="P", child_tasks=[listener, composite])
    decoded = ITask.loads(listing.dumps())
    assert type(decoded) is TaskDTO and decoded == listing
    assert [type(task) for task in decoded.child_tasks] == [KafkaListenerTask, ParallelCompositeTask]
    assert TaskDTO(uuid.uuid1()).child_tasks == [] and TaskDTO(uuid.uuid1()).child_tasks is not listing.child_tasks


def test_the_store_names_the_statuses_after_which_a_task_never_runs_again():
    from dagger.store.stores import TERMINAL_STATUSES
    from dagger.tasks._status import is_terminal
    from dagger.tasks.task import TaskStatusEnum

    assert TERMINAL_STATUSES == ["COMPLETED", "SKIPPED", "FAILURE", "STOPPED"]
    assert {status.name for status in TaskStatusEnum if is_terminal(status.name)} == set(TERMINAL_STATUSES)


def test_correlation_records_hash_by_value_and_round_trip():
    key = CorreletableLookUpKey(uuid.UUID(int=1), uuid.UUID(int=2))
    assert {key, CorreletableLookUpKey(uuid.UUID(int=1), uuid.UUID(int=2))} == {key}
    chunk = CorreletableKeyTasks(lookup_keys={key}, key="A1_topic")
    assert codec.loads(codec.dumps(chunk)) == chunk and CorreletableKeyTasks().lookup_keys is not chunk.lookup_keys


@pytest.mark.parametrize("payload", [b"not json", b"[1,2]", b'{"__faust": {"ns": "no.such.Class"}}', b'{"id": "x"}'])
def test_bytes_that_are_not_a_record_give_a_clear_error(payload):
    with pytest.raises(codec.RecordDecodeError):
        codec.loads(payload)


def test_seeded_ids_are_128_random_bits_of_the_seed():
    assert DAGIDGenerator.generate_dag_id_from_seed(random.Random(3)) == uuid.UUID(
        int=random.Random(3).getrandbits(128)
    )


@pytest.mark.parametrize("store", ["aerospike://", "memory://", "redis://localhost"])
def test_an_unsupported_store_is_refused_at_construction(store):
    from dagger.service.services import Dagger

    before = Dagger.app
    with pytest.raises(ValueError, match="unsupported store"):
        Dagger(broker="kafka://127.0.0.1:9092", store=store)
    assert Dagger.app is before


def test_logging_config_reaches_faust(offline_engine):
    logging_config = {"version": 1, "loggers": {"dagger": {"level": "DEBUG"}}}
    engine = offline_engine(logging_config=logging_config)
    assert engine.faust_app.conf.logging_config == logging_config


@pytest.mark.parametrize("guarantee", ["exactly_once", "enum", "at_least_once"])
def test_exactly_once_is_run_by_the_engine_not_by_faust(offline_engine, guarantee):
    from faust.types import ProcessingGuarantee

    given = ProcessingGuarantee.EXACTLY_ONCE if guarantee == "enum" else guarantee
    engine = offline_engine(processing_guarantee=given)
    assert engine.exactly_once == (guarantee != "at_least_once")
    assert engine.faust_app.conf.processing_guarantee == ProcessingGuarantee.AT_LEAST_ONCE
