"""Held-out quality of probabilities: AUC, Brier, log loss, calibration error, reliability."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "auc_standard_error",
    "calibration_table",
    "classification_metrics",
    "expected_calibration_error",
    "single_feature_auc",
]


def _bins(p: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((p * bins).astype(int), bins - 1)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error: row-weighted mean |observed - predicted| over equal-width bins."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    if not len(y):
        return float("nan")
    b = _bins(p, bins)
    n = np.bincount(b, minlength=bins).astype("float64")
    sy = np.bincount(b, weights=y, minlength=bins)
    sp = np.bincount(b, weights=p, minlength=bins)
    used = n > 0
    return float(np.abs(sy[used] - sp[used]).sum() / len(y))


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Reliability table: ``bin``, ``mean_pred``, ``observed``, ``n`` (equal-width bins)."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    df = pd.DataFrame({"bin": _bins(p, bins), "p": p, "y": y})
    out = df.groupby("bin").agg(mean_pred=("p", "mean"), observed=("y", "mean"), n=("y", "size"))
    return out.reset_index()


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, Brier score, log loss, ECE and the row count of predictions ``p`` for labels ``y``."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y, dtype="float64")
    p = np.clip(np.asarray(p, dtype="float64"), 1e-6, 1 - 1e-6)
    two = len(np.unique(y)) == 2
    return {
        "auc": float(roc_auc_score(y, p)) if two else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "log_loss": float(log_loss(y, p, labels=[0, 1])) if len(y) else float("nan"),
        "ece": expected_calibration_error(y, p),
        "n": float(len(y)),
    }


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley-McNeil standard error of an AUC from ``n_pos`` wins and ``n_neg`` losses."""
    if n_pos < 1 or n_neg < 1 or not math.isfinite(auc):
        return float("nan")
    q1 = auc / (2 - auc)
    q2 = 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return float(math.sqrt(max(var, 0.0)))


def single_feature_auc(values: pd.Series, y: np.ndarray) -> float:
    """How well one feature alone separates wins from losses: ``max(AUC, 1 - AUC)``.

    Numeric values rank as they are; text values by their win rate in ``y`` (levels
    seen fewer than 20 times take the overall rate). A missing value ranks below every
    other, so a feature that is missing only for lost deals counts as separating them.
    Returns ``nan`` when ``y`` holds one class only.
    """
    from scipy.stats import rankdata

    y = np.asarray(y, dtype="float64")
    n_pos = int((y == 1).sum())
    n_neg = int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        x = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        s = values.astype("str")
        rate = pd.Series(y, index=values.index).groupby(s.to_numpy()).agg(["mean", "size"])
        base = float(y.mean())
        enc = rate["mean"].where(rate["size"] >= 20, base)
        x = s.map(enc).to_numpy(dtype="float64", na_value=np.nan)
    finite = x[np.isfinite(x)]
    low = (finite.min() - 1.0) if len(finite) else 0.0
    x = np.where(np.isnan(x), low, x)
    ranks = rankdata(x)
    auc = (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return float(max(auc, 1 - auc))
