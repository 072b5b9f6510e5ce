"""``PotentialModel``: the probability that a lead converts (an account buys) within the
horizon, and the revenue to expect from it.

Configurations of :class:`salesml.scoring.ScoringModel` over the snapshots of
:mod:`salesml.potential.snapshots`; engines, small-data path, calibration, intervals,
leak guard, reasons, card and saving are the scoring layer's. On top, each model
learns the revenue of a converted row (:class:`RevenuePerWin`: the mean won revenue of
labelled positives by group, smoothed towards the overall mean), so that
``expected_revenue = probability x revenue if won``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from salesml.potential.explain import ACCOUNT_PHRASING, LEAD_PHRASING
from salesml.potential.snapshots import (
    ACCOUNT_CATEGORICAL,
    ACCOUNT_NUMERIC,
    LEAD_CATEGORICAL,
    LEAD_NUMERIC,
)
from salesml.scoring.explain import Phrasing
from salesml.scoring.model import ScoringModel

__all__ = ["AccountPotentialModel", "PotentialModel", "RevenuePerWin"]


class RevenuePerWin:
    """Mean won revenue of a positive row by group, smoothed with ``prior_weight`` pseudo-rows.

    Fit on labelled positives whose revenue is known; a group never seen gets the
    overall mean.
    """

    def __init__(self, column: str, *, prior_weight: float = 10.0) -> None:
        self.column = column
        self.prior_weight = prior_weight

    def fit(self, train: pd.DataFrame, *, label: str = "label") -> RevenuePerWin:
        """Learn from rows with ``label == 1`` and a known ``revenue``."""
        pos = (
            train.loc[(train[label] == 1) & train["revenue"].notna()]
            if "revenue" in train
            else train.iloc[:0]
        )
        rev = pos["revenue"].astype("float64") if len(pos) else pd.Series(dtype="float64")
        self.n_ = len(rev)
        self.overall_ = float(rev.mean()) if len(rev) else float("nan")
        if len(rev) and self.column in pos:
            g = rev.groupby(pos[self.column].astype("str")).agg(["sum", "size"])
            w = self.prior_weight
            self.by_ = ((g["sum"] + w * self.overall_) / (g["size"] + w)).to_dict()
        else:
            self.by_ = {}
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Revenue to expect from each row if it converts (NaN when nothing was learnt)."""
        if self.column in frame and self.by_:
            key = frame[self.column].astype("str")
            return key.map(self.by_).fillna(self.overall_).to_numpy(dtype="float64")
        return np.full(len(frame), self.overall_)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {
            "column": self.column,
            "prior_weight": self.prior_weight,
            "n": self.n_,
            "overall": self.overall_,
            "by": {str(k): float(v) for k, v in self.by_.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RevenuePerWin:
        """Rebuild from :meth:`to_dict`."""
        out = cls(str(d["column"]), prior_weight=float(d["prior_weight"]))
        out.n_ = int(d["n"])
        out.overall_ = float(d["overall"])
        out.by_ = {str(k): float(v) for k, v in d["by"].items()}
        return out


#: Lead features the LightGBM engine uses by default (the raw area restates its log).
LEAD_FEATURES: tuple[str, ...] = tuple(f for f in LEAD_NUMERIC if f != "project_area_m2") + (
    LEAD_CATEGORICAL
)
#: Lead features of the small-data logistic engine.
LEAD_SMALL_FEATURES: tuple[str, ...] = (
    "channel_conversion_rate",
    "responded",
    "first_response_hours",
    "log_project_area",
    "inspected",
    "findings_reported",
    "lead_age_days",
)


class PotentialModel(ScoringModel):
    """Calibrated lead potential: P(the lead converts within the horizon), 0-100 score,
    bands, reasons, and the revenue to expect.

    Parameters
    ----------
    min_labelled_for_lightgbm
        Distinct labelled leads needed for the LightGBM engine (300); below it the
        small-data logistic engine is used (with Laplace intervals).
    min_labelled
        Fewest labelled leads accepted at all (60).
    bands
        Score band edges (10, 30).
    **settings
        Everything else of :class:`~salesml.scoring.ScoringModel` (``calibration``,
        ``calibration_share``, LightGBM settings, ``ridge``, ``random_state``,
        ``features``, ``leak_guard``).

    Attributes
    ----------
    revenue_ : RevenuePerWin
        Revenue of a converted lead by channel.
    """

    kind: ClassVar[str] = "salesml.potential.PotentialModel"
    id_column: ClassVar[str] = "lead_id"
    score_column: ClassVar[str] = "potential_score"
    numeric_features: ClassVar[tuple[str, ...]] = LEAD_NUMERIC
    categorical_features: ClassVar[tuple[str, ...]] = LEAD_CATEGORICAL
    default_features: ClassVar[tuple[str, ...]] = LEAD_FEATURES
    small_data_features: ClassVar[tuple[str, ...]] = LEAD_SMALL_FEATURES
    log_features: ClassVar[frozenset[str]] = frozenset({"first_response_hours", "lead_age_days"})
    monotone_decreasing: ClassVar[tuple[str, ...]] = ("first_response_hours", "waiting_hours")
    feature_groups: ClassVar[Mapping[str, str]] = {
        "channel_conversion_rate": "channel",
        "project_area_m2": "log_project_area",
        "responded": "first_response_hours",
        "waiting_hours": "first_response_hours",
        "days_since_inspection": "inspected",
    }
    keep_columns: ClassVar[tuple[str, ...]] = (
        "lead_id",
        "as_of",
        "customer_id",
        "rep_id",
        "channel",
        "campaign_id",
        "region",
    )
    builder_hint: ClassVar[str] = (
        "Build them with salesml.potential.lead_snapshots / lead_features of the same "
        "salesml version"
    )
    labelled_item: ClassVar[str] = "labelled leads"
    rows_item: ClassVar[str] = "labelled snapshots"
    phrasing: ClassVar[Phrasing] = LEAD_PHRASING
    #: Column the revenue of a converted row is learnt by.
    revenue_group: ClassVar[str] = "channel"

    renamed_settings: ClassVar[frozenset[str]] = frozenset({"min_closed"})

    def __init__(
        self,
        *,
        min_labelled_for_lightgbm: int = 300,
        min_labelled: int = 60,
        bands: tuple[float, float] = (10.0, 30.0),
        **settings: Any,
    ) -> None:
        super().__init__(
            min_closed=min_labelled_for_lightgbm,
            min_labelled=min_labelled,
            bands=bands,
            **settings,
        )
        self.min_labelled_for_lightgbm = min_labelled_for_lightgbm

    def fit(
        self,
        snapshots: pd.DataFrame,
        *,
        data_fingerprint: str | None = None,
        client: Any = None,
    ) -> PotentialModel:
        """Fit the probability (see :meth:`ScoringModel.fit`; ``client``: LightGBM trains
        on that Dask cluster) and the revenue per win (here)."""
        super().fit(snapshots, data_fingerprint=data_fingerprint, client=client)
        labelled = snapshots[self.label_column].notna()
        train = snapshots if bool(labelled.all()) else snapshots.loc[labelled]
        self.revenue_ = RevenuePerWin(self.revenue_group).fit(train, label=self.label_column)
        return self

    def expected_revenue(self, frame: pd.DataFrame) -> pd.Series:
        """Probability x revenue if converted, indexed like the input."""
        p = self.predict_proba(frame).to_numpy()
        return pd.Series(
            p * self.revenue_.predict(frame), index=frame.index, name="expected_revenue"
        )

    def score(self, frame: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
        """Scores (see :meth:`ScoringModel.score`) plus ``revenue_if_won``,
        ``expected_revenue`` and its interval ``revenue_low`` / ``revenue_high``
        (the probability interval times the revenue if won)."""
        out = super().score(frame, level=level)
        value = self.revenue_.predict(frame)
        out["revenue_if_won"] = value
        out["expected_revenue"] = out["win_prob"].to_numpy() * value
        out["revenue_low"] = out["low"].to_numpy() * value
        out["revenue_high"] = out["high"].to_numpy() * value
        return out

    def summary(self, *, lang: str = "en") -> pd.DataFrame:
        """The model card (see :meth:`ScoringModel.summary`) plus the revenue per win."""
        card = super().summary(lang=lang)
        extra = pd.DataFrame(
            [
                ("revenue per win", f"{self.revenue_.overall_:,.0f}"),
                ("wins with known revenue", f"{self.revenue_.n_:,}"),
            ],
            columns=["item", "value"],
        )
        return pd.concat([card, extra], ignore_index=True).astype({"item": "str", "value": "str"})

    def to_dict(self) -> dict[str, Any]:
        """Everything but the engine's own files (see :meth:`ScoringModel.to_dict`)."""
        d = super().to_dict()
        d["revenue"] = self.revenue_.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], files: Mapping[str, str]) -> PotentialModel:
        """Rebuild a fitted model from :meth:`to_dict` and the engine's files."""
        model = super().from_dict(d, files)
        model.revenue_ = RevenuePerWin.from_dict(d["revenue"])  # type: ignore[attr-defined]
        return model  # type: ignore[return-value]


class AccountPotentialModel(PotentialModel):
    """Calibrated account potential: P(the account wins a deal within the horizon),
    the revenue to expect, reasons; see :class:`PotentialModel`.

    Parameters
    ----------
    min_labelled_for_lightgbm
        Distinct labelled accounts needed for the LightGBM engine (5,000). An account
        wins within 90 days rarely (2.6% of the demo snapshots): below a few thousand
        accounts LightGBM ranks no better than the logistic engine and is worse
        calibrated (demo, eight monthly origins: AUC 0.613, ECE 0.020 against 0.611,
        ECE 0.002 for the logistic engine), so smaller books use the logistic engine.
    **settings
        As for :class:`PotentialModel`.
    """

    kind: ClassVar[str] = "salesml.potential.AccountPotentialModel"
    id_column: ClassVar[str] = "customer_id"
    numeric_features: ClassVar[tuple[str, ...]] = ACCOUNT_NUMERIC
    categorical_features: ClassVar[tuple[str, ...]] = ACCOUNT_CATEGORICAL
    default_features: ClassVar[tuple[str, ...]] = (
        tuple(f for f in ACCOUNT_NUMERIC if f != "past_revenue") + ACCOUNT_CATEGORICAL
    )
    small_data_features: ClassVar[tuple[str, ...]] = (
        "past_wins",
        "owner_win_rate",
        "log_past_revenue",
        "days_since_win",
        "touches_90d",
        "days_since_activity",
    )
    log_features: ClassVar[frozenset[str]] = frozenset({"days_since_activity", "days_since_win"})
    monotone_decreasing: ClassVar[tuple[str, ...]] = ()
    feature_groups: ClassVar[Mapping[str, str]] = {"past_revenue": "log_past_revenue"}
    keep_columns: ClassVar[tuple[str, ...]] = (
        "customer_id",
        "as_of",
        "rep_id",
        "segment",
        "region",
        "channel",
    )
    builder_hint: ClassVar[str] = (
        "Build them with salesml.potential.account_snapshots / account_features of the "
        "same salesml version"
    )
    labelled_item: ClassVar[str] = "labelled accounts"
    phrasing: ClassVar[Phrasing] = ACCOUNT_PHRASING
    revenue_group: ClassVar[str] = "segment"

    def __init__(self, *, min_labelled_for_lightgbm: int = 5000, **settings: Any) -> None:
        super().__init__(min_labelled_for_lightgbm=min_labelled_for_lightgbm, **settings)
