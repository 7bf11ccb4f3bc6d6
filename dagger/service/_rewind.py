"""After a rebalance: what faust reads between the end of recovery and its seek to the committed offsets.

When partitions move, faust drops the records it has fetched but not yet handed to a stream (the
flow stops, or the group's generation changes), and then relies on seeking every assigned partition
back to its committed offset to read them again. Two things can go wrong on the way, and each
loses records for good.

A partition with no committed offset yet (or one committed at 0, which the Kafka client does not
seek to) is left where its fetcher stopped, past the dropped records: on a young group, or after a
worker died before its first commit, whole partitions of workflows would stall. So before faust
seeks, each such partition of a source topic goes back to its first offset, which is where a
consumer with ``auto_offset_reset="earliest"`` (faust's default) starts anyway. Records read twice
this way are handled as any redelivery is: at least once.

Once recovery ends, faust resumes fetching the stream partitions while the flow is still running
for the changelogs, and only then asks the broker for the committed offsets and seeks. Records
fetched in between come from where the fetcher stood before the rebalance; some reach a stream,
and the batch they came in keeps being handed over after the seek, while faust clears the queues
it had put the others in. The records dropped that way lie behind offsets already handled and
committed, and nobody reads them again. So the flow stops as the rebalance completes, before faust
resumes the partitions: nothing is handed over until faust has sought and resumes the flow itself.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("dagger.service.services")

EARLIEST = "earliest"


async def settle_after_rebalance(app: Any) -> None:
    """Hold faust ``app``'s flow until it has sought, and rewind its partitions without a committed offset."""
    hold_flow_until_seek(app)
    try:
        rewound = await rewind_uncommitted(app)
    except Exception as error:
        logger.warning("Partitions without a committed offset were not rewound: %r", error)
    else:
        if rewound:
            logger.info("Read from their first offset, having no committed offset: %s", rewound)


def hold_flow_until_seek(app: Any) -> None:
    """Stop faust ``app``'s consumer from handing records over until faust resumes its flow after seeking."""
    app.consumer.stop_flow()


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
