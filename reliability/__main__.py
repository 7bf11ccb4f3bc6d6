"""Run the fault suite on a local broker and print what each scenario counted.

``python -m reliability [--workflows N] [--timeout SECONDS] [--exactly-once] [SCENARIO ...]``; the broker is
``DAGGER_BROKER`` (default ``kafka://127.0.0.1:9092``). Exits 0 when every scenario passes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from reliability.scenarios import SCENARIOS, run_scenario


async def run(names: list[str], workflows: int, timeout: float, processing_guarantee: str = "at_least_once") -> int:
    """Run the scenarios one after the other; return the exit code."""
    broker = os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092")
    failed = 0
    for name in names:
        outcome = await run_scenario(name, broker, workflows, timeout, processing_guarantee)
        print(outcome.summary(), flush=True)
        for event in outcome.events + outcome.problems:
            print(f"    {event}", flush=True)
        failed += not outcome.ok
    return 1 if failed else 0


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: the scenarios to run (all when none is named), jobs per scenario and timeout."""
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=f"any of {', '.join(SCENARIOS)} (default: all)"
    )
    parser.add_argument("--workflows", type=int, default=1000, help="jobs per scenario (default 1000)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a batch of jobs may take")
    parser.add_argument(
        "--exactly-once",
        dest="processing_guarantee",
        action="store_const",
        const="exactly_once",
        default="at_least_once",
        help="run the workers exactly-once: a command sent twice fails the scenario",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.scenarios = args.scenarios or list(SCENARIOS)
    return args


def main() -> int:
    """Parse the command line and run the suite.

    The suite's own Kafka clients (the responder, the poison sender) retry through the faults it causes;
    their connection errors, thousands while the broker is down, would bury the counts, so they are not
    shown: a broker that stays away fails the scenarios that need it.
    """
    args = parse_arguments()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    return asyncio.run(run(args.scenarios, args.workflows, args.timeout, args.processing_guarantee))


if __name__ == "__main__":
    sys.exit(main())
