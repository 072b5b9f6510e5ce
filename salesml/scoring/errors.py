"""Errors of the scoring engine layer."""

from __future__ import annotations

__all__ = ["FeatureMismatchError", "InsufficientDataError"]


class InsufficientDataError(ValueError):
    """Too few labelled rows, or a single outcome class, to fit a scoring model."""


class FeatureMismatchError(ValueError):
    """The rows to score do not carry the features the model was trained on."""
