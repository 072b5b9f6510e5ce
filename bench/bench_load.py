"""Benchmark: load + validate a dataset folder against a raw pyarrow read of the same files.

Usage::

    python bench/bench_load.py --tier demo      # a few seconds
    python bench/bench_load.py --tier M         # generation takes 1-2 minutes

Steps, each in a fresh subprocess so peak memory (max RSS) is per step:

1. generate: ``simulate(preset=tier, seed)`` then ``save_dataset`` as Parquet;
2. measure: the baseline ``pyarrow.parquet.read_table(f).to_pandas()`` of every table
   file, then ``salesml.load_dataset`` (read + parse + validate), ``validate`` alone on
   the loaded frames, and pandera's lazy validation of the schemas built by
   ``salesml.data.validate.to_pandera`` on the same frames (single-table rules only).
   The steps run interleaved, ``--repeat`` times; each figure is the best run.

Prints a Markdown table row set and writes JSON to ``bench/out/load-<tier>.json``.

Wide files (issue 10: 32k columns of a 1 MB CSV took 39 s)::

    python bench/bench_load.py --wide 32000            # this checkout
    PYTHONPATH=/path/to/other/checkout python bench/bench_load.py --wide 32000

writes a ``reps.csv`` of 12 rows with 7 model columns and N extra columns (a third
text, the rest whole and decimal numbers) and times ``load_dataset`` (best of
``--repeat``) against ``pandas.read_csv(dtype=str)`` of the same file, at N/4, N/2
and N columns, so the growth with the width shows in one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GEN = textwrap.dedent(
    """
    import json, resource, sys, time
    from salesml.data.io import save_dataset
    from salesml.simulator import simulate
    preset, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    t0 = time.perf_counter()
    data, truth = simulate(preset=preset, seed=seed)
    t1 = time.perf_counter()
    save_dataset(data, out)
    t2 = time.perf_counter()
    rows = {n: len(df) for n, df in data.tables.items()}
    print(json.dumps({"generate_s": t1 - t0, "save_s": t2 - t1, "rows": rows,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)

CSV_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    import pandas as pd
    from salesml.data.io import find_table_files, load_dataset, save_dataset
    src, folder, encoding = sys.argv[1], sys.argv[2], sys.argv[3]
    data = load_dataset(src, progress=False)
    save_dataset(data, folder, format="csv", encoding=encoding)
    del data
    files = find_table_files(folder)
    t0 = time.perf_counter()
    raw = {n: pd.read_csv(p, dtype="str", encoding=encoding) for n, p in files.items()}
    raw_s = time.perf_counter() - t0
    del raw
    t0 = time.perf_counter()
    back = load_dataset(folder, progress=False)
    load_s = time.perf_counter() - t0
    assert back.validation.ok, back.validation.headline()
    print(json.dumps({"csv_raw_read_s": raw_s, "csv_load_validate_s": load_s,
                      "csv_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)

MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    import pyarrow.parquet as pq
    from salesml.data.io import find_table_files, load_dataset
    from salesml.data.schema import SPECS
    from salesml.data.validate import to_pandera, validate
    folder, repeat, with_pandera = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    files = find_table_files(folder)

    def timed(fn):
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out

    schemas = {}
    times = {"raw_read_s": [], "load_validate_s": [], "validate_s": [], "pandera_s": []}
    # the steps are interleaved in every repeat so that they share the machine's load
    for _ in range(repeat):
        times["raw_read_s"].append(
            timed(lambda: {n: pq.read_table(p).to_pandas() for n, p in files.items()})[0]
        )
        dt, data = timed(lambda: load_dataset(folder, progress=False))
        times["load_validate_s"].append(dt)
        assert data.validation.ok, data.validation.headline()
        times["validate_s"].append(timed(lambda: validate(data))[0])
        if with_pandera:
            schemas = schemas or {n: to_pandera(SPECS[n]) for n in data.tables}
            times["pandera_s"].append(
                timed(lambda: [schemas[n].validate(df, lazy=True) for n, df in data.tables.items()])[0]
            )
    res = {k: min(v) for k, v in times.items() if v}
    res["rows_total"] = sum(len(df) for df in data.tables.values())
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))
    """
)


WIDE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import pandas as pd
    import salesml
    from salesml.data.io import load_dataset
    folder, n, repeat = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.yaml").write_text("name: wide\\n", encoding="utf-8")
    model = ["rep_id", "name", "team", "region", "role", "manager_id", "hired_at"]
    lines = [",".join(model + [f"m{i}" for i in range(n)])]
    for r in range(12):
        cells = [f"t{(r + i) % 5}" if i % 3 == 0 else str((r * i) % 97) + (".5" if i % 3 == 1 else "")
                 for i in range(n)]
        lines.append(",".join([f"R{r}", "王芳", "T1", "华东", "sales", "", "2024-01-01", *cells]))
    f = folder / "reps.csv"
    f.write_text("\\n".join(lines) + "\\n", encoding="utf-8")
    best = {"pandas_read_csv_s": [], "load_dataset_s": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        pd.read_csv(f, dtype="str", keep_default_na=False, na_values=[""])
        best["pandas_read_csv_s"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        data = load_dataset(folder, progress=False)
        best["load_dataset_s"].append(time.perf_counter() - t0)
    assert data.reps.shape == (12, 7 + n), data.reps.shape
    out = {k: min(v) for k, v in best.items()}
    out.update(columns=n, mb=f.stat().st_size / 2**20, salesml=str(Path(salesml.__file__).parent))
    print(json.dumps(out))
    """
)


def _wide(n: int, repeat: int) -> int:
    out_dir = ROOT / "bench" / "out"
    rows = []
    for k in (n // 4, n // 2, n):
        print(f"[wide] {k:,} columns ...", flush=True)
        rows.append(_child(WIDE, str(out_dir / f"wide-{k}"), str(k), str(repeat)))
    (out_dir / f"load-wide-{n}.json").write_text(json.dumps(rows, indent=1))
    print(f"\nsalesml from {rows[0]['salesml']}\n")
    print("| columns | file | pandas read_csv (text) | load_dataset | per 1k columns |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['columns']:,} | {r['mb']:.1f} MB | {r['pandas_read_csv_s']:.2f} s | "
            f"{r['load_dataset_s']:.2f} s | {1000 * r['load_dataset_s'] / r['columns']:.2f} s |"
        )
    return 0


GEN_LAYOUTS = textwrap.dedent(
    """
    import json, resource, sys, time
    from salesml.data.io import save_dataset
    from salesml.simulator import simulate
    preset, seed, single, month = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    data, truth = simulate(preset=preset, seed=seed)
    save_dataset(data, single)
    save_dataset(data, month, partition="month")
    print(json.dumps({"rows": sum(len(df) for df in data.tables.values())}))
    """
)

#: one step of the layout benchmark, in a fresh process: a raw pyarrow.dataset read
#: of every table's files, or salesml.load_dataset (read + parse + validate)
LAYOUT_STEP = textwrap.dedent(
    """
    import json, resource, sys, time
    folder, step, period, cols = sys.argv[1], sys.argv[2], sys.argv[3] or None, sys.argv[4]
    columns = json.loads(cols) if cols else None
    from pathlib import Path
    import pyarrow.dataset as ds
    from salesml.data.io import _parts, find_table_files, load_dataset
    from salesml.data.partitions import is_hive
    t0 = time.perf_counter()  # imports excluded: both steps pay the same ones
    if step == "raw":
        # the same files, months and rows load_dataset reads, without parsing or rules
        import pandas as pd, pyarrow as pa
        from salesml.data.partitions import PARTITIONED_TABLES
        from salesml.data.schema import SPECS
        from salesml.periods import Period
        per = Period.parse(period) if period else None
        rows = 0
        for name, p in find_table_files(folder).items():
            files = [str(x) for x in _parts(p, Path(folder), name)]
            part = "hive" if is_hive(p) else None
            flt = None
            if per is not None and name in PARTITIONED_TABLES:
                if part:
                    m1 = f"{per.end - pd.Timedelta(microseconds=1):%Y-%m}"
                    files = [f for f in files if f"month={per.start:%Y-%m}" <= Path(f).parent.name <= f"month={m1}"]
                tc = ds.field(SPECS[name].time_column)
                flt = (tc >= pa.scalar(per.start.to_datetime64())) & (tc < pa.scalar(per.end.to_datetime64()))
            t = ds.dataset(files, format="parquet", partitioning=part,
                           partition_base_dir=str(p) if part else None).to_table(filter=flt)
            rows += t.num_rows
            del t
        ok = True
    else:
        data = load_dataset(folder, progress=False, period=period, columns=columns)
        rows = sum(len(df) for df in data.tables.values())
        ok = bool(data.validation.ok)
    wall = time.perf_counter() - t0
    print(json.dumps({"wall_s": wall, "rows": rows, "ok": ok,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def _layouts(
    tier: str,
    seed: int,
    folder: str | None,
    period: str,
    repeat: int,
    base: str | None,
    full: bool = True,
) -> int:
    """Single files against month partitions, raw pyarrow.dataset read against load_dataset."""
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    if folder:
        month, single = Path(folder), None
    else:
        single = Path(base) if base else out_dir / f"data-{tier}"
        month = single.with_name(single.name + "-month")
        if not (single / "dataset.yaml").exists() or not (month / "dataset.yaml").exists():
            print(f"[gen] tier {tier} (seed {seed}) into {single} and {month} ...", flush=True)
            _child(GEN_LAYOUTS, tier, str(seed), str(single), str(month))
    cols = json.dumps(
        {
            "activities": ["activity_id", "deal_id", "kind", "occurred_at"],
            "deals": ["deal_id", "amount"],
        }
    )
    steps = []
    for lay, f in (("single files", single), ("month partitions", month)):
        if f is None:
            continue
        steps += [(lay, f, "raw", "", ""), (lay, f, "load", "", "")]
        if lay == "month partitions":
            steps += [
                (lay, f, "raw", period, ""),
                (lay, f, "load", period, ""),
                (lay, f, "load", period, cols),
            ]
    rows = []
    for lay, f, step, per, col in steps:
        if not full and not per:
            continue  # --period-only: skip the full loads (tier L held whole: 11 GB)
        best = None
        for _ in range(repeat):
            r = _child(LAYOUT_STEP, str(f), step, per, col)
            best = r if best is None or r["wall_s"] < best["wall_s"] else best
        assert best is not None and best["ok"]
        what = "raw pyarrow.dataset().to_table()" if step == "raw" else "load_dataset + validate"
        if per:
            what += f", period={per}" + (", columns= (2 tables)" if col else "")
        print(f"  {lay}: {what}: {best['wall_s']:.2f} s, {best['peak_rss_mb']:,.0f} MB", flush=True)
        rows.append({"layout": lay, "step": step, "what": what, "period": per, **best})
    (out_dir / f"load-layouts-{tier}.json").write_text(json.dumps(rows, indent=1))
    print("\n| tier | layout | step | rows | wall | ratio to raw read (same files) | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        raw = next(
            x
            for x in rows
            if x["layout"] == r["layout"] and x["step"] == "raw" and x["period"] == r["period"]
        )
        print(
            f"| {tier} | {r['layout']} | {r['what']} | {r['rows']:,} | {r['wall_s']:.2f} s | "
            f"{r['wall_s'] / raw['wall_s']:.1f}x | {r['peak_rss_mb']:,.0f} MB |"
        )
    return 0


#: tables of the issue-16 compact load (the allocation tables)
SIX = ["deals", "activities", "costs", "leads", "customers", "quotes"]

#: one step of the streamed-validation benchmark, in a fresh process; peak = the largest
#: resident set of this process plus its children (Dask workers), sampled every 0.1 s,
#: and this process's own ru_maxrss
STREAM_STEP = textwrap.dedent(
    """
    import json, resource, sys, threading, time
    from pathlib import Path
    import psutil
    folder, step, which = sys.argv[1], sys.argv[2], sys.argv[3]
    tables = None if which == "all" else which.split(",")
    me = psutil.Process()
    peak = [0]
    done = threading.Event()
    def sample():
        while not done.is_set():
            try:
                rss = me.memory_info().rss + sum(
                    c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                rss = 0
            peak[0] = max(peak[0], rss)
            time.sleep(0.1)
    threading.Thread(target=sample, daemon=True).start()
    import pyarrow.parquet as pq
    import salesml.data.io as io
    from salesml.data.io import find_table_files, load_dataset, table_parts, validate_dataset
    out = {"step": step, "tables": which}
    client = cluster = None
    if step.startswith("dask"):
        from distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, memory_limit="6GiB")
        client = Client(cluster, set_as_default=False)
        client.run(lambda: __import__("salesml.data.streamed"))  # imports out of the timing
    t0 = time.perf_counter()  # imports (and the cluster's start) excluded
    if step == "raw":
        rows = 0
        for name, p in find_table_files(folder).items():
            if tables is None or name in tables:
                for f in table_parts(p, Path(folder), name):
                    rows += pq.read_table(f).num_rows
        out["rows"] = rows
    elif step == "validate":
        rep = validate_dataset(folder, tables=tables, compact=True, client=client)
        out["rows"] = int(rep.counts["read"].sum())
        out["quarantined"] = int(rep.counts["quarantined"].sum())
    else:
        if step == "whole":
            io._streamed_load = lambda *a, **k: None  # the whole-table validation
        data = load_dataset(folder, tables=tables, compact=True, progress=False, client=client)
        out["wall_s"] = time.perf_counter() - t0
        out["peak_before_check_mb"] = peak[0] / 2**20
        out["rows"] = int(sum(len(df) for df in data.tables.values()))
        out["quarantined"] = int(data.validation.counts["quarantined"].sum())
        out["data_mb"] = round(
            sum(df.memory_usage(deep=True).sum() for df in data.tables.values()) / 2**20)
        if step.startswith("dask"):
            import pandas as pd
            here = load_dataset(folder, tables=tables, compact=True, progress=False)
            pd.testing.assert_frame_equal(here.validation.quarantine, data.validation.quarantine)
            for n in here.tables:
                pd.testing.assert_frame_equal(here.tables[n], data.tables[n], check_exact=True)
            out["equal_to_in_process"] = True  # checked after the timing
    out["wall_s"] = time.perf_counter() - t0 if "wall_s" not in out else out["wall_s"]
    done.set()
    out["peak_tree_mb"] = out.pop("peak_before_check_mb", peak[0] / 2**20)
    out["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if client is not None:
        client.close(); cluster.close()
    print(json.dumps(out))
    """
)


def _streamed(folder: str, tier: str, steps: list[str], which: list[str]) -> int:
    """Streamed validation against a raw pyarrow read of the same files (fresh processes)."""
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for w in which:
        for st in steps:
            print(f"[{tier}] {st} ({w}) ...", flush=True)
            r = _child(STREAM_STEP, folder, st, w)
            print(f"      {r}", flush=True)
            rows.append(r)
    (out_dir / f"load-streamed-{tier}.json").write_text(json.dumps(rows, indent=1))
    print("\n| tier | tables | step | rows | wall | ratio to raw read | peak RSS (process tree) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        raw = next((x for x in rows if x["step"] == "raw" and x["tables"] == r["tables"]), None)
        ratio = f"{r['wall_s'] / raw['wall_s']:.1f}x" if raw else "-"
        print(
            f"| {tier} | {'15' if r['tables'] == 'all' else '6'} | {r['step']} | {r['rows']:,} | "
            f"{r['wall_s']:.1f} s | {ratio} | {r['peak_tree_mb']:,.0f} MiB |"
        )
    return 0


def _child(code: str, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark step failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", choices=["tiny", "demo", "S", "M", "L"], default="demo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=None, help="best of N (default 5; 3 for M)")
    ap.add_argument("--no-pandera", action="store_true", help="skip the pandera comparison")
    ap.add_argument("--out", default=None, help="dataset folder (default bench/out/data-<tier>)")
    ap.add_argument(
        "--skip-generate",
        action="store_true",
        help="reuse the dataset folder and the generation figures of the last run",
    )
    ap.add_argument(
        "--csv",
        default=None,
        metavar="ENCODING",
        help="also write the dataset as CSV in ENCODING and time loading it against "
        "pandas.read_csv(dtype=str) of the same files (one run)",
    )
    ap.add_argument(
        "--wide",
        type=int,
        default=None,
        metavar="N",
        help="instead: time loading a 12-row CSV with N extra columns (and N/4, N/2)",
    )
    ap.add_argument(
        "--layouts",
        action="store_true",
        help="instead: single files against month partitions (load_dataset, a period load, "
        "a period + columns load) against a raw pyarrow.dataset read of the same files, "
        "each step in a fresh process",
    )
    ap.add_argument("--folder", default=None, help="with --layouts: measure this folder only")
    ap.add_argument("--period", default="2026-Q1", help="with --layouts: the period load")
    ap.add_argument(
        "--period-only", action="store_true", help="with --layouts: only the period steps"
    )
    ap.add_argument(
        "--streamed",
        action="store_true",
        help="instead: the compact validated load of --folder (streamed over its partitions) "
        "against a raw pyarrow read of the same files; --steps picks the steps",
    )
    ap.add_argument(
        "--steps",
        default="raw,load",
        help="with --streamed: comma list of raw, load (streamed), whole (whole-table "
        "validation), validate (validate_dataset), dask (load on a 2-worker LocalCluster)",
    )
    ap.add_argument(
        "--tables",
        default="six,all",
        help="with --streamed: six (the allocation tables), all (15), or both (six,all)",
    )
    args = ap.parse_args(argv)
    if args.streamed:
        which = [",".join(SIX) if w == "six" else w for w in args.tables.split(",")]
        folder = args.folder or f"/work/data/{args.tier}-parts-month"
        return _streamed(folder, args.tier, args.steps.split(","), which)
    if args.layouts:
        return _layouts(
            args.tier,
            args.seed,
            args.folder,
            args.period,
            args.repeat or 1,
            args.out,
            not args.period_only,
        )
    if args.wide:
        return _wide(args.wide, args.repeat or 3)
    repeat = args.repeat or (3 if args.tier == "M" else 5)
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(args.out) if args.out else out_dir / f"data-{args.tier}"

    last = out_dir / f"load-{args.tier}.json"
    t0 = time.perf_counter()
    if args.skip_generate and last.exists() and (folder / "dataset.yaml").exists():
        prev = json.loads(last.read_text())
        gen = {k: prev[k] for k in ("generate_s", "save_s", "rows")}
        gen["peak_rss_mb"] = prev.get("gen_peak_rss_mb", prev.get("peak_rss_mb"))
        print(f"[1/2] reusing {folder} and the generation figures of {last.name}", flush=True)
    else:
        print(f"[1/2] generating tier {args.tier} (seed {args.seed}) into {folder} ...", flush=True)
        gen = _child(GEN, args.tier, str(args.seed), str(folder))
    print(
        f"      simulate {gen['generate_s']:.1f}s, save {gen['save_s']:.1f}s, "
        f"peak {gen['peak_rss_mb']:.0f} MB ({time.perf_counter() - t0:.0f}s wall)",
        flush=True,
    )
    print(f"[2/2] measuring load + validate (best of {repeat}) ...", flush=True)
    m = _child(MEASURE, str(folder), str(repeat), "0" if args.no_pandera else "1")
    result = {
        "tier": args.tier,
        "seed": args.seed,
        "repeat": repeat,
        **{k: v for k, v in gen.items() if k != "peak_rss_mb"},
        "gen_peak_rss_mb": gen["peak_rss_mb"],
        **m,
    }
    if args.csv:
        print(f"[+] CSV ({args.csv}): writing and loading ...", flush=True)
        csv_dir = out_dir / f"data-{args.tier}-csv"
        result.update(_child(CSV_MEASURE, str(folder), str(csv_dir), args.csv))
    (out_dir / f"load-{args.tier}.json").write_text(json.dumps(result, indent=1))

    acts = gen["rows"].get("activities", 0)
    print()
    print(
        "| tier | rows | activities | raw pyarrow read | load + validate | ratio | "
        "validate only | ratio | pandera (lazy, 1-table rules) | generate | gen. peak RSS | load peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    pand = f"{m['pandera_s']:.2f} s" if "pandera_s" in m else "-"
    print(
        f"| {args.tier} | {m['rows_total']:,} | {acts:,} | {m['raw_read_s']:.2f} s | "
        f"{m['load_validate_s']:.2f} s | {m['load_validate_s'] / m['raw_read_s']:.1f}x | "
        f"{m['validate_s']:.2f} s | {m['validate_s'] / m['raw_read_s']:.1f}x | {pand} | "
        f"{gen['generate_s']:.1f} s | {gen['peak_rss_mb']:,.0f} MB | {m['peak_rss_mb']:,.0f} MB |"
    )
    if args.csv:
        print()
        print(
            "| tier | CSV encoding | pandas read_csv (text) | load + validate | ratio | peak RSS |"
        )
        print("|---|---|---|---|---|---|")
        print(
            f"| {args.tier} | {args.csv} | {result['csv_raw_read_s']:.2f} s | "
            f"{result['csv_load_validate_s']:.2f} s | "
            f"{result['csv_load_validate_s'] / result['csv_raw_read_s']:.1f}x | "
            f"{result['csv_peak_rss_mb']:,.0f} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
