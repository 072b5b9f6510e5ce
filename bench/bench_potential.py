"""Benchmark of lead potential against planted lead quality: backtest, truth checks, scoring.

Usage::

    python bench/bench_potential.py --tier demo
    python bench/bench_potential.py --tier M      # ~300k leads (a few minutes)

The data is ``simulate(preset=tier, seed=seed, lead_quality=True)``. Prints one JSON
document: the rolling-origin backtest (model, channel baseline, rules baseline) with
the bars of issue 15 (at M: AUC >= channel baseline + 0.05, ECE <= 0.05, Spearman of
the model's probability with the planted conversion probability >= 0.8), the time to
score every lead open at the end of the data, and the process's peak RSS (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

import pandas as pd
from scipy.stats import spearmanr

from salesml.potential import (
    PotentialModel,
    backtest,
    lead_features,
    lead_snapshots,
    lead_to_cash,
    visit_backtest,
)
from salesml.simulator import simulate


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, *args, **kwargs) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tier", choices=["demo", "M"], default="demo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--origins", type=int, default=6, help="monthly origins before the end")
    args = ap.parse_args()
    out: dict[str, Any] = {"tier": args.tier, "seed": args.seed}
    (data, truth), t = _timed(simulate, preset=args.tier, seed=args.seed, lead_quality=True)
    out["simulate_s"] = round(t, 1)
    out["leads"] = len(data.leads)
    end = pd.Timestamp(data.time_range[1])
    last = (end - pd.Timedelta(days=120)).to_period("M").to_timestamp()
    origins = pd.date_range(end=last, periods=args.origins, freq="MS")
    first = pd.Timestamp(data.leads["created_at"].min()).normalize() + pd.offsets.MonthBegin(1)
    dates = pd.date_range(first, origins[-1], freq="W-MON").union(origins)
    snaps, t = _timed(lead_snapshots, data, as_of=dates, horizon_days=90)
    out["snapshots"] = {"rows": len(snaps), "dates": len(dates), "seconds": round(t, 1)}
    out["peak_rss_mb_after_snapshots"] = round(_peak_mb())
    bt, t = _timed(
        backtest,
        data,
        kind="lead",
        start=origins[0],
        end=origins[-1],
        freq="MS",
        snapshots=snaps,
    )
    out["backtest_s"] = round(t, 1)
    m = bt.table.set_index("model")
    out["backtest"] = bt.table.round(4).to_dict(orient="records")
    pr = bt.predictions.copy()
    pr["p_true"] = pr["lead_id"].map(truth.lead_quality["p_convert"])
    rho = float(spearmanr(pr["p_model"], pr["p_true"]).statistic)
    rho_ch = float(spearmanr(pr["p_channel_baseline"], pr["p_true"]).statistic)
    first_seen = pr.sort_values("origin").drop_duplicates("lead_id")
    out["truth"] = {
        "auc_model": round(float(m.loc["model", "auc"]), 4),
        "auc_channel_baseline": round(float(m.loc["channel_baseline", "auc"]), 4),
        "auc_lift_over_channel": round(bt.auc_lift, 4),
        "ece_model": round(float(m.loc["model", "ece"]), 4),
        "spearman_planted_p": round(rho, 4),
        "spearman_planted_p_channel_baseline": round(rho_ch, 4),
        "n_scored": len(pr),
        "n_leads_scored": int(first_seen["lead_id"].nunique()),
        "bars": {
            "auc_lift_ge_0.05": bool(bt.auc_lift >= 0.05),
            "ece_le_0.05": bool(m.loc["model", "ece"] <= 0.05),
            "spearman_ge_0.8": bool(rho >= 0.8),
        },
    }
    out["peak_rss_mb_after_backtest"] = round(_peak_mb())
    # capacity planning: the leads have no owner in the simulator, so one team pool with
    # a visit budget per origin of 2% of the leads open then (about the share converting)
    cap = max(10, int(0.02 * pr.groupby("origin").size().mean()))
    vb, t = _timed(visit_backtest, bt, snaps, capacity=cap)
    v = vb.table.set_index("policy")
    out["visits"] = {
        "capacity_per_origin": cap,
        "seconds": round(t, 1),
        "revenue_per_visit": v["revenue_per_visit"].round(0).to_dict(),
        "conversions_per_visit": v["conversions_per_visit"].round(4).to_dict(),
        "ratio_vs_newest_first": v["ratio_vs_newest_first"].round(3).to_dict(),
    }
    cash, t = _timed(lead_to_cash, data, by="channel")
    out["lead_to_cash_s"] = round(t, 2)
    out["lead_to_cash"] = (
        cash.table.set_index("group")[["p_qualified", "p_won", "lead_quality", "total"]]
        .round(3)
        .to_dict(orient="index")
    )
    # fit as of the end and score every lead open then
    train = snaps.loc[snaps["label_known_at"] <= end]
    model, t = _timed(PotentialModel().fit, train)
    out["fit_s"] = round(t, 1)
    today, t1 = _timed(lead_features, data, as_of=end)
    _scored, t2 = _timed(model.score, today)
    _reasons, t3 = _timed(model.explain, today, top=3)
    out["score_open_leads"] = {
        "rows": len(today),
        "features_s": round(t1, 2),
        "score_s": round(t2, 2),
        "reasons_s": round(t3, 2),
        "engine": model.engine_,
    }
    out["peak_rss_mb"] = round(_peak_mb())
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
