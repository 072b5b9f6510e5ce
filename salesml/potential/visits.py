"""Capacity planning: next week's visit list per rep, and how the ranking would have paid.

- :func:`visit_plan`: given each rep's available visits, the leads / accounts each rep
  should visit, ranked by expected revenue per visit (a potential model's scores);
- :func:`visit_backtest`: on a potential backtest's held-out origins, the revenue the
  visits of each policy would have landed on (the model's expected revenue per visit;
  ``newest_first``; ``channel_rate``: the historic conversion of the lead's channel x
  the revenue of a conversion), per visit.

The backtest is observational: it counts the revenue that the visited rows went on to
bring in the data, not what a visit would have added. It says which ranking puts the
visits where the revenue was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.i18n import check_lang, money, t
from salesml.potential.model import RevenuePerWin
from salesml.results import AnalysisResult, Note
from salesml.scoring.backtest import BacktestResult

__all__ = ["POLICIES", "VisitBacktest", "VisitPlan", "visit_backtest", "visit_plan"]

#: Ranking policies compared by :func:`visit_backtest`.
POLICIES: tuple[str, ...] = ("model", "channel_rate", "newest_first")
#: Most visits per rep and week accepted (a typed number beyond is a mistake).
MAX_VISITS = 200
#: What a row without an owner is planned under.
POOL = "<unassigned>"

CapacityLike = int | Mapping[str, int] | pd.Series


def _capacity(capacity: CapacityLike, reps: pd.Series) -> pd.Series:
    """Visits per rep as a Series over ``reps`` (checked, bounded)."""
    if isinstance(capacity, bool) or not isinstance(capacity, int | Mapping | pd.Series):
        raise TypeError("capacity must be a whole number of visits or a mapping rep -> visits")
    if isinstance(capacity, int):
        cap = pd.Series(capacity, index=pd.Index(reps.unique()), dtype="int64")
    else:
        given = pd.Series(dict(capacity)) if isinstance(capacity, Mapping) else capacity
        bad = [k for k, v in given.items() if not isinstance(v, int | np.integer) or v < 0]
        if bad:
            raise ValueError(f"capacity of {bad[:5]} must be a whole number of visits >= 0")
        cap = given.reindex(pd.Index(reps.unique())).fillna(0).astype("int64")
    if (cap < 0).any() or (cap > MAX_VISITS).any():
        raise ValueError(f"capacity must be between 0 and {MAX_VISITS} visits per rep and week")
    return cap


def _allocate(
    frame: pd.DataFrame, value: np.ndarray, cap: pd.Series, rep_column: str
) -> pd.DataFrame:
    """Each rep's top ``cap[rep]`` rows by ``value`` (ties: the frame's order)."""
    rep = frame[rep_column]
    order = pd.DataFrame({"rep": rep.to_numpy(), "value": value, "pos": np.arange(len(frame))})
    order = order.sort_values(["rep", "value", "pos"], ascending=[True, False, True], kind="stable")
    order["rank"] = order.groupby("rep", sort=False).cumcount() + 1
    keep = order["rank"].to_numpy() <= order["rep"].map(cap).fillna(0).to_numpy()
    return order.loc[keep]


@dataclass(kw_only=True)
class VisitPlan(AnalysisResult):
    """Next week's visits per rep.

    Attributes
    ----------
    table
        One row per planned visit: ``rep_id``, ``rank`` (1 = first), the id column, the
        score columns given (``win_prob``, ``expected_revenue``, ...), ``value_per_visit``.
    by_rep
        Per rep: ``capacity``, ``planned``, ``candidates``, ``expected_revenue``.
    currency
        Currency of the amounts.
    """

    title_key: ClassVar[str] = "potential.plan.title"

    by_rep: pd.DataFrame
    currency: str = "CNY"

    @property
    def expected_revenue(self) -> float:
        """Expected revenue of every planned visit."""
        return float(self.by_rep["expected_revenue"].sum())

    def summary(self) -> pd.DataFrame:
        """Per rep (:attr:`by_rep`)."""
        return self.by_rep

    def key_findings(self, lang: str = "en") -> list[str]:
        """Visits planned, candidates, expected revenue; caveats."""
        lang = check_lang(lang)
        b = self.by_rep
        out = [
            t(
                "potential.plan.finding",
                lang,
                visits=f"{int(b['planned'].sum()):,}",
                reps=f"{int((b['planned'] > 0).sum()):,}",
                candidates=f"{int(b['candidates'].sum()):,}",
                revenue=money(self.expected_revenue, self.currency),
            )
        ]
        return out + [n.text(lang) for n in self.notes]


def visit_plan(
    scored: pd.DataFrame,
    *,
    capacity: CapacityLike = 10,
    rep_column: str = "rep_id",
    id_column: str | None = None,
    value_column: str = "expected_revenue",
    visits_column: str | None = None,
    currency: str = "CNY",
    as_of: pd.Timestamp | None = None,
) -> VisitPlan:
    """Next week's visit list per rep, ranked by expected revenue per visit.

    Parameters
    ----------
    scored
        A potential model's :meth:`~salesml.potential.PotentialModel.score` output (any
        frame with ``rep_column`` and ``value_column``).
    capacity
        Visits each rep has next week: one number for every rep, or rep -> visits
        (reps not named get none). At most :data:`MAX_VISITS` each.
    rep_column
        Who visits; rows without one are planned under ``<unassigned>`` (a team pool)
        and said so.
    id_column
        The column naming what is visited (default: ``lead_id`` or ``customer_id``).
    value_column
        What a visit is worth (expected revenue by default).
    visits_column
        Visits a row needs (default 1 each): the value per visit is the value divided
        by it.

    Raises
    ------
    ValueError
        Naming the column when ``scored`` lacks one.
    """
    idc = id_column or ("lead_id" if "lead_id" in scored else "customer_id")
    for col in (idc, value_column):
        if col not in scored:
            raise ValueError(f"the scored rows lack the column {col!r} (score them with a model)")
    frame = scored.copy()
    notes: list[Note] = []
    if rep_column not in frame:
        frame[rep_column] = POOL
        notes.append(Note("potential.plan.no_owner_column", (("column", rep_column),)))
    missing = frame[rep_column].isna() | frame[rep_column].astype("str").isin(["", "<NA>", "None"])
    if missing.any():
        frame.loc[missing, rep_column] = POOL
        notes.append(Note("potential.plan.unassigned", (("n", f"{int(missing.sum()):,}"),)))
    frame[rep_column] = frame[rep_column].astype("str")
    cap = _capacity(capacity, frame[rep_column])
    value = pd.to_numeric(frame[value_column], errors="coerce").fillna(0.0).to_numpy()
    if visits_column is not None:
        need = pd.to_numeric(frame[visits_column], errors="coerce").fillna(1.0).clip(lower=1.0)
        value = value / need.to_numpy()
    chosen = _allocate(frame, value, cap, rep_column)
    rows = frame.iloc[chosen["pos"].to_numpy()]
    table = rows.assign(rank=chosen["rank"].to_numpy(), value_per_visit=chosen["value"].to_numpy())
    cols = [rep_column, "rank", idc] + [
        c for c in table.columns if c not in (rep_column, "rank", idc)
    ]
    table = table[cols].reset_index(drop=True)
    cand = frame.groupby(rep_column).size()
    er = table.groupby(rep_column)[value_column].sum() if len(table) else pd.Series(dtype=float)
    by_rep = pd.DataFrame(
        {
            "capacity": cap,
            "planned": table.groupby(rep_column).size().reindex(cap.index).fillna(0).astype(int),
            "candidates": cand.reindex(cap.index).fillna(0).astype(int),
            "expected_revenue": er.reindex(cap.index).fillna(0.0),
        }
    )
    by_rep.index.name = rep_column
    by_rep = by_rep.reset_index().sort_values("expected_revenue", ascending=False, kind="stable")
    return VisitPlan(
        table=table,
        by_rep=by_rep.reset_index(drop=True),
        currency=currency,
        as_of=as_of,
        notes=notes,
    )


@dataclass(kw_only=True)
class VisitBacktest(AnalysisResult):
    """Captured revenue per visit of each ranking policy on held-out origins.

    Attributes
    ----------
    table
        One row per policy: ``policy``, ``visits``, ``captured_revenue``,
        ``revenue_per_visit`` with ``low`` / ``high`` (90% interval over origins),
        ``conversions_per_visit``, ``ratio_vs_newest_first``.
    by_origin
        The same per origin.
    """

    title_key: ClassVar[str] = "potential.visits.title"

    by_origin: pd.DataFrame
    currency: str = "CNY"

    def key_findings(self, lang: str = "en") -> list[str]:
        """The model's revenue per visit against the other policies."""
        lang = check_lang(lang)
        m = self.table.set_index("policy")
        out = [
            t(
                "potential.visits.finding",
                lang,
                model=money(m.loc["model", "revenue_per_visit"], self.currency),
                newest=money(m.loc["newest_first", "revenue_per_visit"], self.currency),
                channel=money(m.loc["channel_rate", "revenue_per_visit"], self.currency),
                ratio=f"{m.loc['model', 'ratio_vs_newest_first']:.2f}",
            )
        ]
        return out + [n.text(lang) for n in self.notes] + [t("potential.visits.caveat", lang)]


