"""A representative part of the fault suite (``python -m reliability``; ``docs/reliability.md``), smaller.

Each scenario runs three worker processes of ``reliability.worker`` in one consumer group on six
partitions, on the real broker, and fails with the scenario's counts and events when a workflow is
lost or run twice, the application code raises, a poison message is not dead-lettered, a worker
stops, or (exactly-once) a command is sent twice. ``make reliability`` runs every scenario with 1,000
workflows, the broker restart and the memory batches included.
"""

from __future__ import annotations

import pytest

from reliability.scenarios import run_scenario
from tests.support import broker_url

SUBSET = [
    pytest.param("sigkill", 300, "at_least_once", id="sigkill"),
    pytest.param("sigkill", 300, "exactly_once", id="sigkill-exactly-once"),
    pytest.param("lost-disk", 200, "at_least_once", id="lost-disk"),
    pytest.param("membership", 300, "at_least_once", id="membership"),
    pytest.param("redelivery", 200, "at_least_once", id="redelivery"),
    pytest.param("poison", 200, "at_least_once", id="poison"),
]


@pytest.mark.parametrize(("scenario", "workflows", "guarantee"), SUBSET)
async def test_fault_scenario(scenario: str, workflows: int, guarantee: str) -> None:
    outcome = await run_scenario(scenario, broker_url(), workflows, timeout=180, processing_guarantee=guarantee)
    report = "\n".join([outcome.summary(), *outcome.events, *outcome.problems])
    assert outcome.ok, report
    assert outcome.completed == outcome.workflows >= workflows, report
