"""Save and load a fitted :class:`~salesml.health.model.DealHealthModel`.

A saved model is a folder holding ``model.json`` (the model's ``to_dict()``: settings,
encoder, calibrator, coefficients, card figures) and, for the LightGBM engine,
``booster.txt`` (LightGBM's own text format); see :mod:`salesml.scoring.persistence`.
Nothing is pickled, so loading a model file cannot run code. A model saved by another
kind of scoring model, or by an older format, is refused with a message.
"""

from __future__ import annotations

from pathlib import Path

from salesml.health.model import DealHealthModel

__all__ = ["load_model", "save_model"]


def save_model(model: DealHealthModel, path: str | Path) -> Path:
    """Write ``model`` to the folder ``path`` (created if needed); returns the folder."""
    return model.save(path)


def load_model(path: str | Path) -> DealHealthModel:
    """Read a model written by :func:`save_model`.

    Raises
    ------
    FileNotFoundError
        When ``path`` holds no ``model.json``.
    ValueError
        When the folder holds another kind of model or an unknown format version.
    """
    model = DealHealthModel.load(path)
    assert isinstance(model, DealHealthModel)
    return model
