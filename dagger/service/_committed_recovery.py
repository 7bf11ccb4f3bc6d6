"""Recovering tables past transaction commit markers (exactly-once).

A changelog written in transactions ends with a commit marker: an offset that holds no record and
that a consumer reading committed messages steps over. Faust counts a partition as recovered once it
has applied the record at the partition's last offset, which a marker never is; it handles that only
when it runs the transactions itself. So under Dagger's transactions a partition whose consumer has
read to the end, with nothing left to apply, is marked recovered here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("dagger.service.services")


async def recover_past_commit_markers(app: Any, stopping: Callable[[], bool]) -> None:
    """Every second until ``stopping()``: end the recovery of changelog partitions read up to a commit marker."""
    past_markers = PastCommitMarkers(app)
    while not stopping():
        await asyncio.sleep(1.0)
        try:
            marked = await past_markers()
        except Exception as error:
            logger.warning("Changelog partitions ending in a commit marker were not checked: %r", error)
        else:
            if marked:
                logger.info("Recovered up to their closing commit marker: %s", marked)


class PastCommitMarkers:
    """Marks actively recovering changelog partitions read to their end as recovered (call it periodically)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._at_end: set[Any] = set()

    async def __call__(self) -> list[Any]:
        """Mark the partitions found read to their end, with nothing queued, at this call and the one before;
        return those marked now."""
        recovery = self.app.tables.recovery
        if not recovery.in_recovery or not self.app.tables.changelog_queue.empty():
            self._at_end.clear()
            return []
        at_end = set()
        for tp, highwater in list(recovery.active_highwaters.items()):
            offset = recovery.active_offsets.get(tp)
            if highwater is None or offset is None or offset >= highwater:
                continue
            position = await self.app.consumer.position(tp)
            if position is not None and position > highwater:
                at_end.add(tp)
        marked = sorted(at_end & self._at_end)
        for tp in marked:
            recovery.active_offsets[tp] = recovery.active_highwaters[tp]
        self._at_end = at_end - set(marked)
        return marked
