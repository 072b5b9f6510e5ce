"""The engine protocol: what a scoring model asks of the learner behind it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

__all__ = ["Engine"]


@runtime_checkable
class Engine(Protocol):
    """A learner of win log-odds over a numeric design matrix.

    An engine knows nothing of deals or leads: it sees a float matrix (``NaN`` for
    missing values), the names of its columns and 0/1 labels. Settings go in
    ``__init__``; :meth:`fit` returns the engine. Saving goes through
    :meth:`to_dict` (JSON-ready) plus :meth:`files` (named text files, e.g.
    LightGBM's own model text); nothing is pickled.
    """

    #: Registry name (``"lightgbm"``, ``"logistic"``).
    name: ClassVar[str]

    def fit(self, X: np.ndarray, y: np.ndarray, *, columns: Sequence[str]) -> Engine:
        """Learn from ``X`` (rows x columns) and labels ``y`` (0/1)."""
        ...

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        """Uncalibrated log-odds of a win, one per row."""
        ...

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Additive per-column contributions to :meth:`predict_raw`; the last column is the bias."""
        ...

    def raw_std_error(self, X: np.ndarray) -> np.ndarray | None:
        """Standard error of each row's log-odds, or ``None`` when the engine has none."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Settings and fitted state, JSON-ready (big text goes to :meth:`files`)."""
        ...

    def files(self) -> dict[str, str]:
        """Extra text files to save beside the JSON (file name -> content)."""
        ...

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], files: Mapping[str, str]) -> Engine:
        """Rebuild a fitted engine from :meth:`to_dict` and :meth:`files`."""
        ...
