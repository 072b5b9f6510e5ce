"""The salesml data model: table specs, the SalesData bundle, IO, validation.

The simulator lives in :mod:`salesml.simulator` (it depends on this package, not the
other way round).

Names are imported lazily so that ``import salesml.data.schema`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SPECS": "salesml.data.schema",
    "TABLE_NAMES": "salesml.data.schema",
    "TableSpec": "salesml.data.schema",
    "DatasetConfig": "salesml.data.config",
    "DatasetError": "salesml.data.errors",
    "MissingTableError": "salesml.data.bundle",
    "SalesData": "salesml.data.bundle",
    "load_dataset": "salesml.data.io",
    "save_dataset": "salesml.data.io",
    "ValidationReport": "salesml.data.validate",
    "validate": "salesml.data.validate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'salesml.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
