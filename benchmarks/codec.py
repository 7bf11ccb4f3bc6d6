"""Microseconds to build, encode and decode one pizza workflow, in this checkout or side by side with another.

``python -m benchmarks.codec [--rounds R] [--count N] [--against PATH]``. Each figure is the median over R
rounds of N operations. With ``--against`` the same measurement runs in two fresh processes that import
``dagger`` and ``examples`` from this checkout and from the one at PATH, alternately, and the ratio of the
medians is printed. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("create us", "encode us", "decode us")


async def measure(rounds: int, count: int) -> dict[str, float]:
    """The medians, in microseconds per workflow, of creating, encoding and decoding a pizza workflow."""
    from dagger import codec
    from dagger.tasks.task import ITemplateDAGInstance
    from dagger.testing import installed
    from examples.pizza.workflow import BUILDERS_TEMPLATE, register_pizza_templates

    with installed() as engine:
        register_pizza_templates()
        template = engine.get_template(BUILDERS_TEMPLATE)

        async def create() -> Any:
            parameters = {"order_id": f"order-{uuid.uuid4().hex}"}
            return await template.create_instance(
                uuid.uuid1(), "order_id", repartition=False, submit_task=False, **parameters
            )

        workflow = await create()
        payload = codec.dumps(workflow)
        created = [await timed_async(create, count) for _ in range(rounds)]
    encoded = [timed(lambda: codec.dumps(workflow), count) for _ in range(rounds)]
    decoded = [
        timed(lambda: codec.loads(payload, expected=ITemplateDAGInstance, strict=True), count) for _ in range(rounds)
    ]
    return {
        "bytes": float(len(payload)),
        "create us": statistics.median(created),
        "encode us": statistics.median(encoded),
        "decode us": statistics.median(decoded),
    }


def timed(operation: Callable[[], Any], count: int) -> float:
    """Microseconds per call of ``operation``, over ``count`` calls."""
    started = time.perf_counter()
    for _ in range(count):
        operation()
    return (time.perf_counter() - started) / count * 1e6


async def timed_async(operation: Callable[[], Any], count: int) -> float:
    """Microseconds per awaited call of ``operation``, over ``count`` calls."""
    started = time.perf_counter()
    for _ in range(count):
        await operation()
    return (time.perf_counter() - started) / count * 1e6


def measure_in(root: Path, rounds: int, count: int) -> dict[str, float]:
    """Run :func:`measure` in a fresh process that imports the engine from checkout ``root``."""
    code = (
        "import asyncio, json, runpy, sys; "
        f"sys.path.insert(0, {str(root)!r}); "
        f"module = runpy.run_path({str(Path(__file__).resolve())!r}); "
        f"print(json.dumps(asyncio.run(module['measure']({rounds}, {count}))))"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True, timeout=600
    )
    return dict(json.loads(finished.stdout.strip().splitlines()[-1]))


def main() -> int:
    """Parse the command line, measure and print."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.codec", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds, of which the median is taken (default 7)")
    parser.add_argument("--count", type=int, default=2000, help="operations per round (default 2000)")
    parser.add_argument("--against", type=Path, default=None, help="another checkout to compare with")
    args = parser.parse_args()
    if args.rounds < 1 or args.count < 1:
        parser.error("--rounds and --count must be at least 1")
    checkouts = {"this": ROOT, **({"against": args.against.resolve()} if args.against else {})}
    results: dict[str, list[dict[str, float]]] = {label: [] for label in checkouts}
    for attempt in range(3 if args.against else 1):
        order = list(checkouts) if attempt % 2 == 0 else list(reversed(checkouts))
        for label in order:
            results[label].append(measure_in(checkouts[label], args.rounds, args.count))
    print(f"{'':>14}  {'bytes':>6}  " + "  ".join(f"{figure:>10}" for figure in FIGURES))
    medians = {
        label: {figure: statistics.median(run[figure] for run in runs) for figure in ("bytes", *FIGURES)}
        for label, runs in results.items()
    }
    for label, figures in medians.items():
        print(f"{label:>14}  {figures['bytes']:>6.0f}  " + "  ".join(f"{figures[f]:>10.1f}" for f in FIGURES))
    if args.against:
        ratios = [medians["this"][figure] / medians["against"][figure] for figure in FIGURES]
        print(f"{'this/against':>14}  {'':>6}  " + "  ".join(f"{ratio:>10.3f}" for ratio in ratios))
    against = f" --against {args.against}" if args.against else ""
    print(f"command: python -m benchmarks.codec --rounds {args.rounds} --count {args.count}{against}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
