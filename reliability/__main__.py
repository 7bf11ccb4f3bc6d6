"""Run the fault suite on a local broker and print what each scenario counted.

``python -m reliability [--workflows N] [--timeout SECONDS] [SCENARIO ...]``; the broker is
``DAGGER_BROKER`` (default ``kafka://127.0.0.1:9092``). Exits 0 when every scenario passes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from reliability.scenarios import SCENARIOS, run_scenario


async def run(names: list[str], workflows: int, timeout: float) -> int:
    """Run the scenarios one after the other; return the exit code."""
    broker = os.environ.get("DAGGER_BROKER", "kafka://127.0.0.1:9092")
    failed = 0
    for name in names:
        outcome = await run_scenario(name, broker, workflows, timeout)
        print(outcome.summary(), flush=True)
        for event in outcome.events + outcome.problems:
            print(f"    {event}", flush=True)
        failed += not outcome.ok
    return 1 if failed else 0


def main() -> int:
    """Parse the command line and run the suite."""
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], default=list(SCENARIOS))
    parser.add_argument("--workflows", type=int, default=1000, help="jobs per scenario (default 1000)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a batch of jobs may take")
    args = parser.parse_args()
    return asyncio.run(run(args.scenarios or list(SCENARIOS), args.workflows, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
