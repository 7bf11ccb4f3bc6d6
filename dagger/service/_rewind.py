"""After a rebalance: what faust reads between the end of recovery and its seek to the committed offsets.

When partitions move, faust drops the records it has fetched but not yet handed to a stream (the
flow stops, or the group's generation changes), and then relies on seeking every assigned partition
back to its committed offset to read them again. Two things can go wrong on the way, and each
loses records for good.

Once recovery ends, faust resumes fetching the stream partitions while the flow is still running
for the changelogs, and only then asks the broker for the committed offsets and seeks. Records
fetched in between come from where the fetcher stood before the rebalance; some reach a stream,
and the batch they came in keeps being handed over after the seek, while faust clears the queues
it had put the others in. The records dropped that way lie behind offsets already handled and
committed, and nobody reads them again. So the flow stops as the rebalance completes, before faust
resumes the partitions: nothing is handed over until faust has sought and resumes the flow itself.

A partition with no committed offset yet (or one committed at 0, which the Kafka client does not seek
to) is not moved by faust's seek and stays where its fetcher stopped, past the dropped records: on a
young group, or after a worker died before its first commit, whole partitions would stall. Faust seeks
after recovery, and also each time its fetcher hands it a batch while the flow is stopped, which it
then drops: with the flow held, a batch of such a partition fetched after the partitions resume is
dropped that way. So every seek of faust's consumer to the committed offsets also sends each source
partition without one back to offset 0, which is where a consumer with ``auto_offset_reset="earliest"``
(faust's default) starts anyway; when the broker no longer holds offset 0, that policy moves the
consumer on to the first offset it holds. The seek asks the broker nothing: a request for the first
offset would wait behind the fetch faust has just sent. Records read twice this way are handled as any
redelivery is: at least once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("dagger.service.services")

EARLIEST = "earliest"


def hold_flow_until_seek(app: Any) -> None:
    """Stop faust ``app``'s consumer from handing records over until faust resumes its flow after seeking."""
    app.consumer.stop_flow()


def rewind_uncommitted_on_seek(app: Any) -> None:
    """Make every seek of faust ``app``'s consumer to the committed offsets also rewind the source partitions
    without one (:func:`rewind_uncommitted`); call it before the consumer starts."""
    consumer = app.consumer
    seek_to_committed = consumer.seek_to_committed

    async def seek_to_committed_or_zero() -> Mapping[Any, int | None]:
        committed = await seek_to_committed()
        try:
            rewound = await rewind_uncommitted(app, committed)
        except Exception as error:
            logger.warning("Partitions without a committed offset were not rewound: %r", error)
        else:
            if rewound:
                logger.info("Read from offset 0, having no committed offset: %s", rewound)
        return committed

    consumer.seek_to_committed = seek_to_committed_or_zero


async def rewind_uncommitted(app: Any, committed: Mapping[Any, int | None]) -> list[Any]:
    """Seek the source partitions of faust ``app`` whose ``committed`` offset is missing or 0 to offset 0.

    Returns the partitions moved. Does nothing unless the consumer's offset reset policy is ``earliest``.
    """
    if app.conf.consumer_auto_offset_reset != EARLIEST:
        return []
    changelogs = app.tables.changelog_topics
    uncommitted = sorted(
        (tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs),
        key=lambda tp: (tp.topic, tp.partition),
    )
    for tp in uncommitted:
        await app.consumer.seek(tp, 0)
    return uncommitted
