"""How the model reaches the running engine: the ``app`` of the engine's class, ``Dagger.app``.

The engine's class attaches itself here when it is defined, so the model never imports the engine;
what the model may ask of it is :class:`dagger.types.Engine`.
"""

from __future__ import annotations

from typing import Any, cast

from dagger.types import Engine

_holder: Any = None


def attach(holder: Any) -> None:
    """Make ``holder.app`` the engine the model talks to; the engine's class calls this once."""
    global _holder
    _holder = holder


def engine() -> Engine:
    """Return the engine the model talks to (``dagger.service.services.Dagger.app``).

    Raises:
        RuntimeError: no engine class has been attached, that is ``dagger.service.services`` was never imported.
    """
    if _holder is None:
        raise RuntimeError("no Dagger engine: import dagger.service.services and create a Dagger")
    return cast(Engine, _holder.app)
