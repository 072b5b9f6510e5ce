"""State of the deal what-if app: controls and results as traits; no widgets.

Choosing ``deal_id`` loads the deal's current driver values into the controls;
moving ``plan_revisions``, ``days_since_activity``, ``reply_delay_hours`` or
``terms_revisions`` rescores the edited snapshot with the same model and
recomputes its reasons (one ``result`` update per change).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
from traitlets import Float, Instance, Int, List, Unicode, observe

from salesml.apps.base import AppState, dataset_path
from salesml.data.bundle import SalesData
from salesml.health import DealHealthModel, build_features, deal_snapshots

__all__ = ["DRIVERS", "DealWhatifResult", "DealWhatifState"]

#: control trait -> snapshot column it edits
DRIVERS: dict[str, str] = {
    "plan_revisions": "plan_revisions",
    "days_since_activity": "days_since_activity",
    "reply_delay_hours": "reply_delay_hours_mean",
    "terms_revisions": "terms_revisions",
}


@dataclass(frozen=True)
class DealWhatifResult:
    """One rescoring.

    Attributes
    ----------
    deal_id
        The deal.
    actual_score, score
        Health score (0-100) of the deal as it is, and with the edited drivers.
    band, low, high
        Band and interval of the edited score (``low``/``high`` on the 0-100 scale).
    reasons
        Top reasons of the edited snapshot (``rank``, ``reason``, ``contribution``,
        ``direction``, ``phrase``).
    contributions
        All reason contributions of the edited snapshot (plus ``bias``), for the waterfall.
    phrases
        reason -> phrase of every reason of the edited snapshot (the waterfall's labels,
        worded as in ``reasons`` and the report).
    snapshot
        The edited one-row snapshot.
    """

    deal_id: str
    actual_score: float
    score: float
    band: str
    low: float
    high: float
    reasons: pd.DataFrame
    contributions: pd.Series
    phrases: pd.Series
    snapshot: pd.DataFrame


class DealWhatifState(AppState):
    """Deal what-if: one open deal, four driver controls, live score and reasons.

    Parameters
    ----------
    data
        The dataset (needs ``deals``; activities, quotes and collaboration events feed
        the drivers when present).
    model
        A fitted :class:`DealHealthModel`; by default one is fit on weekly snapshots
        of the last ``history_days`` before ``as_of``.
    as_of
        The instant whose open deals are offered (default: the end of the data).
    max_deals
        Deals offered (largest amount first).
    lang
        ``en`` or ``zh``.
    """

    deal_id = Unicode("")
    plan_revisions = Int(0, min=0)
    days_since_activity = Float(0.0, min=0.0)
    reply_delay_hours = Float(0.0, min=0.0)
    terms_revisions = Int(0, min=0)

    deals = List(Unicode())
    result = Instance(DealWhatifResult, allow_none=True)

    def __init__(
        self,
        data: SalesData,
        *,
        model: DealHealthModel | None = None,
        as_of: str | pd.Timestamp | None = None,
        history_days: int = 365,
        max_deals: int = 300,
        lang: str = "en",
        **kwargs: object,
    ) -> None:
        super().__init__(lang=lang, **kwargs)
        data.require("deals", analysis="the deal what-if app")
        tr = data.time_range
        if as_of is None and tr is None:
            raise ValueError("the dataset has no dated rows: give as_of")
        t = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(tr[1])
        self.as_of = t
        if model is None:
            past = data.as_of(t)
            start = t - pd.Timedelta(days=history_days)
            dates = pd.date_range(start, t - pd.Timedelta(days=1), freq="W-MON")
            snaps = deal_snapshots(past, as_of=dates, data_end=t, fingerprint=False)
            model = DealHealthModel().fit(snaps.loc[snaps["label_known_at"] <= t])
        self.model = model
        feats = build_features(data, as_of=t)
        feats = feats.sort_values("amount", ascending=False, kind="stable").head(max_deals)
        self.features = feats.set_index("deal_id", drop=False)
        self._loading = False
        self.deals = list(self.features.index)
        if self.deals:
            self.deal_id = self.deals[0]

    @classmethod
    def from_dataset(
        cls, dataset: str | os.PathLike[str] | None = None, *, lang: str = "en"
    ) -> DealWhatifState:
        """Load a dataset folder (default: ``$SALESML_DATASET`` or ``datasets/demo``)."""
        from salesml.data.io import load_dataset

        return cls(load_dataset(dataset_path(dataset), progress=False), lang=lang)

    @observe("deal_id")
    def _on_deal(self, change: dict[str, object]) -> None:
        if self.deal_id not in self.features.index:
            self.error = f"deal {self.deal_id!r} is not among the open deals offered"
            return
        row = self.features.loc[self.deal_id]
        self._loading = True
        try:
            for trait, col in DRIVERS.items():
                v = row[col]
                v = 0.0 if pd.isna(v) else float(v)
                setattr(self, trait, round(v) if trait.endswith("revisions") else v)
        finally:
            self._loading = False
        self.recompute()

    @observe(*DRIVERS)
    def _on_driver(self, change: dict[str, object]) -> None:
        if not self._loading:
            self.recompute()

    def edited_snapshot(self) -> pd.DataFrame:
        """The chosen deal's snapshot with the controls' driver values."""
        snap = self.features.loc[[self.deal_id]].reset_index(drop=True)
        for trait, col in DRIVERS.items():
            snap[col] = float(getattr(self, trait))
        return snap

    def recompute(self) -> None:
        """Rescore the edited snapshot and recompute its reasons (errors go to ``error``)."""
        if not self.deal_id:
            return
        with self.computing():
            actual = self.features.loc[[self.deal_id]].reset_index(drop=True)
            edited = self.edited_snapshot()
            sc = self.model.score(edited).iloc[0]
            base = float(100 * self.model.predict_proba(actual).iloc[0])
            contrib = self.model.contributions(edited).iloc[0]
            # every reason, ranked: the first five are the list, all of them label the chart
            reasons = self.model.explain(edited, top=len(contrib) - 1, lang=self.lang)
            self.result = DealWhatifResult(
                deal_id=self.deal_id,
                actual_score=base,
                score=float(100 * sc["win_prob"]),
                band=str(sc["band"]),
                low=float(100 * sc["low"]),
                high=float(100 * sc["high"]),
                reasons=reasons.loc[
                    reasons["rank"] <= 5, ["rank", "reason", "contribution", "direction", "phrase"]
                ],
                contributions=contrib,
                phrases=reasons.set_index("reason")["phrase"],
                snapshot=edited,
            )
