"""The weekly deal-health review in one call (what the ``deal_health_weekly`` report shows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from salesml.data.bundle import SalesData
from salesml.health.backtest import BacktestResult, backtest
from salesml.health.interventions import interventions
from salesml.health.model import DealHealthModel
from salesml.health.snapshots import build_features, deal_snapshots

__all__ = ["WeeklyHealth", "weekly_health"]


@dataclass
class WeeklyHealth:
    """Everything the weekly review shows.

    Attributes
    ----------
    as_of
        The review instant.
    model
        The model fit on snapshots whose outcome was known at ``as_of``.
    scored
        This week's open deals with ``win_prob``, ``low``, ``high``, ``health_score``,
        ``band`` (see :meth:`DealHealthModel.score`) and ``change`` since last week.
    explanations
        Top reasons per open deal (:meth:`DealHealthModel.explain`).
    actions
        The director's list (:func:`interventions`).
    movers
        Deals whose score moved most since last week (``deal_id``, ``owner``,
        ``amount``, ``health_score``, ``previous``, ``change``), biggest falls first.
    by_region, by_rep
        Open deals, pipeline amount, mean score and at-risk count per region / rep.
    backtest
        Rolling-origin backtest up to ``as_of`` (``None`` when skipped or impossible).
    """

    as_of: pd.Timestamp
    model: DealHealthModel
    scored: pd.DataFrame
    explanations: pd.DataFrame
    actions: pd.DataFrame
    movers: pd.DataFrame
    by_region: pd.DataFrame
    by_rep: pd.DataFrame
    backtest: BacktestResult | None

    def _repr_html_(self) -> str:
        n_risk = int((self.scored["band"] == "at_risk").sum())
        return (
            f"<div><b>Deal health</b> as of {self.as_of:%Y-%m-%d}: {len(self.scored):,} open "
            f"deals, {n_risk:,} at risk, {int(self.actions['escalate'].sum())} escalations"
            f"{self.model.summary.to_html(index=False)}</div>"
        )


def _group_summary(scored: pd.DataFrame, by: str) -> pd.DataFrame:
    if by not in scored:
        return pd.DataFrame(columns=[by, "open_deals", "pipeline", "mean_score", "at_risk"])
    g = scored.groupby(by, sort=True)
    out = pd.DataFrame(
        {
            "open_deals": g.size(),
            "pipeline": g["amount"].sum(),
            "mean_score": g["health_score"].mean().round(1),
            "at_risk": g["band"].apply(lambda b: int((b == "at_risk").sum())),
        }
    )
    return out.reset_index().sort_values("mean_score", kind="stable").reset_index(drop=True)


def weekly_health(
    data: SalesData,
    *,
    as_of: str | pd.Timestamp,
    region: str | None = None,
    horizon_days: int = 90,
    snapshot_freq: str = "W-MON",
    history_days: int = 540,
    backtest_origins: int = 2,
    top_reasons: int = 3,
    lang: str = "en",
    model_kwargs: dict[str, Any] | None = None,
) -> WeeklyHealth:
    """Fit, score, explain and list the deals to act on, as of one instant.

    The model trains on snapshots taken before ``as_of`` whose outcome was known at
    ``as_of`` (so the review could have been produced on that day), and scores the
    deals open at ``as_of`` and one week earlier.

    Parameters
    ----------
    data
        The dataset (its later history, if any, is never used).
    as_of
        The review instant (for a weekly report: the end of the week).
    region
        Show only this region's deals (the model still learns from all regions).
    horizon_days
        The health score is P(won within this many days).
    snapshot_freq, history_days
        Training snapshots: every ``snapshot_freq`` over the ``history_days`` before ``as_of``.
    backtest_origins
        Monthly origins of the backtest shown in the model card (0: skip it).
    top_reasons, lang
        Reasons per deal in the action list; language of phrases and actions.
    model_kwargs
        Settings for :class:`DealHealthModel`.
    """
    t = pd.Timestamp(as_of)
    past = data.as_of(t)
    first = max(
        pd.Timestamp(past.deals["created_at"].min()).normalize(),
        t - pd.Timedelta(days=history_days),
    )
    dates = pd.date_range(first, t - pd.Timedelta(days=1), freq=snapshot_freq)
    snaps = deal_snapshots(past, as_of=dates, horizon_days=horizon_days, data_end=t)
    known = snaps.loc[snaps["label_known_at"] <= t]
    known.attrs = snaps.attrs
    model = DealHealthModel(**(model_kwargs or {})).fit(known)
    now = build_features(past, as_of=t)
    before = build_features(past, as_of=t - pd.Timedelta(days=7))
    if region is not None:
        now = now.loc[now["region"] == region]
        before = before.loc[before["region"] == region]
    scored = model.score(now).reset_index(drop=True)
    prev = model.score(before)
    prev_score = prev.set_index("deal_id")["health_score"]
    scored["change"] = scored["health_score"] - scored["deal_id"].map(prev_score)
    explanations = model.explain(now.reset_index(drop=True), top=5, lang=lang)
    # the action list quotes what the team can change (not stage, size or owner)
    actionable = model.explain(now.reset_index(drop=True), top=5, lang=lang, scope="actionable")
    actions = interventions(scored, actionable, previous=prev, top_reasons=top_reasons, lang=lang)
    movers = (
        scored.assign(previous=scored["deal_id"].map(prev_score))
        .dropna(subset=["change"])
        .rename(columns={"rep_id": "owner"})
    )
    movers = movers.loc[movers["change"].abs() >= 5]
    movers = movers.reindex(movers["change"].abs().sort_values(ascending=False).index)
    movers = movers[["deal_id", "owner", "amount", "health_score", "previous", "change"]].head(20)
    bt = None
    if backtest_origins > 0:
        # origins a full horizon before the review, so their outcomes are known by now
        last = (t - pd.Timedelta(days=horizon_days)).normalize() - pd.offsets.MonthBegin(1)
        origins = pd.date_range(end=last, periods=backtest_origins, freq="MS")
        try:
            bt = backtest(
                past,
                start=origins[0],
                end=origins[-1],
                freq="MS",
                horizon_days=horizon_days,
                snapshots=snaps,
                model_kwargs=model_kwargs,
            )
        except ValueError:
            bt = None
    return WeeklyHealth(
        as_of=t,
        model=model,
        scored=scored,
        explanations=explanations,
        actions=actions,
        movers=movers.reset_index(drop=True),
        by_region=_group_summary(scored, "region"),
        by_rep=_group_summary(scored, "rep_id"),
        backtest=bt,
    )
