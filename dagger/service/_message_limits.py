"""How large a message every hop of the engine carries, so that what it accepts as a listener message arrives.

The engine takes listener messages of up to ``max_listener_message_bytes`` and may forward each one on
its own topics with a key and headers added. Every client and topic on the way is sized for that
message plus :data:`FORWARD_HEADROOM`: faust's producer (its request size) and consumer (its fetch
size), the transactional producer under exactly-once, and the topics the engine creates. The producer's
batches stay within that size too: the broker refuses a batch larger than a topic's limit whole, and
aiokafka does not split it, so every message in it would be lost. At start-up
the engine reads the limit of its own topics and refuses to run on one too small (one created before,
by hand or by an older version): it would drop what it should forward.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

FORWARD_HEADROOM = 64 * 1024
"""Bytes a forwarded message may take beyond its value: its key, the engine's headers, the record's framing."""

CLIENT_LIMITS = ("producer_max_request_size", "consumer_max_fetch_size")
"""faust's settings that bound the size of a message its producer sends and its consumer fetches."""

BATCH_SETTING = "producer_max_batch_size"
PRODUCE_BATCH_BYTES = 512 * 1024
"""How many bytes of messages to one partition the producer gathers into a batch, at most (faust's default:
16 KiB), unless the engine's topics take less.

The producer has one request in flight to a broker at a time and, once a partition's batch is full,
waits for it to be sent before adding to it. With faust's default a changelog batch held three or
four saved workflows, so saving waited on the broker every few workflows; a larger batch takes what
accumulates while the previous request is answered.
"""


def largest_message(max_listener_message_bytes: int) -> int:
    """The largest message the engine sends and its topics must take."""
    return max_listener_message_bytes + FORWARD_HEADROOM


def size_clients(options: MutableMapping[str, Any], largest: int) -> None:
    """Set faust's client limits in ``options`` to carry ``largest`` bytes, and its producer's batch size to at most
    that; raises ``ValueError`` for a limit the application set lower, or a batch size it set higher."""
    for setting in CLIENT_LIMITS:
        given = options.get(setting)
        if given is not None and given < largest:
            raise ValueError(
                f"{setting}={given} is smaller than the {largest} bytes the engine must carry "
                f"(max_listener_message_bytes plus {FORWARD_HEADROOM} for key and headers): raise it, or lower "
                f"max_listener_message_bytes"
            )
        options.setdefault(setting, largest)
    batch = options.setdefault(BATCH_SETTING, min(PRODUCE_BATCH_BYTES, largest))
    if batch > largest:
        raise ValueError(
            f"{BATCH_SETTING}={batch} is larger than the {largest} bytes the engine's topics take: the broker would "
            f"refuse such batches whole; lower it, or raise max_listener_message_bytes"
        )


def too_small(limits: Mapping[str, int], largest: int) -> str | None:
    """What is wrong with topics whose ``max.message.bytes`` (``limits``) is under ``largest``; None if nothing."""
    small = {name: limit for name, limit in sorted(limits.items()) if limit < largest}
    if not small:
        return None
    listed = ", ".join(f"{name} ({limit})" for name, limit in small.items())
    return (
        f"the engine's topics {listed} take messages of fewer bytes than the {largest} the engine forwards "
        f"(max_listener_message_bytes plus {FORWARD_HEADROOM} for key and headers): set their max.message.bytes "
        f"to at least {largest}, or lower max_listener_message_bytes"
    )
