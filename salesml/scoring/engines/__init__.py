"""Scoring engines: one learner per module behind the :class:`Engine` protocol.

- :class:`LightGBMEngine` (``lightgbm``): gradient-boosted trees for enough history;
- :class:`LogisticEngine` (``logistic``): the small-data ridge logistic regression.

:data:`ENGINES` maps each name to its class; :func:`engine_from_dict` rebuilds a saved
engine by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salesml.scoring.engines.base import Engine
from salesml.scoring.engines.lightgbm import LightGBMEngine
from salesml.scoring.engines.logistic import LogisticEngine

__all__ = ["ENGINES", "Engine", "LightGBMEngine", "LogisticEngine", "engine_from_dict"]

#: Engine name -> class.
ENGINES: dict[str, type[Any]] = {
    LightGBMEngine.name: LightGBMEngine,
    LogisticEngine.name: LogisticEngine,
}


def engine_from_dict(d: Mapping[str, Any], files: Mapping[str, str]) -> Engine:
    """Rebuild a fitted engine saved with ``to_dict()`` / ``files()``."""
    name = d.get("name")
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    return ENGINES[name].from_dict(d, files)
