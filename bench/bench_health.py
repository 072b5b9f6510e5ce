"""Benchmark of deal health: snapshots, training, truth checks, scoring + reasons, backtest.

Usage::

    python bench/bench_health.py --tier demo      # a minute or two
    python bench/bench_health.py --tier M         # 100k deals, 3M activities (long)

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
    ap.add_argument("--tier", choices=["demo", "M"], default="demo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--score-rows", type=int, default=100_000)
    ap.add_argument("--shap-rows", type=int, default=5_000)
    ap.add_argument("--skip-backtest", action="store_true")
    ap.add_argument(
        "--train-freq", default="W-MON", help="as-of frequency of the training snapshots"
    )
    args = ap.parse_args()
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


if __name__ == "__main__":
    main()
