"""What an engine makes of the reference's constructor options, of its application package and of monitors.

The engines here are constructed and never started; ``tests/integration/test_engine_compat.py`` starts them.
"""

from __future__ import annotations

import logging
import sys
import uuid

import pytest

from dagger.exceptions.exceptions import TemplateDoesNotExist
from dagger.service._topics import bootstrap_servers
from dagger.tasks.task import (
    DefaultMonitoringTask,
    DefaultTemplateDAGInstance,
    ExecutorTask,
    MonitoredProcessTemplateDAGInstance,
)
from tests.support import unique_name, write_package

ORDERS_DEFINITION = """
from dagger.modeler.builder_helper import DAGBuilderHelper
from dagger.service.services import Dagger
from tests.unit.workflows import Note


@Dagger.register_template("Orders")
def orders(template_name):
    helper = DAGBuilderHelper(Dagger.app)
    task = helper.generic_executor_task_builder(task_type=Note, name="note").build()
    process = helper.generic_process_builder(process_name="P", root_task=task).build()
    return helper.generic_template(template_name=template_name, root_process=process)
"""


def test_an_unknown_template_name_has_the_application_package_imported_first(offline_engine, tmp_path, monkeypatch):
    package = unique_name("shop").replace("-", "_")
    write_package(
        tmp_path,
        package,
        {"flows.orders": ORDERS_DEFINITION, "flows.test_orders": "raise AssertionError('a test module')"},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    engine = offline_engine(package_name=package)
    assert f"{package}.flows.orders" not in sys.modules

    assert engine.get_template("Orders").name == "Orders"
    assert f"{package}.flows.orders" in sys.modules and f"{package}.flows.test_orders" not in sys.modules
    with pytest.raises(TemplateDoesNotExist):
        engine.get_template("Unknown")


def test_the_default_package_name_names_no_application_package(offline_engine):
    assert offline_engine().faust_app.conf.autodiscover is False
    assert offline_engine(package_name="shop").faust_app.conf.autodiscover is True


@pytest.mark.parametrize("written", [False, True], ids=["missing", "failing"])
def test_a_package_name_that_cannot_be_imported_is_logged(offline_engine, caplog, tmp_path, monkeypatch, written):
    package = unique_name("shop").replace("-", "_")
    if written:
        write_package(tmp_path, package, {"__init__": "raise RuntimeError('broken')", "orders": ORDERS_DEFINITION})
        monkeypatch.syspath_prepend(str(tmp_path))
    engine = offline_engine(package_name=package)
    with pytest.raises(TemplateDoesNotExist):
        engine.get_template("Orders")
    problems = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert any("not discovered" in problem for problem in problems)


@pytest.mark.parametrize("listed", [["127.0.0.1:9094", "kafka://127.0.0.1:9095"], "127.0.0.1:9094,127.0.0.1:9095"])
def test_kafka_broker_list_adds_brokers_to_bootstrap_from(offline_engine, listed):
    engine = offline_engine(broker="kafka://127.0.0.1:9093", kafka_broker_list=listed)
    assert bootstrap_servers(engine.faust_app.conf.broker) == ["127.0.0.1:9093", "127.0.0.1:9094", "127.0.0.1:9095"]
    assert engine.kafka_broker_list == listed


def test_a_schema_registry_url_gives_a_client_and_an_avro_serializer_on_it(offline_engine):
    from schema_registry.client import SchemaRegistryClient
    from schema_registry.serializers import AvroMessageSerializer

    engine = offline_engine(schema_registry_url="http://127.0.0.1:8081")
    client = engine.schema_registry_client
    assert isinstance(client, SchemaRegistryClient) and client.url_manager.url == "http://127.0.0.1:8081/"
    assert isinstance(engine.message_serializer, AvroMessageSerializer)
    assert engine.message_serializer.schemaregistry_client is client


def test_a_given_message_serializer_is_the_one_offered(offline_engine):
    serializer = object()
    assert offline_engine(message_serializer=serializer).message_serializer is serializer
    with_registry = offline_engine(schema_registry_url="http://127.0.0.1:8081", message_serializer=serializer)
    assert with_registry.message_serializer is serializer and with_registry.schema_registry_client is not None
    assert offline_engine().schema_registry_client is None


async def test_the_monitoring_task_of_a_monitored_process_is_found_in_its_workflow(offline_engine):
    engine = offline_engine()
    workflow = DefaultTemplateDAGInstance(uuid.uuid1())
    monitor = DefaultMonitoringTask(uuid.uuid1())
    process = MonitoredProcessTemplateDAGInstance(uuid.uuid1(), monitoring_task_id=monitor.id)
    workflow.add_task(monitor)
    workflow.add_task(process)
    assert await engine.get_monitoring_task(process, workflow) is monitor
    assert await engine.get_monitoring_task(MonitoredProcessTemplateDAGInstance(uuid.uuid1()), workflow) is None
    assert await engine.get_monitoring_task(ExecutorTask(uuid.uuid1()), workflow) is None


@pytest.mark.parametrize("setting", ["producer_max_request_size", "consumer_max_fetch_size"])
def test_a_client_limit_below_the_largest_forwarded_message_is_refused(offline_engine, setting):
    with pytest.raises(ValueError, match=setting):
        offline_engine(**{setting: 1_000_000})


def test_the_clients_are_sized_for_the_largest_forwarded_message(offline_engine):
    engine = offline_engine(max_listener_message_bytes=2_000_000)
    conf = engine.faust_app.conf
    assert conf.producer_max_request_size == conf.consumer_max_fetch_size == 2_000_000 + 64 * 1024


def test_producer_batches_stay_within_what_the_engines_topics_take(offline_engine):
    assert offline_engine().faust_app.conf.producer_max_batch_size == 512 * 1024
    small = offline_engine(max_listener_message_bytes=64 * 1024)
    assert small.faust_app.conf.producer_max_batch_size == 128 * 1024
    with pytest.raises(ValueError, match="producer_max_batch_size"):
        offline_engine(max_listener_message_bytes=64 * 1024, producer_max_batch_size=256 * 1024)
