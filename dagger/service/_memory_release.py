"""Hand the memory a worker has freed back to the operating system.

glibc's allocator keeps what a process frees for its next allocations and gives back to the system
only the free top of its heap. A worker frees memory all the time in the middle of its heap: RocksDB
drops flushed memtables and evicted cache blocks, Python drops the messages and workflows it handled.
That memory stays resident, and the resident size of a long-running worker creeps up with the work
it has done though what it uses does not. Every :data:`RELEASE_INTERVAL` seconds the engine calls
glibc's ``malloc_trim(0)``, which returns every free page of the heap, in a thread of its own so the
event loop does not wait. With another C library (where there is no ``malloc_trim``) nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
from collections.abc import Callable

RELEASE_INTERVAL = 30.0
"""Seconds between two releases of freed memory."""


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the process's C library has none."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


MALLOC_TRIM = _malloc_trim()


async def release_freed_memory() -> None:
    """Return the free pages of the C heap to the operating system (glibc only)."""
    if MALLOC_TRIM is not None:
        await asyncio.get_running_loop().run_in_executor(None, MALLOC_TRIM, 0)
