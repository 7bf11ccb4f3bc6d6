"""What the benchmark commands share: the error of a measurement that did not finish, and their logging."""

from __future__ import annotations

import logging


class BenchmarkError(Exception):
    """A run or measurement did not finish."""


def configure_logging() -> None:
    """Log warnings, except the group coordinator's, which every start of a worker brings."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.CRITICAL)
