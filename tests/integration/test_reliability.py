"""A representative part of the fault suite (``python -m reliability``; ``docs/reliability.md``), smaller.

Each scenario runs three worker processes of ``reliability.worker`` in one consumer group on six
partitions, on the real broker, and fails with the scenario's counts and events when a workflow is
lost, a poison message is not dead-lettered or a worker stops. ``make reliability`` runs every
scenario with 1,000 workflows, the broker restart and the memory batches included.
"""

from __future__ import annotations

import pytest

from reliability.scenarios import run_scenario
from tests.support import broker_url

SUBSET = [
    pytest.param("sigkill", 300, id="sigkill"),
    pytest.param("lost-disk", 200, id="lost-disk"),
    pytest.param("membership", 300, id="membership"),
    pytest.param("poison", 200, id="poison"),
]


@pytest.mark.parametrize(("scenario", "workflows"), SUBSET)
async def test_fault_scenario(scenario: str, workflows: int) -> None:
    outcome = await run_scenario(scenario, broker_url(), workflows, timeout=180)
    report = "\n".join([outcome.summary(), *outcome.events, *outcome.problems])
    assert outcome.ok, report
    assert outcome.completed == outcome.workflows >= workflows, report
