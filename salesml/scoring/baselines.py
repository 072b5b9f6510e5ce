"""Baselines a scoring model must beat on held-out time.

- :class:`GroupRateBaseline`: the historic win rate of the row's group (the deal's
  stage, the lead's channel), smoothed towards the overall rate;
- :class:`SignalsBaseline`: a logistic regression on yes/no rule signals alone.

Both are fit on exactly the rows the model is fit on and scored on the same held-out
rows (:mod:`salesml.scoring.backtest`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

__all__ = ["Baseline", "GroupRateBaseline", "SignalsBaseline"]


@runtime_checkable
class Baseline(Protocol):
    """A simple predictor of the label: ``fit(train) -> self``, ``predict(frame)``."""

    def fit(self, train: pd.DataFrame) -> Baseline:
        """Learn from labelled rows."""
        ...

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the positive label, one per row."""
        ...

    def support(self, frame: pd.DataFrame) -> np.ndarray:
        """How many labelled ids each prediction rests on (for an interval)."""
        ...


class GroupRateBaseline:
    """Historic win rate by one column, smoothed with ``prior_weight`` pseudo-rows.

    Parameters
    ----------
    column
        The grouping column (``stage``).
    prior_weight
        Pseudo-rows at the overall rate added to every group.
    label, id_column
        The label column, and the id column counted for :meth:`support`.
    """

    def __init__(
        self,
        column: str,
        *,
        prior_weight: float = 5.0,
        label: str = "label",
        id_column: str | None = None,
    ) -> None:
        self.column = column
        self.prior_weight = prior_weight
        self.label = label
        self.id_column = id_column

    def fit(self, train: pd.DataFrame) -> GroupRateBaseline:
        """Win rate per group of the labelled rows."""
        y = train[self.label].astype("float64")
        self.base_ = float(y.mean())
        g = y.groupby(train[self.column].astype("str")).agg(["sum", "size"])
        w = self.prior_weight
        self.rate_ = (g["sum"] + w * self.base_) / (g["size"] + w)
        if self.id_column is not None and self.id_column in train:
            self.ids_ = train.groupby(train[self.column].astype("str"))[self.id_column].nunique()
        else:
            self.ids_ = g["size"]
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The group's rate (the overall rate for a group unseen in training)."""
        key = frame[self.column].astype("str")
        return key.map(self.rate_).fillna(self.base_).to_numpy(dtype="float64")

    def support(self, frame: pd.DataFrame) -> np.ndarray:
        """Labelled ids of the row's group in training."""
        key = frame[self.column].astype("str")
        return key.map(self.ids_).fillna(0).to_numpy(dtype="float64")


class SignalsBaseline:
    """Logistic regression on yes/no signals alone.

    Parameters
    ----------
    signals
        ``signals(frame)``: one yes/no column per signal (``<NA>`` where a signal
        cannot be computed; such columns are left out).
    label
        The label column.
    """

    def __init__(self, signals: Callable[[pd.DataFrame], pd.DataFrame], *, label: str = "label"):
        self.signals = signals
        self.label = label

    def _x(self, frame: pd.DataFrame) -> np.ndarray:
        s = self.signals(frame)
        cols = [c for c in self.columns_ if c in s]
        return s[cols].astype("float64").fillna(0.0).to_numpy()

    def fit(self, train: pd.DataFrame) -> SignalsBaseline:
        """Fit the regression on the signals that could be computed."""
        from sklearn.linear_model import LogisticRegression

        s = self.signals(train)
        self.columns_ = [c for c in s.columns if s[c].notna().any()]
        y = train[self.label].to_numpy(dtype="float64")
        X = self._x(train)
        if not X.shape[1]:
            self.model_ = None
            self.base_ = float(y.mean())
            return self
        self.model_ = LogisticRegression(C=1.0).fit(X, y)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability from the signals (the overall rate when none could be computed)."""
        if self.model_ is None:
            return np.full(len(frame), self.base_)
        return self.model_.predict_proba(self._x(frame))[:, 1]

    def support(self, frame: pd.DataFrame) -> np.ndarray:
        """No per-row support: every prediction rests on the whole training set."""
        return np.full(len(frame), np.nan)
