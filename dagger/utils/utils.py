"""Small utilities of the public API."""

import random
import uuid


class DAGIDGenerator:
    """Deterministic workflow and task ids drawn from a seeded random generator."""

    @staticmethod
    def generate_dag_id_from_seed(seed: random.Random) -> uuid.UUID:
        """Return a UUID made of the next 128 random bits of ``seed``.

        The same seed state always gives the same id. The version and variant bits are left as drawn.
        """
        return uuid.UUID(int=seed.getrandbits(128))
