"""Importing the application's modules, so that every ``@Dagger.register_template`` in them runs.

The reference gave ``package_name`` to faust as the app's ``origin`` with autodiscovery on: faust
imports that package and every module below it (skipping ``test_*`` modules and ``__main__``), so
the decorators of every module register their definitions. The engine has faust do that before the
worker starts, because a listener's topic must be declared before faust starts consuming.
"""

from __future__ import annotations

import logging

import faust

logger = logging.getLogger("dagger.service.services")

LIBRARY_PACKAGE = __name__.split(".")[0]


def discovers(package_name: str) -> bool:
    """Whether ``package_name`` names an application package to import: not this library (the default)."""
    return package_name.split(".")[0] != LIBRARY_PACKAGE


def discover(app: faust.App) -> None:
    """Import every module of the app's ``origin`` (and of its ``autodiscover`` list).

    A module that fails to import is logged and passed over (by faust); so is a package that cannot be
    found (the application may import its definitions itself) or whose own import fails.
    """
    try:
        app.discover()
    except ModuleNotFoundError as error:
        logger.warning("Workflow definitions not discovered: %s", error)
    except Exception:
        logger.exception("Workflow definitions not discovered: importing %r failed", app.conf.origin)
