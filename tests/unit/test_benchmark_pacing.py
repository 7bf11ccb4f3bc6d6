"""Paced sending hands items over evenly spaced, never early, and catches up at once when sending lags."""

from __future__ import annotations

import asyncio

from benchmarks._pacing import paced


async def test_each_item_is_sent_no_earlier_than_its_turn_and_in_order() -> None:
    loop = asyncio.get_running_loop()
    sent: list[tuple[int, float]] = []

    async def send(item: int) -> None:
        sent.append((item, loop.time()))

    start = loop.time()
    await paced(range(10), 200.0, send)
    assert [item for item, _ in sent] == list(range(10))
    assert all(moment >= start + item / 200.0 for item, moment in sent)
    assert sent[-1][1] - start < 1.0


async def test_items_that_fell_behind_go_without_waiting() -> None:
    loop = asyncio.get_running_loop()
    sent: list[float] = []

    async def slow_send(item: int) -> None:
        sent.append(loop.time())
        if item == 0:
            await asyncio.sleep(0.3)

    start = loop.time()
    await paced(range(4), 100.0, slow_send)
    assert sent[1] - start >= 0.3
    assert sent[3] - sent[1] < 0.1
