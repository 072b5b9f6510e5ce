"""Calibration: from an engine's log-odds to probabilities that mean what they say.

A tree engine is fit on the earlier snapshots and calibrated on a *later time
slice* (:func:`time_slice`), so the calibration is checked on time the trees never
saw. Two maps:

- **shrunk isotonic** (slices of at least 1,000 rows and 50 wins under ``auto``): an
  isotonic step holding ``n`` calibration rows with ``w`` wins says
  ``(w + 0.5) / (n + 1)`` rather than ``w / n``, so a block without a single win never
  promises a 0% chance;
- **Platt scaling** (a logistic curve on the log-odds) for smaller slices.

``none`` passes the log-odds through the logistic function (engines that are
calibrated by construction, such as the logistic regression).

The calibrated probabilities of the slice are kept (:attr:`Calibrator.support`): the
interval around a probability is a Wilson interval for a win rate estimated from the
slice rows near it, i.e. the precision of the calibration at that score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CALIBRATION_METHODS", "Calibrator", "TimeSlice", "sigmoid", "time_slice", "wilson"]

#: Methods :meth:`Calibrator.fit` accepts.
CALIBRATION_METHODS: tuple[str, ...] = ("auto", "isotonic", "platt", "none")


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, overflow-safe."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35, 35)))


def wilson(p: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of rates ``p`` each estimated from ``n`` trials."""
    n = np.maximum(np.asarray(n, dtype="float64"), 1.0)
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


@dataclass
class Calibrator:
    """A fitted map from log-odds to probabilities.

    Attributes
    ----------
    method
        ``isotonic``, ``platt`` or ``none``.
    params
        The map's parameters (``x``/``y`` thresholds, or ``a``/``b``).
    support
        Sorted calibrated probabilities of the calibration rows (empty for ``none``).
    """

    method: str = "none"
    params: dict[str, Any] = field(default_factory=dict)
    support: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray, *, method: str = "auto") -> Calibrator:
        """Fit on the calibration slice's log-odds ``raw`` and labels ``y``.

        ``auto`` picks isotonic for at least 1,000 rows and 50 wins, Platt otherwise.
        """
        if method not in CALIBRATION_METHODS:
            raise ValueError(
                f"calibration must be one of {', '.join(CALIBRATION_METHODS)}, got {method!r}"
            )
        raw = np.asarray(raw, dtype="float64")
        y = np.asarray(y, dtype="float64")
        if method == "auto":
            method = "isotonic" if (len(y) >= 1000 and y.sum() >= 50) else "platt"
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
            fitted = iso.predict(raw)
            levels, counts = np.unique(fitted, return_counts=True)
            shrunk = np.maximum.accumulate((levels * counts + 0.5) / (counts + 1.0))
            y_thr = np.interp(iso.y_thresholds_, levels, shrunk)
            cal = cls("isotonic", {"x": iso.X_thresholds_.tolist(), "y": y_thr.tolist()})
        elif method == "platt":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e4).fit(raw.reshape(-1, 1), y)
            cal = cls("platt", {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])})
        else:
            return cls("none")
        cal.support = np.sort(cal(raw))
        return cal

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of log-odds ``raw``."""
        raw = np.asarray(raw, dtype="float64")
        if self.method == "isotonic":
            p = np.interp(raw, np.asarray(self.params["x"]), np.asarray(self.params["y"]))
            # isotonic steps can hit exactly 0 or 1: keep probabilities proper
            return np.clip(p, 1e-4, 1 - 1e-4)
        if self.method == "platt":
            return sigmoid(self.params["a"] * raw + self.params["b"])
        return sigmoid(raw)

    def interval(
        self, p: np.ndarray, z: float, *, halfwidth: float = 0.05
    ) -> tuple[np.ndarray, np.ndarray]:
        """Wilson interval from the calibration rows within ``halfwidth`` of each ``p``."""
        grid = self.support
        n_near = (
            np.searchsorted(grid, p + halfwidth, side="right")
            - np.searchsorted(grid, p - halfwidth)
        ).astype("float64")
        return wilson(p, np.maximum(n_near, 1.0), z)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"method": self.method, **self.params, "support": self.support.tolist()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibrator:
        """Rebuild from :meth:`to_dict`."""
        d = dict(d)
        method = str(d.pop("method"))
        support = np.asarray(d.pop("support", []), dtype="float64")
        return cls(method, d, support)


@dataclass(frozen=True)
class TimeSlice:
    """Which training rows calibrate: a mask, the slice's time window and how it was cut."""

    is_calibration: np.ndarray
    window: tuple[pd.Timestamp, pd.Timestamp]
    split: str


def time_slice(
    times: pd.Series, *, share: float, ids: pd.Series | None = None, random_state: int = 0
) -> TimeSlice:
    """Hold out the latest ``share`` of the distinct snapshot times to calibrate on.

    With a single snapshot time there is no later slice: a random ``share`` of the
    ids (deals) is held out instead (``split == "ids"``).
    """
    dates = np.sort(times.unique())
    n_cal = max(1, math.ceil(len(dates) * share))
    if len(dates) >= 2:
        cal_from = dates[len(dates) - n_cal]
        mask = (times >= cal_from).to_numpy()
        return TimeSlice(mask, (pd.Timestamp(cal_from), pd.Timestamp(dates[-1])), "time")
    rng = np.random.default_rng(random_state)
    keys = ids if ids is not None else pd.Series(np.arange(len(times)), index=times.index)
    uniq = keys.unique()
    chosen = set(rng.choice(uniq, size=max(1, int(len(uniq) * share)), replace=False))
    mask = keys.isin(chosen).to_numpy()
    return TimeSlice(mask, (pd.Timestamp(dates[0]), pd.Timestamp(dates[0])), "ids")
