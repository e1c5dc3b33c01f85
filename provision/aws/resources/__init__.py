"""One module per AWS resource type; importing this package registers every one of them.

Modules are found on disk, so a new resource type is added by dropping a module here: nothing
else needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Imports every module of the package so each `@register` runs (idempotent)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


load_all()
