"""Benchmark of lead potential against planted lead quality: backtest, truth checks, scoring.

Usage::

    python bench/bench_potential.py --tier demo
    python bench/bench_potential.py --tier M      # ~300k leads (a few minutes)
    python bench/bench_potential.py --tier L      # the chain parts and scoring on /work/data/L
    python bench/bench_potential.py --tier L --part scoring   # the scoring alone
    python bench/bench_potential.py --scale M   # snapshots, fits, weekly review on a folder
    python bench/bench_potential.py --scale L   # the same on /work/data/L-parts-month

``--scale TIER`` runs each step of the weekly review's path in a fresh process on the
month-partitioned folder of the tier (``--scale-path``), loaded as the visit planner
loads it (:func:`~salesml.potential.weekly.load_potential_data`: projected, compact,
not validated): lead and account snapshots weekly over the 365 days before the end
(the fit's dates; the account snapshots bounded like the fit, a deterministic sample
of ``MAX_TRAINING_ROWS``), each model's ``fit_as_of`` and the whole
:func:`~salesml.potential.weekly.weekly_potential`, with wall time and peak RSS each.

At L the data is not simulated: the tables the lead-to-cash chain needs are loaded
from ``--data`` (default ``/work/data/L``, projected to the columns used, not
validated) and the bench times :func:`customer_journeys`, :func:`lead_to_cash` by
channel and the lead features of every lead open at the end; then, after freeing
those tables, it loads the scoring projection (leads, won-deal columns, activity
customer and instant), fits the :class:`PotentialModel` as the weekly report does
(:func:`fit_as_of` at the end of the data, training snapshots on ``--origins``
monthly dates over the months before it) and scores every lead open at the end with
probability, expected revenue and phrased reasons (the report's
:func:`~salesml.potential.weekly.candidates`). No planted lead quality there, so no
truth checks and no backtest.

The data is ``simulate(preset=tier, seed=seed, lead_quality=True)``. Prints one JSON
document: the rolling-origin backtest (model, channel baseline, rules baseline) with
the bars of issue 15 (at M: AUC >= channel baseline + 0.05, ECE <= 0.05, Spearman of
the model's probability with the planted conversion probability >= 0.8), the time to
score every lead open at the end of the data, and the process's peak RSS (ru_maxrss).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from typing import Any

import pandas as pd
from scipy.stats import spearmanr

from salesml.data.io import load_dataset
from salesml.potential import (
    PotentialModel,
    backtest,
    customer_journeys,
    fit_as_of,
    lead_features,
    lead_snapshots,
    lead_to_cash,
    visit_backtest,
)
from salesml.potential.snapshots import LOAD_COLUMNS
from salesml.potential.weekly import candidates
from salesml.simulator import simulate


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, *args, **kwargs) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


#: Tables the tier-L chain run loads (every column of ``leads``).
L_TABLES: tuple[str, ...] = ("leads", "deals", "quotes", "contracts", "payments", "activities")
#: The columns it loads of the other tables.
L_COLUMNS: dict[str, tuple[str, ...]] = {
    "deals": LOAD_COLUMNS["deals"],
    "quotes": ("quote_id", "deal_id", "sent_at"),
    "contracts": ("contract_id", "deal_id", "signed_at", "amount"),
    "payments": ("payment_id", "contract_id", "paid_at", "amount"),
    "activities": ("activity_id", "customer_id", "deal_id", "occurred_at"),
}


#: The columns the tier-L scoring run loads (every column of ``leads``).
L_SCORE_COLUMNS: dict[str, tuple[str, ...]] = {
    "deals": ("deal_id", "customer_id", "lead_id", "created_at", "closed_at", "outcome", "amount"),
    "activities": ("customer_id", "occurred_at"),
}


def tier_l_scoring(path: str, origins: int, freq: str = "MS") -> dict[str, Any]:
    """Fit on a bounded recent window and score every lead open at the end of the data."""
    out: dict[str, Any] = {}
    data, t = _timed(
        load_dataset,
        path,
        tables=["leads", "deals", "activities"],
        columns=L_SCORE_COLUMNS,
        validate=False,
        progress=False,
    )
    out["load_s"] = round(t, 1)
    out["peak_rss_mb_after_load"] = round(_peak_mb())
    end = pd.Timestamp(data.time_range[1])
    # training snapshots every ``freq`` over the last ``origins`` months (bounded memory);
    # labels as known at the end, as the report's fit does; a fixed fingerprint
    # string skips hashing the whole folder (the report passes the header's one)
    fit, t = _timed(
        fit_as_of,
        data,
        kind="lead",
        as_of=end,
        history_days=31 * origins,
        snapshot_freq=freq,
        fingerprint="bench-L",
    )
    snaps = fit.snapshots
    out["fit_as_of"] = {
        "seconds": round(t, 1),
        "snapshot_dates": [str(d.date()) for d in pd.DatetimeIndex(snaps["as_of"].unique())],
        "snapshot_rows": len(snaps),
        "labelled_rows": len(fit.training),
        "positives": int((fit.training["label"] == 1).sum()),
        "engine": fit.model.engine_,
    }
    out["peak_rss_mb_after_fit"] = round(_peak_mb())
    model = fit.model
    today, t1 = _timed(lead_features, data, as_of=end)
    scored, t2 = _timed(model.score, today)
    cand, t3 = _timed(candidates, data, as_of=end, lead_fit=fit, account_fit=None, lang="zh")
    out["score_open_leads"] = {
        "rows": len(today),
        "candidates_rows": len(cand),
        "features_s": round(t1, 2),
        "score_s": round(t2, 2),
        "report_candidates_s": round(t3, 1),
        "with_reasons": int(cand["reasons"].astype("str").str.len().gt(0).sum()),
        "mean_p": round(float(scored["win_prob"].mean()), 4),
        "expected_revenue_total": round(float(scored["expected_revenue"].sum())),
        "example_reasons": cand.sort_values("expected_revenue", ascending=False)["reasons"]
        .head(2)
        .tolist(),
    }
    out["peak_rss_mb"] = round(_peak_mb())
    return out


def tier_l(path: str, origins: int = 6, freq: str = "MS") -> dict[str, Any]:
    """The chain parts at tier L (see the module docstring)."""
    out: dict[str, Any] = {"tier": "L", "data": path}
    data, t = _timed(
        load_dataset,
        path,
        tables=list(L_TABLES),
        columns=L_COLUMNS,
        validate=False,
        progress=False,
    )
    out["load_s"] = round(t, 1)
    out["rows"] = {k: len(data[k]) for k in L_TABLES if data.has(k)}
    out["peak_rss_mb_after_load"] = round(_peak_mb())
    journeys, t = _timed(customer_journeys, data)
    out["customer_journeys_s"] = round(t, 1)
    out["journeys"] = journeys.summary().round(2).to_dict(orient="records")
    out["peak_rss_mb_after_journeys"] = round(_peak_mb())
    cash, t = _timed(lead_to_cash, data, by="channel")
    out["lead_to_cash_s"] = round(t, 1)
    out["lead_to_cash_groups"] = len(cash.table)
    end = pd.Timestamp(data.time_range[1])
    today, t = _timed(lead_features, data, as_of=end)
    out["open_lead_features"] = {"rows": len(today), "seconds": round(t, 1)}
    out["peak_rss_mb_chain"] = round(_peak_mb())
    del data, journeys, cash, today
    gc.collect()
    out["scoring"] = tier_l_scoring(path, origins, freq)
    out["peak_rss_mb"] = round(_peak_mb())
    return out


#: Month-partitioned folders of the tiers (``--scale``).
SCALE_PATHS = {"M": "/work/data/M-parts-month", "L": "/work/data/L-parts-month"}
#: The steps of ``--scale``, each in a fresh process.
SCALE_STEPS = (
    "load",
    "lead_snapshots",
    "account_snapshots",
    "fit_lead",
    "fit_account",
    "weekly",
)


def scale_step(step: str, path: str) -> dict[str, Any]:
    """One step of the weekly review's path on ``path`` (in this, fresh, process)."""
    from salesml.potential import account_snapshots, lead_snapshots
    from salesml.potential.backtest import task
    from salesml.potential.weekly import load_potential_data, weekly_potential
    from salesml.scoring.asof import training_dates
    from salesml.scoring.task import MAX_TRAINING_ROWS

    out: dict[str, Any] = {"step": step}
    data, t = _timed(load_potential_data, path, validate=False)
    out["load_s"] = round(t, 1)
    out["rows_loaded"] = int(sum(len(df) for df in data.tables.values()))
    end = pd.Timestamp(data.time_range[1])
    dates = training_dates(
        pd.Timestamp(data.leads["created_at"].min()), end, history_days=365, freq="W-MON"
    )
    t0 = time.perf_counter()
    if step in ("lead_snapshots", "account_snapshots"):
        kind = step.partition("_")[0]
        build = lead_snapshots if kind == "lead" else account_snapshots
        n = task(kind).count(data, dates)
        share = min(1.0, MAX_TRAINING_ROWS / n)
        snaps = build(data, as_of=dates, data_end=end, fingerprint=False, sample=share)
        out.update(dates=len(dates), estimated_rows=n, sample=round(share, 4), rows=len(snaps))
    elif step in ("fit_lead", "fit_account"):
        from salesml.potential import fit_as_of

        kind = step.partition("_")[2]
        fit = fit_as_of(data, kind=kind, as_of=end, history_days=365, fingerprint="bench")
        out.update(rows=len(fit.snapshots), labelled=len(fit.training), engine=fit.model.engine_)
    elif step == "weekly":
        w = weekly_potential(data, fingerprint="bench")
        out.update(
            candidates=len(w.candidates),
            planned=int(w.plan.by_rep["planned"].sum()),
            lead_engine=w.lead_fit.model.engine_ if w.lead_fit else None,
            account_engine=w.account_fit.model.engine_ if w.account_fit else None,
        )
    out["s"] = round(time.perf_counter() - t0, 1)
    out["peak_mb"] = round(_peak_mb())
    return out


