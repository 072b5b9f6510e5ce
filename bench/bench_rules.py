"""Benchmark of follow-ups and tiering (``salesml.rules``) against two baselines.

Run ``python bench/bench_rules.py --tier demo`` or ``--tier M --data /work/data/M-rules``
(a dataset folder written by ``salesml generate --preset M``). Each tier runs in a
fresh subprocess so its peak RSS (``ru_maxrss``) is its own.

Scale run (``--scale``, always for tier L): ``--tier M L --data /work/data/M-rules --scale``
loads only the tables and columns the rules read (:data:`COLUMNS`, ``validate=False``)
and times :func:`customer_metrics` at the end, ``due_followups`` at the end and the middle,
and ``tier_customers`` with 12 months of history; M in the same run is the baseline of the
L / M ratios (tier L data: ``--data-l``, default ``/work/data/L``; never generated here).

Full run, timed, best of ``--repeat``:

- ``due_followups`` at the end of the data and at a date in the middle (all five
  default rules, tiers included);
- baseline 1, *as-of cut*: ``due_followups(data.as_of(t), as_of=t)``, the obvious
  leakage-proof way (copy every table cut at ``t``, then evaluate);
- baseline 2, *row by row*: the four default conditions (quote unanswered 48 h,
  contract unpaid 7 days past due, approval past the 48 h SLA, tier-A untouched 7 days)
  written as a Python loop over rows, the way a script without the rule engine does it;
  the script asserts it finds the same quotes, contracts and approvals (and that the
  as-of cut gives the same tasks);
- ``tier_customers`` with 12 months of tier history, and ``compose_messages`` (WeCom
  markdown, split at 4096 bytes) for the open tasks.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

TABLES = [
    "reps",
    "customers",
    "deals",
    "activities",
    "quotes",
    "contracts",
    "payments",
    "approvals",
]


#: The columns the default rules, customer metrics and tiers read (the scale run loads only these).
COLUMNS: dict[str, list[str]] = {
    "reps": ["rep_id", "name", "manager_id", "region", "role", "hired_at"],
    "customers": ["customer_id", "segment", "region", "created_at", "owner_rep_id"],
    "deals": ["deal_id", "customer_id", "rep_id", "created_at", "closed_at", "amount"],
    # channel and duration_min are left out: no default rule names them (-0.7 GB at L)
    "activities": [
        "activity_id",
        "customer_id",
        "deal_id",
        "rep_id",
        "kind",
        "occurred_at",
        "quality",
    ],
    "quotes": [
        "quote_id",
        "deal_id",
        "version",
        "sent_at",
        "first_viewed_at",
        "replied_at",
        "amount",
    ],
    "contracts": ["contract_id", "deal_id", "signed_at", "amount", "payment_terms_days"],
    "payments": ["contract_id", "paid_at", "amount"],
    "approvals": [
        "approval_id",
        "subject_id",
        "step",
        "reviewer_id",
        "submitted_at",
        "decided_at",
        "decision",
    ],
}


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def row_by_row(data: Any, t: pd.Timestamp) -> dict[str, set[str]]:
    """The default conditions as plain Python loops over rows (baseline 2)."""
    out: dict[str, set[str]] = {"quote": set(), "contract": set(), "approval": set()}
    h48 = pd.Timedelta(hours=48)
    for q in data.quotes.itertuples(index=False):
        if q.sent_at > t or pd.isna(q.first_viewed_at) or q.first_viewed_at > t:
            continue
        until = q.replied_at if pd.notna(q.replied_at) and q.replied_at <= t else t
        if until - q.first_viewed_at > h48:
            out["quote"].add(q.quote_id)
    paid: dict[str, float] = {}
    for p in data.payments.itertuples(index=False):
        if p.paid_at <= t:
            paid[p.contract_id] = paid.get(p.contract_id, 0.0) + p.amount
    for k in data.contracts.itertuples(index=False):
        if k.signed_at > t:
            continue
        due = k.signed_at + pd.Timedelta(days=float(k.payment_terms_days))
        if paid.get(k.contract_id, 0.0) == 0 and (t - due) >= pd.Timedelta(days=7):
            out["contract"].add(k.contract_id)
    for a in data.approvals.itertuples(index=False):
        if a.submitted_at > t:
            continue
        until = a.decided_at if pd.notna(a.decided_at) and a.decided_at <= t else t
        if until - a.submitted_at > h48:
            out["approval"].add(a.approval_id)
    last: dict[str, pd.Timestamp] = {}
    for a in data.activities[["customer_id", "occurred_at"]].itertuples(index=False):
        if a.occurred_at <= t and (
            a.customer_id not in last or a.occurred_at > last[a.customer_id]
        ):
            last[a.customer_id] = a.occurred_at
    out["untouched_customers"] = {c for c, at in last.items() if t - at >= pd.Timedelta(days=7)}
    return out


def run_scale(tier: str, data_dir: str, repeat: int) -> dict[str, Any]:
    """The scale steps on the projected tables (no baselines: they do not fit tier L)."""
    from salesml.data.io import load_dataset
    from salesml.rules import customer_metrics, due_followups, tier_customers

    t0 = time.perf_counter()
    data = load_dataset(data_dir, progress=False, tables=TABLES, columns=COLUMNS, validate=False)
    res: dict[str, Any] = {"tier": tier, "load_s": time.perf_counter() - t0}
    res["rss_loaded_gb"] = rss_gb()
    for name in ("deals", "activities", "quotes", "contracts", "payments", "approvals"):
        res[name] = len(data[name])
    res["customers"] = len(data.customers)
    end = data.time_range[1]
    start = data.deals["created_at"].min()
    mid = start + (end - start) / 2
    s, m = best_of(lambda: customer_metrics(data, as_of=end), repeat)
    res["metrics_s"] = s
    res["metric_rows"] = len(m)
    del m
    for name, at in (("end", end), ("mid", mid)):
        s, r = best_of(lambda at=at: due_followups(data, as_of=at), repeat)
        res[f"due_{name}_s"] = s
        res[f"tasks_{name}"] = len(r.table)
        res[f"open_{name}"] = len(r.open())
        del r
    s, tiers = best_of(lambda: tier_customers(data, as_of=end, history_months=12), 1)
    res["tiers_s"] = s
    res["tier_moves"] = len(tiers.history)
    res["peak_rss_gb"] = rss_gb()
    return res


def print_scale(rows: list[dict[str, Any]]) -> None:
    print(
        "| tier | customers | deals | activities | load s | customer_metrics s | "
        "due_followups end s | mid s | tier_customers 12 m s | tasks end (open) | "
        "RSS loaded GiB | peak GiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['tier']} | {r['customers']:,} | {r['deals']:,} | {r['activities']:,} | "
            f"{r['load_s']:.1f} | {r['metrics_s']:.2f} | {r['due_end_s']:.2f} | "
            f"{r['due_mid_s']:.2f} | {r['tiers_s']:.2f} | {r['tasks_end']:,} ({r['open_end']:,}) "
            f"| {r['rss_loaded_gb']:.2f} | {r['peak_rss_gb']:.2f} |"
        )
    by = {r["tier"]: r for r in rows}
    if "M" in by and "L" in by:
        m, big = by["M"], by["L"]
        keys = [
            ("activities", "activities"),
            ("metrics_s", "customer_metrics"),
            ("due_end_s", "due_followups end"),
            ("due_mid_s", "due_followups mid"),
            ("tiers_s", "tier_customers"),
            ("peak_rss_gb", "peak RSS"),
        ]
        print("L / M: " + ", ".join(f"{label} {big[k] / m[k]:.1f}x" for k, label in keys))


def run_tier(tier: str, data_dir: str | None, repeat: int) -> dict[str, Any]:
    from salesml.rules import due_followups, tier_customers
    from salesml.rules.notify import compose_messages

    t0 = time.perf_counter()
    if data_dir:
        from salesml.data.io import load_dataset

        data = load_dataset(data_dir, progress=False, tables=TABLES)
    else:
        from salesml.simulator import simulate

        data, _ = simulate(preset="demo", seed=0)
    load_s = time.perf_counter() - t0
    rss_loaded = rss_gb()
    end = data.time_range[1]
    start = data.deals["created_at"].min()
    mid = start + (end - start) / 2
    res: dict[str, Any] = {
        "tier": tier,
        "deals": len(data.deals),
        "activities": len(data.activities),
        "quotes": len(data.quotes),
        "contracts": len(data.contracts),
        "approvals": len(data.approvals),
        "load_s": load_s,
        "rss_loaded_gb": rss_loaded,
    }
    for name, at in (("end", end), ("mid", mid)):
        s, r = best_of(lambda at=at: due_followups(data, as_of=at), repeat)
        res[f"due_{name}_s"] = s
        res[f"tasks_{name}"] = len(r.table)
        res[f"open_{name}"] = len(r.open())
        if name == "end":
            tasks = r.table
            open_tasks = r.open()
        else:
            mid_ids = set(r.table["task_id"])
    res["rss_after_due_gb"] = rss_gb()
    s, r_cut = best_of(lambda: due_followups(data.as_of(mid), as_of=mid), 1)
    res["cut_mid_s"] = s
    assert set(r_cut.table["task_id"]) == mid_ids, "tasks differ on the as-of cut"
    s, naive = best_of(lambda: row_by_row(data, end), 1)
    res["rowwise_end_s"] = s
    for subject, rule in (
        ("quote", "quote_second_followup"),
        ("contract", "contract_collection"),
        ("approval", "approval_past_sla"),
    ):
        got = set(tasks.loc[tasks["rule_id"] == rule, "subject_id"])
        assert got == naive[subject], (subject, len(got), len(naive[subject]))
    s, tiers = best_of(lambda: tier_customers(data, as_of=end, history_months=12), 1)
    res["tiers_s"] = s
    res["tier_moves"] = len(tiers.history)
    s, msgs = best_of(lambda: compose_messages(open_tasks, platform="wecom", lang="zh"), repeat)
    res["compose_s"] = s
    res["messages"] = len(msgs)
    res["peak_rss_gb"] = rss_gb()
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", nargs="+", default=["demo"], choices=["demo", "M", "L"])
    ap.add_argument("--data", default=None, help="dataset folder of tier M")
    ap.add_argument("--data-l", default="/work/data/L", help="dataset folder of tier L")
    ap.add_argument("--scale", action="store_true", help="the scale steps only (tier L: always)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        if args.scale:
            folder = args.data_l if args.tier[0] == "L" else args.data
            print(json.dumps(run_scale(args.tier[0], folder, args.repeat)))
        else:
            print(json.dumps(run_tier(args.tier[0], args.data, args.repeat)))
        return 0
    scale = args.scale or "L" in args.tier
    if scale and "demo" in args.tier:
        ap.error("the scale run is for tiers M and L (it reads dataset folders)")
    rows = []
    for tier in args.tier:
        if tier == "M" and not args.data:
            ap.error("--tier M needs --data (a folder written by `salesml generate --preset M`)")
        cmd = [sys.executable, __file__, "--child", "--tier", tier, "--repeat", str(args.repeat)]
        if tier == "M":
            cmd += ["--data", args.data]
        if tier == "L":
            cmd += ["--data-l", args.data_l]
        if scale:
            cmd.append("--scale")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    if scale:
        print_scale(rows)
        return 0
    print(
        "| tier | deals | activities | due_followups end s | mid s | as-of cut mid s | "
        "row-by-row end s | speed-up vs cut | vs row-by-row | tasks (open) | "
        "tier_customers 12 m s | compose s (messages) | RSS loaded GB | peak GB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['tier']} | {r['deals']:,} | {r['activities']:,} | {r['due_end_s']:.2f} | "
            f"{r['due_mid_s']:.2f} | {r['cut_mid_s']:.2f} | {r['rowwise_end_s']:.2f} | "
            f"{r['cut_mid_s'] / r['due_mid_s']:.1f}x | {r['rowwise_end_s'] / r['due_end_s']:.1f}x | "
            f"{r['tasks_end']:,} ({r['open_end']:,}) | {r['tiers_s']:.2f} | "
            f"{r['compose_s']:.2f} ({r['messages']:,}) | {r['rss_loaded_gb']:.2f} | "
            f"{r['peak_rss_gb']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
