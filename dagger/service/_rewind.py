"""After a rebalance, partitions that have no committed offset are read again from their first offset.

When partitions move, faust drops the records it has fetched but not yet handed to a stream (the
flow stops, or the group's generation changes), and then relies on seeking every assigned partition
back to its committed offset to read them again. A partition with no committed offset yet (or one
committed at 0, which the Kafka client does not seek to) is left where its fetcher stopped, past the
dropped records, and they are never read: on a young group, or after a worker died before its first
commit, whole partitions of workflows would stall.

So before faust seeks, each such partition of a source topic goes back to its first offset, which is
where a consumer with ``auto_offset_reset="earliest"`` (faust's default) starts anyway. Records read
twice this way are handled as any redelivery is: at least once.
"""

from __future__ import annotations

from typing import Any

EARLIEST = "earliest"


async def rewind_uncommitted(app: Any) -> list[Any]:
    """Seek the assigned source partitions of faust ``app`` without a committed offset to their first offset.

    Returns the partitions moved. Does nothing unless the consumer's offset reset policy is ``earliest``.
    """
    if app.conf.consumer_auto_offset_reset != EARLIEST:
        return []
    consumer = app.consumer
    changelogs = app.tables.changelog_topics
    committed = await consumer.seek_to_committed()
    uncommitted = sorted(
        (tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs),
        key=lambda tp: (tp.topic, tp.partition),
    )
    if not uncommitted:
        return []
    first = await consumer.earliest_offsets(*uncommitted)
    for tp in uncommitted:
        await consumer.seek(tp, first[tp])
    return uncommitted
