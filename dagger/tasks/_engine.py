"""How the model reaches the running engine: the process-wide ``Dagger.app``."""

from __future__ import annotations

from typing import Any


def engine() -> Any:
    """Return the engine the model talks to (``dagger.service.services.Dagger.app``)."""
    from dagger.service.services import Dagger

    return Dagger.app