def visit_backtest(
    result: BacktestResult,
    snapshots: pd.DataFrame,
    *,
    capacity: CapacityLike = 5,
    rep_column: str = "rep_id",
    known_column: str = "label_known_at",
) -> VisitBacktest:
    """Captured revenue per visit of the model's ranking, ``channel_rate`` and ``newest_first``.

    Parameters
    ----------
    result
        A potential :func:`~salesml.potential.backtest` (its held-out predictions).
    snapshots
        The snapshots it ran on (their ``revenue`` is what a visited row brought in;
        the revenue of a conversion is learnt at each origin from the rows known then).
    capacity
        Visits per rep at each origin (one number, or rep -> visits).
    rep_column
        Who visits (rows without one form one team pool).

    Returns
    -------
    VisitBacktest
    """
    kind = result.settings.get("kind", "lead")
    idc = "lead_id" if kind == "lead" else "customer_id"
    group = "channel" if kind == "lead" else "segment"
    age = "lead_age_days" if kind == "lead" else "account_age_days"
    ref = "p_channel_baseline" if kind == "lead" else "p_segment_baseline"
    pr = result.predictions
    cols = [c for c in (rep_column, "revenue", age, group) if c in snapshots]
    extra = snapshots[["as_of", idc, *cols]].rename(columns={"as_of": "origin"})
    extra = extra.drop_duplicates(["origin", idc])
    held = pr.drop(columns=[c for c in cols if c in pr.columns]).merge(
        extra, on=["origin", idc], how="left"
    )
    held = held.loc[held["revenue"].notna()]
    if rep_column not in held:
        held[rep_column] = POOL
    reps = held[rep_column].astype("str").fillna(POOL)
    held[rep_column] = reps.replace({"<NA>": POOL, "None": POOL, "nan": POOL, "": POOL})
    rows = []
    for o, test in held.groupby("origin", sort=True):
        train = snapshots.loc[(snapshots["as_of"] < o) & (snapshots[known_column] <= o)]
        value = RevenuePerWin(group).fit(train).predict(test)
        scores = {
            "model": test["p_model"].to_numpy() * value,
            "channel_rate": test[ref].to_numpy() * value,
            "newest_first": -pd.to_numeric(test[age], errors="coerce").fillna(1e9).to_numpy(),
        }
        cap = _capacity(capacity, test[rep_column])
        for policy, s in scores.items():
            chosen = _allocate(test, s, cap, rep_column)
            picked = test.iloc[chosen["pos"].to_numpy()]
            rows.append(
                {
                    "origin": o,
                    "policy": policy,
                    "visits": len(picked),
                    "captured_revenue": float(picked["revenue"].sum()),
                    "conversions": float(picked["label"].sum()),
                }
            )
    if not rows:
        raise ValueError("no held-out origin has rows with a known revenue to plan visits on")
    by_origin = pd.DataFrame(rows)
    by_origin["revenue_per_visit"] = by_origin["captured_revenue"] / by_origin["visits"].clip(
        lower=1
    )
    agg = by_origin.groupby("policy", sort=False).agg(
        visits=("visits", "sum"),
        captured_revenue=("captured_revenue", "sum"),
        conversions=("conversions", "sum"),
    )
    agg["revenue_per_visit"] = agg["captured_revenue"] / agg["visits"].clip(lower=1)
    agg["conversions_per_visit"] = agg["conversions"] / agg["visits"].clip(lower=1)
    per = by_origin.groupby("policy", sort=False)["revenue_per_visit"]
    n = per.size()
    se = per.std(ddof=1) / np.sqrt(n)
    from scipy.stats import t as student

    q = pd.Series(student.ppf(0.95, np.maximum(n - 1, 1)), index=n.index)
    mean = per.mean()
    agg["low"] = (mean - q * se).fillna(mean)
    agg["high"] = (mean + q * se).fillna(mean)
    agg["ratio_vs_newest_first"] = (
        agg["revenue_per_visit"] / agg.loc["newest_first", "revenue_per_visit"]
    )
    table = agg.reindex(list(POLICIES)).reset_index()
    table = table[
        [
            "policy",
            "visits",
            "captured_revenue",
            "revenue_per_visit",
            "low",
            "high",
            "conversions_per_visit",
            "ratio_vs_newest_first",
        ]
    ]
    currency = str(snapshots.attrs.get("currency") or "CNY")
    return VisitBacktest(table=table, by_origin=by_origin, currency=currency)
