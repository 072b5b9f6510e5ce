"""Rolling-origin backtest of deal health against two baselines, without leakage.

At each origin ``o`` the model is trained only on snapshots taken before ``o``
whose label was already known at ``o`` (closed by then, or horizon over), and is
scored on the deals open at ``o``; their labels come from the later data. Two
baselines run on exactly the same rows: the historic win rate by stage, and a
logistic regression on the rule signals alone.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.health.model import DealHealthModel, InsufficientDataError
from salesml.health.signals import health_signals, load_signal_rules
from salesml.health.snapshots import deal_snapshots

__all__ = [
    "BacktestResult",
    "backtest",
    "calibration_table",
    "classification_metrics",
    "expected_calibration_error",
]

_MODELS = ("model", "stage_baseline", "rules_baseline")


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error: row-weighted mean |observed - predicted| over equal-width bins."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    if not len(y):
        return float("nan")
    b = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for k in np.unique(b):
        m = b == k
        total += m.sum() * abs(y[m].mean() - p[m].mean())
    return float(total / len(y))


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Reliability table: ``bin``, ``mean_pred``, ``observed``, ``n`` (equal-width bins)."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    b = np.minimum((p * bins).astype(int), bins - 1)
    df = pd.DataFrame({"bin": b, "p": p, "y": y})
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


@dataclass
class BacktestResult:
    """Outcome of :func:`backtest`.

    Attributes
    ----------
    metrics
        Pooled over every origin: one row per model (``model``, ``stage_baseline``,
        ``rules_baseline``) with ``auc``, ``brier``, ``log_loss``, ``ece``, ``n``.
    by_origin
        The same per origin (column ``origin``).
    calibration
        Reliability tables per model (``model``, ``bin``, ``mean_pred``, ``observed``, ``n``).
    predictions
        One row per scored snapshot: ``origin``, ``deal_id``, ``stage``, ``label`` and
        the three predictions ``p_model``, ``p_stage_baseline``, ``p_rules_baseline``.
    skipped
        Origins that could not be scored, with the reason.
    settings
        The call's settings (origins, horizon, snapshot frequency).
    """

    metrics: pd.DataFrame
    by_origin: pd.DataFrame
    calibration: pd.DataFrame
    predictions: pd.DataFrame
    skipped: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def auc_lift(self) -> float:
        """Pooled AUC of the model minus that of the stage baseline."""
        m = self.metrics.set_index("model")["auc"]
        return float(m["model"] - m["stage_baseline"])

    def _repr_html_(self) -> str:
        s = self.settings
        head = (
            f"<b>Deal health backtest</b> · origins {html.escape(str(s.get('start')))} .. "
            f"{html.escape(str(s.get('end')))} ({html.escape(str(s.get('freq')))}) · horizon "
            f"{html.escape(str(s.get('horizon_days')))} days · AUC lift over stage baseline "
            f"{self.auc_lift:+.3f}"
        )
        skipped = ""
        if len(self.skipped):
            skipped = f"<br><small>skipped origins:</small>{self.skipped.to_html(index=False)}"
        return f"<div>{head}{self.metrics.round(4).to_html(index=False)}{skipped}</div>"


def _stage_baseline(
    train: pd.DataFrame, test: pd.DataFrame, prior_weight: float = 5.0
) -> np.ndarray:
    base = float(train["label"].mean())
    g = train.groupby("stage")["label"].agg(["sum", "size"])
    rate = (g["sum"] + prior_weight * base) / (g["size"] + prior_weight)
    return test["stage"].map(rate).fillna(base).to_numpy(dtype="float64")


def _rules_baseline(train: pd.DataFrame, test: pd.DataFrame, rules: list[Any]) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    names = [r.name for r in rules]
    xs = health_signals(train, rules)[names].to_numpy(dtype="float64")
    xt = health_signals(test, rules)[names].to_numpy(dtype="float64")
    y = train["label"].to_numpy(dtype="float64")
    lr = LogisticRegression(C=1.0).fit(xs, y)
    return lr.predict_proba(xt)[:, 1]


def backtest(
    data: SalesData,
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    freq: str = "MS",
    horizon_days: int | None = 90,
    snapshot_freq: str = "W-MON",
    history_start: str | pd.Timestamp | None = None,
    snapshots: pd.DataFrame | None = None,
    model_kwargs: dict[str, Any] | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of :class:`DealHealthModel` and two baselines.

    Parameters
    ----------
    data
        The full dataset.
    start, end, freq
        Origins: ``pandas.date_range(start, end, freq=freq)``.
    horizon_days
        Label horizon (see :func:`deal_snapshots`).
    snapshot_freq
        Frequency of the training snapshots taken between ``history_start`` and ``end``
        (weekly by default; origins are always added).
    history_start
        First training snapshot date (default: the month start after the first deal).
    snapshots
        Precomputed snapshots (from :func:`deal_snapshots` on ``data`` with the same
        horizon) to reuse; origins they lack are built and added.
    model_kwargs
        Settings for :class:`DealHealthModel`.

    Returns
    -------
    BacktestResult
    """
    origins = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=freq)
    if not len(origins):
        raise ValueError(f"no origin between {start} and {end} at frequency {freq!r}")
    if snapshots is None:
        first = (
            pd.Timestamp(history_start)
            if history_start is not None
            else (
                pd.Timestamp(data.deals["created_at"].min()).normalize() + pd.offsets.MonthBegin(1)
            )
        )
        dates = pd.date_range(first, origins[-1], freq=snapshot_freq).union(origins)
        snapshots = deal_snapshots(data, as_of=dates, horizon_days=horizon_days)
    have = set(pd.DatetimeIndex(snapshots["as_of"].unique()))
    absent = [o for o in origins if o not in have]
    if absent:
        # origins the given snapshots lack are built from the same data
        more = deal_snapshots(data, as_of=absent, horizon_days=horizon_days, fingerprint=False)
        snapshots = pd.concat([snapshots, more], ignore_index=True)
    missing = [o for o in origins if not (snapshots["as_of"] == o).any()]
    rules = load_signal_rules()
    preds, rows, skipped = [], [], []
    for o in origins:
        if o in missing:
            skipped.append({"origin": o, "reason": "no snapshot at this origin (no open deals?)"})
            continue
        train = snapshots.loc[
            (snapshots["as_of"] < o)
            & snapshots["label"].notna()
            & (snapshots["label_known_at"] <= o)
        ]
        test = snapshots.loc[(snapshots["as_of"] == o) & snapshots["label"].notna()]
        if not len(test):
            skipped.append({"origin": o, "reason": "no deal open at the origin has a known label"})
            continue
        try:
            model = DealHealthModel(**(model_kwargs or {})).fit(train)
        except InsufficientDataError as e:
            skipped.append({"origin": o, "reason": str(e)})
            continue
        y = test["label"].to_numpy(dtype="float64")
        p = {
            "model": model.predict_proba(test).to_numpy(),
            "stage_baseline": _stage_baseline(train, test),
            "rules_baseline": _rules_baseline(train, test, rules),
        }
        preds.append(
            pd.DataFrame(
                {
                    "origin": o,
                    "deal_id": test["deal_id"].to_numpy(),
                    "stage": test["stage"].to_numpy(),
                    "label": y,
                    "engine": model.engine_,
                    **{f"p_{k}": v for k, v in p.items()},
                }
            )
        )
        for k, v in p.items():
            rows.append({"origin": o, "model": k, **classification_metrics(y, v)})
    if not preds:
        raise InsufficientDataError(
            "no origin could be backtested: "
            + "; ".join(f"{s['origin']:%Y-%m-%d}: {s['reason']}" for s in skipped)
        )
    predictions = pd.concat(preds, ignore_index=True)
    y_all = predictions["label"].to_numpy()
    metrics = pd.DataFrame(
        [{"model": k, **classification_metrics(y_all, predictions[f"p_{k}"])} for k in _MODELS]
    )
    calib = pd.concat(
        [
            calibration_table(y_all, predictions[f"p_{k}"].to_numpy()).assign(model=k)
            for k in _MODELS
        ],
        ignore_index=True,
    )[["model", "bin", "mean_pred", "observed", "n"]]
    return BacktestResult(
        metrics=metrics,
        by_origin=pd.DataFrame(rows),
        calibration=calib,
        predictions=predictions,
        skipped=pd.DataFrame(skipped, columns=["origin", "reason"]),
        settings={
            "start": f"{origins[0]:%Y-%m-%d}",
            "end": f"{origins[-1]:%Y-%m-%d}",
            "freq": freq,
            "horizon_days": horizon_days,
            "snapshot_freq": snapshot_freq,
        },
    )
