"""How creation draws the id of each new task."""

from __future__ import annotations

import random
import uuid

from dagger.utils.utils import DAGIDGenerator


def new_task_id(seed: random.Random | None) -> uuid.UUID:
    """Draw the next id from ``seed`` (deterministic) or, without one, a time-based ``uuid1``."""
    return DAGIDGenerator.generate_dag_id_from_seed(seed) if seed else uuid.uuid1()
