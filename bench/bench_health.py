"""Benchmark of deal health: snapshots, training, truth checks, scoring + reasons, backtest.

Usage::

    python bench/bench_health.py --tier demo      # a minute or two
    python bench/bench_health.py --tier M         # 100k deals, 3M activities (long)

Scale (issue 16): each step on a month-partitioned dataset folder, in a fresh process
(load; weekly training snapshots over 540 days; ``fit_as_of`` + scoring the open deals;
the ``deal_health_weekly`` review; the ``deal_whatif`` app state), peak RSS per step::

    python bench/bench_health.py --scale --tier M        # /work/data/M-parts-month
    python bench/bench_health.py --scale --tier L        # /work/data/L-parts-month
    python bench/bench_health.py --scale --tier M --dask --steps snapshots,fit

Prints one JSON document with every figure (seeded; numbers in bench/README.md).
Peak memory is the process's peak resident set size after each step (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from salesml.health import (
    DRIVER_FEATURES,
    DealHealthModel,
    backtest,
    build_features,
    classification_metrics,
    deal_snapshots,
    stage_win_rate,
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
    ap.add_argument("--tier", choices=["demo", "M", "L"], default="demo")
    ap.add_argument("--scale", action="store_true", help="the scale steps on a dataset folder")
    ap.add_argument("--data", default=None, help="dataset folder of the scale run")
    ap.add_argument("--steps", default="", help=f"scale steps (default: {','.join(SCALE_STEPS)})")
    ap.add_argument("--step", default="", help=argparse.SUPPRESS)
    ap.add_argument("--dask", action="store_true", help="scale steps on a 2-worker LocalCluster")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--score-rows", type=int, default=100_000)
    ap.add_argument("--shap-rows", type=int, default=5_000)
    ap.add_argument("--skip-backtest", action="store_true")
    ap.add_argument(
        "--train-freq", default="W-MON", help="as-of frequency of the training snapshots"
    )
    args = ap.parse_args()
    if args.step:
        return _one_step(args)
    if args.scale:
        return _scale(args)
    if args.tier == "L":
        ap.error("tier L runs the scale steps only: add --scale")
    out: dict[str, Any] = {"tier": args.tier, "seed": args.seed}

    (data, truth), t_sim = _timed(simulate, preset=args.tier, seed=args.seed)
    out["simulate_s"] = round(t_sim, 1)
    out["deals"] = len(data.deals)
    out["activities"] = len(data.activities)
    start = pd.Timestamp(data.deals["created_at"].min()).normalize() + pd.offsets.MonthBegin(1)
    end = pd.Timestamp(data.time_range[1])
    monthly = pd.date_range(start, end, freq="MS")[-13:-1]  # 12 monthly as-of dates
    snaps, t_snap = _timed(deal_snapshots, data, as_of=monthly, fingerprint=False)
    out["snapshots_12_monthly"] = {
        "rows": len(snaps),
        "seconds": round(t_snap, 1),
        "peak_rss_mb": round(_peak_mb()),
    }
    # training set for the truth checks: snapshots every --train-freq
    if args.train_freq != "MS":
        dates = pd.date_range(start, end, freq=args.train_freq)
        snaps, t_train_snap = _timed(deal_snapshots, data, as_of=dates, fingerprint=False)
        out["snapshots_training"] = {
            "freq": args.train_freq,
            "dates": len(dates),
            "rows": len(snaps),
            "seconds": round(t_train_snap, 1),
            "peak_rss_mb": round(_peak_mb()),
        }
    origin = monthly[len(monthly) * 2 // 3]
    train = snaps.loc[(snaps["as_of"] < origin) & (snaps["label_known_at"] <= origin)]
    test = snaps.loc[(snaps["as_of"] >= origin) & snaps["label"].notna()]
    model, t_fit = _timed(DealHealthModel().fit, train)
    out["fit"] = {
        "rows": len(train),
        "seconds": round(t_fit, 1),
        "engine": model.engine_,
        "calibration": model.calibrator_.method,
        "leaks": [w.feature for w in model.leaks_],
        "unavailable": model.unavailable_,
        "peak_rss_mb": round(_peak_mb()),
    }

    y = test["label"].to_numpy()
    p = model.predict_proba(test).to_numpy()
    ours = classification_metrics(y, p)
    stage = classification_metrics(y, stage_win_rate(train, test))
    truth_p = truth.win_prob_at(test)
    open_now = build_features(data, as_of=end)
    rho_now = spearmanr(model.predict_proba(open_now), truth.win_prob_at(open_now)).statistic
    act = test.loc[test["plan_revisions"] > 3]
    shares = {}
    for scope in ("all", "actionable"):
        ex = model.explain(act, top=3, scope=scope)
        shares[scope] = float(
            ex.groupby("row")["reason"].apply(lambda r: "plan_revisions" in set(r)).mean()
        )
    out["truth_checks"] = {
        "origin": f"{origin:%Y-%m-%d}",
        "held_out_rows": len(test),
        "auc": round(ours["auc"], 4),
        "stage_baseline_auc": round(stage["auc"], 4),
        "auc_lift": round(ours["auc"] - stage["auc"], 4),
        "ece": round(ours["ece"], 4),
        "brier": round(ours["brier"], 4),
        "truth_auc": round(classification_metrics(y, truth_p.to_numpy())["auc"], 4),
        "spearman_vs_truth_held_out": round(float(spearmanr(p, truth_p).statistic), 4),
        "spearman_vs_truth_open_at_end": round(float(rho_now), 4),
        "open_at_end": len(open_now),
        "plan_gt3_deals": len(act),
        "plan_gt3_in_top3_all": round(shares["all"], 4),
        "plan_gt3_in_top3_actionable": round(shares["actionable"], 4),
    }

    # the planted-driver view: the same model without engagement and timing features
    # (the simulator makes lost deals go quiet before they close, a signal that
    # truth.win_prob_at leaves out)
    lean = DealHealthModel(features=DRIVER_FEATURES).fit(train)
    pl = lean.predict_proba(test).to_numpy()
    ex = lean.explain(act, top=3)
    out["driver_features_model"] = {
        "auc": round(classification_metrics(y, pl)["auc"], 4),
        "auc_lift": round(classification_metrics(y, pl)["auc"] - stage["auc"], 4),
        "ece": round(classification_metrics(y, pl)["ece"], 4),
        "spearman_vs_truth_held_out": round(float(spearmanr(pl, truth_p).statistic), 4),
        "spearman_vs_truth_open_at_end": round(
            float(spearmanr(lean.predict_proba(open_now), truth.win_prob_at(open_now)).statistic),
            4,
        ),
        "plan_gt3_in_top3_all": round(
            float(ex.groupby("row")["reason"].apply(lambda r: "plan_revisions" in set(r)).mean()),
            4,
        ),
    }
    tc = out["truth_checks"]
    out["targets_at_M"] = {
        "auc_lift>=0.05": tc["auc_lift"] >= 0.05,
        "ece<=0.05": tc["ece"] <= 0.05,
        "spearman_open_at_end>=0.8": tc["spearman_vs_truth_open_at_end"] >= 0.8,
        "plan_gt3_in_top3_all>=0.8": tc["plan_gt3_in_top3_all"] >= 0.8,
    }

    # scoring + explanations for N open deals (replicas of the held-out snapshots)
    reps = int(np.ceil(args.score_rows / len(test)))
    big = pd.concat([test] * reps, ignore_index=True).iloc[: args.score_rows]
    _, t_score = _timed(model.score, big)
    _, t_explain = _timed(model.explain, big, top=5)
    out["scoring"] = {
        "rows": len(big),
        "score_s": round(t_score, 2),
        "explain_top5_s": round(t_explain, 2),
        "deals_per_s": round(len(big) / (t_score + t_explain)),
    }
    # pred_contrib against shap.TreeExplainer, same rows, same booster
    import shap

    X = model.encoder_.transform(big.iloc[: args.shap_rows])
    booster = model.engine_model_.booster_
    ours_c, t_ours = _timed(booster.predict, X, pred_contrib=True, num_threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv, t_shap = _timed(shap.TreeExplainer(booster).shap_values, X)
    sv = sv[1] if isinstance(sv, list) else sv
    out["pred_contrib_vs_shap"] = {
        "rows": len(X),
        "max_abs_diff": float(np.abs(ours_c[:, :-1] - sv).max()),
        "pred_contrib_s": round(t_ours, 2),
        "shap_tree_explainer_s": round(t_shap, 2),
        "shap_over_pred_contrib": round(t_shap / t_ours, 2),
    }
    if not args.skip_backtest:
        bt_start = monthly[len(monthly) // 2]
        bt, t_bt = _timed(
            backtest,
            data,
            start=bt_start,
            end=monthly[-1],
            freq="2MS" if args.tier == "demo" else "3MS",
            snapshot_freq="W-MON" if args.tier == "demo" else "MS",
        )
        m = bt.metrics.set_index("model")
        verdict = bt.verdict(model.facts())
        out["backtest"] = {
            "verdict": verdict.status,
            "verdict_causes": list(verdict.causes),
            "origins": int(bt.by_origin["origin"].nunique()),
            "seconds": round(t_bt, 1),
            **{f"{k}_auc": round(float(m.loc[k, "auc"]), 4) for k in m.index},
            **{f"{k}_ece": round(float(m.loc[k, "ece"]), 4) for k in m.index},
        }
    out["peak_rss_mb"] = round(_peak_mb())
    print(json.dumps(out, indent=1, default=str))


# ---------------------------------------------------------------------- scale (issue 16)
#: The dataset folder of each scale tier (month-partitioned Parquet).
SCALE_DATA = {"M": "/work/data/M-parts-month", "L": "/work/data/L-parts-month"}
#: The steps of the scale run, each measured in a fresh process.
SCALE_STEPS = ("load", "snapshots", "fit", "report", "app")


def _rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scale_step(step: str, path: str, client: Any = None) -> dict[str, Any]:
    """One step on a dataset folder, in this process: its figures."""
    from salesml.health import fit_as_of, load_health_data, weekly_health
    from salesml.scoring.asof import training_dates

    out: dict[str, Any] = {"step": step}
    if step == "app":
        from salesml.apps.deal_whatif.state import DealWhatifState

        state, t = _timed(DealWhatifState.from_dataset, path)
        out.update(seconds=round(t, 1), open_deals=len(state.deals), drivers=len(state.drivers))
        out["peak_rss_mb"] = round(_rss_peak_mb())
        return out
    data, t_load = _timed(load_health_data, path, validate=False)
    out["load_s"] = round(t_load, 1)
    out["load_peak_rss_mb"] = round(_rss_peak_mb())
    out["deals"], out["activities"] = len(data.deals), len(data.activities)
    end = pd.Timestamp(data.time_range[1])
    if step == "snapshots":
        dates = training_dates(data.deals["created_at"].min(), end, history_days=540, freq="W-MON")
        snaps, t = _timed(
            deal_snapshots, data, as_of=dates, data_end=end, fingerprint=False, client=client
        )
        out.update(dates=len(dates), rows=len(snaps), seconds=round(t, 1))
    elif step == "fit":
        fit, t = _timed(fit_as_of, data, as_of=end, fingerprint="bench", client=client)
        out.update(
            seconds=round(t, 1),
            training_rows=len(fit.training),
            snapshot_rows=len(fit.snapshots),
            engine=fit.model.engine_,
        )
        (feats, t_feat) = _timed(build_features, data, as_of=end)
        _, t_score = _timed(fit.model.score, feats)
        _, t_explain = _timed(fit.model.explain, feats, top=5)
        out.update(
            open_deals=len(feats),
            features_s=round(t_feat, 1),
            score_s=round(t_score, 1),
            explain_top5_s=round(t_explain, 1),
        )
    elif step == "report":
        review, t = _timed(weekly_health, data, fingerprint="bench", lang="zh", client=client)
        out.update(
            seconds=round(t, 1),
            open_deals=len(review.table),
            training_rows=len(review.fit.training),
            verdict=review.card.verdict.status,
        )
    out["peak_rss_mb"] = round(_rss_peak_mb())
    return out


def _scale(args: argparse.Namespace) -> None:
    """Every scale step in a fresh process (``--step``) and the Dask comparison."""
    import subprocess
    import sys

    path = args.data or SCALE_DATA[args.tier]
    steps = args.steps.split(",") if args.steps else list(SCALE_STEPS)
    rows = []
    for step in steps:
        cmd = [sys.executable, __file__, "--tier", args.tier, "--data", path, "--step", step]
        if args.dask:
            cmd.append("--dask")
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode:
            rows.append({"step": step, "error": done.stderr[-2000:]})
        else:
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"tier": args.tier, "data": path, "dask": args.dask, "steps": rows}))


def _one_step(args: argparse.Namespace) -> None:
    client = None
    cluster = None
    if args.dask:
        import distributed

        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster, set_as_default=False)
    try:
        out = _scale_step(args.step, args.data or SCALE_DATA[args.tier], client=client)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    out["where"] = "2-worker LocalCluster" if args.dask else "in-process"
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
