"""Sending at a fixed rate: items handed over evenly spaced in time rather than in one burst."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

Item = TypeVar("Item")


async def paced(items: Iterable[Item], rate: float, send: Callable[[Item], Awaitable[None]]) -> None:
    """Await ``send`` on each of ``items`` in turn, the one numbered ``i`` (from 0) no earlier than ``i / rate``
    seconds after the first; one that falls behind, because sending took longer, is sent at once."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for number, item in enumerate(items):
        due = start + number / rate
        while (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        await send(item)