def run_scale(tier: str, path: str, steps: list[str]) -> list[dict[str, Any]]:
    """Each step in a fresh process (its own peak RSS); one JSON line per step."""
    rows = []
    for step in steps:
        t0 = time.perf_counter()
        got = subprocess.run(
            [sys.executable, __file__, "--scale-one", step, path], capture_output=True, text=True
        )
        if got.returncode != 0:
            sys.stderr.write(got.stderr[-3000:])
            row: dict[str, Any] = {"step": step, "error": got.stderr.strip().splitlines()[-1:]}
        else:
            row = json.loads(got.stdout.strip().splitlines()[-1])
        row["tier"] = tier
        row["wall_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(row, default=str), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tier", choices=["demo", "M", "L"], default="demo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--origins", type=int, default=6, help="monthly origins before the end")
    ap.add_argument("--data", default="/work/data/L", help="the tier-L dataset folder")
    ap.add_argument(
        "--snapshot-freq",
        default="MS",
        help="tier L: training snapshot dates over the --origins months"
        " (MS monthly; W-MON weekly, the report's default)",
    )
    ap.add_argument(
        "--part",
        choices=["all", "scoring"],
        default="all",
        help="tier L: the chain and the scoring, or the scoring alone (its own peak RSS)",
    )
    ap.add_argument("--scale", choices=list(SCALE_PATHS), help="the weekly review's steps")
    ap.add_argument("--scale-path", help="the tier's month-partitioned folder")
    ap.add_argument("--scale-step", action="append", choices=SCALE_STEPS, help="repeatable")
    ap.add_argument("--scale-one", nargs=2, metavar=("STEP", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scale_one:
        print(json.dumps(scale_step(*args.scale_one), default=str))
        return
    if args.scale:
        path = args.scale_path or SCALE_PATHS[args.scale]
        run_scale(args.scale, path, args.scale_step or list(SCALE_STEPS))
        return
    if args.tier == "L" and args.part == "scoring":
        sc = tier_l_scoring(args.data, args.origins, args.snapshot_freq)
        out = {"tier": "L", "data": args.data, "scoring": sc}
        print(json.dumps(out, indent=1, default=str, ensure_ascii=False))
        return
    if args.tier == "L":
        print(
            json.dumps(
                tier_l(args.data, args.origins, args.snapshot_freq),
                indent=1,
                default=str,
                ensure_ascii=False,
            )
        )
        return
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
    # capacity planning: every simulated lead has an owner; a visit budget per origin of
    # 2% of the leads open then (about the share converting), shared out per owner
    owners = max(1, int(pr["rep_id"].nunique()))
    cap = max(1, int(0.02 * pr.groupby("origin").size().mean() / owners))
    vb, t = _timed(visit_backtest, bt, snaps, capacity=cap)
    v = vb.table.set_index("policy")
    out["visits"] = {
        "capacity_per_owner_and_origin": cap,
        "owners": owners,
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
