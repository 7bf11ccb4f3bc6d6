"""The fault suite's command line."""

from __future__ import annotations

import pytest

from reliability.__main__ import parse_arguments
from reliability.scenarios import SCENARIOS


def test_every_scenario_runs_when_none_is_named() -> None:
    args = parse_arguments([])
    assert args.scenarios == list(SCENARIOS)
    assert (args.workflows, args.timeout) == (1000, 300.0)


def test_named_scenarios_run_in_the_order_given() -> None:
    assert parse_arguments(["poison", "sigkill", "--workflows", "50"]).scenarios == ["poison", "sigkill"]


def test_an_unknown_scenario_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_arguments(["sigkill", "nope"])
    assert exit_.value.code == 2
    assert "unknown scenario nope" in capsys.readouterr().err
