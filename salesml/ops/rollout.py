"""Scan rollout: loss rate and transfers before and after, with a store bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.ops.changes import change_findings
from salesml.ops.movements import KINDS, movements, problems_notes, store_filter
from salesml.periods import PeriodLike, as_period
from salesml.results import AnalysisResult

__all__ = ["RolloutResult", "scan_rollout"]


@dataclass(kw_only=True)
class RolloutResult(AnalysisResult):
    """Loss rate and transfers before and after the scan rollout.

    Attributes
    ----------
    table
        One row per KPI (``loss_rate``: loss / outflow; ``transfers_per_store_month``):
        ``before``, ``after``, ``change`` (after / before - 1), ``low``, ``high``
        (95% interval of the change, bootstrap over stores), ``stores``.
    rollout
        The rollout instant.
    """

    title_key: ClassVar[str] = "ops.title.scan_rollout"

    rollout: pd.Timestamp | None = None

    def key_findings(self, lang: str = "en") -> list[str]:
        """The change of each KPI with its interval."""
        return change_findings(self.table, "ops.finding.rollout", lang, self.notes)


def scan_rollout(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    rollout: str | pd.Timestamp | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> RolloutResult:
    """Loss rate and transfer frequency before and after the scan rollout.

    Method (simple and stated): per store, the KPI before and after ``rollout``
    (loss rate = loss / (issued + redeemed); transfers out per store and 30 days of
    exposure, from the first movement to the rollout and from it to the end); the
    change is the ratio of the pooled after and before values minus one, its 95%
    interval the percentile interval of ``n_boot`` bootstrap resamples of stores
    (stores are the independent units).

    Parameters
    ----------
    data
        A bundle with ``material_movements``.
    period, as_of, filters
        As in :func:`material_ledger`.
    rollout
        The rollout date (default: ``dataset.yaml``'s ``go_live``).
    n_boot, seed
        Bootstrap resamples (at most 20,000) and their seed.

    Returns
    -------
    RolloutResult
    """
    if not (100 <= n_boot <= 20_000):
        raise ValueError("n_boot must be between 100 and 20000")
    r_ts = pd.Timestamp(rollout) if rollout is not None else data.config.go_live_ts
    if r_ts is None:
        raise ValueError("scan rollout: give rollout= or set go_live in dataset.yaml")
    ts = pd.Timestamp(as_of) if as_of is not None else None
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    mv, problems = movements(data, ts)
    if p is not None:
        mv = mv[p.mask(mv["occurred_at"])]
    keep = store_filter(data, spec)
    if keep is not None:
        mv = mv[mv["store_id"].astype(str).isin(keep)]
    mv = mv.assign(
        after=(mv["occurred_at"] >= r_ts).to_numpy(), month=mv["occurred_at"].dt.to_period("M")
    )
    stores = np.array(sorted(mv["store_id"].astype(str).unique()), dtype=object)
    ix = pd.Index(stores)

    start = p.start if p is not None else mv["occurred_at"].min()
    stop = p.end if p is not None else (ts if ts is not None else mv["occurred_at"].max())
    if ts is not None:
        stop = min(stop, ts)
    exposure = {
        False: max((r_ts - start) / pd.Timedelta(days=30), 0.0),
        True: max((stop - r_ts) / pd.Timedelta(days=30), 0.0),
    }

    def per_store(flag: bool) -> pd.DataFrame:
        part = mv[mv["after"] == flag]
        q = part.pivot_table(
            index="store_id", columns="kind", values="qty", aggfunc="sum", fill_value=0.0
        )
        q = q.reindex(index=ix, columns=list(KINDS), fill_value=0.0)
        tr = part[part["kind"] == "transfer_out"].groupby("store_id").size().reindex(ix).fillna(0)
        months = pd.Series(exposure[flag], index=ix)
        return pd.DataFrame(
            {"loss": q["loss"], "out": q["issue"] + q["redeem"], "tr": tr, "months": months}
        )

    b, a = per_store(False), per_store(True)
    rng = np.random.default_rng([seed, 13])
    draws = (
        rng.integers(0, len(stores), size=(n_boot, len(stores)))
        if len(stores)
        else np.zeros((n_boot, 0), int)
    )
    rows = []
    for kpi, num, den in (
        ("loss_rate", "loss", "out"),
        ("transfers_per_store_month", "tr", "months"),
    ):
        bn, bd, an, ad = (x[c].to_numpy(float) for x, c in ((b, num), (b, den), (a, num), (a, den)))
        before = bn.sum() / bd.sum() if bd.sum() else np.nan
        after = an.sum() / ad.sum() if ad.sum() else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            boot = (an[draws].sum(1) / ad[draws].sum(1)) / (bn[draws].sum(1) / bd[draws].sum(1)) - 1
        boot = boot[np.isfinite(boot)]
        rows.append(
            {
                "kpi": kpi,
                "before": before,
                "after": after,
                "change": after / before - 1 if before else np.nan,
                "low": float(np.percentile(boot, 2.5)) if len(boot) else np.nan,
                "high": float(np.percentile(boot, 97.5)) if len(boot) else np.nan,
                "stores": len(stores),
            }
        )
    res = RolloutResult(table=pd.DataFrame(rows), rollout=r_ts, period=p, as_of=ts, filters=spec)
    res.notes.extend(problems_notes(problems))
    return res
