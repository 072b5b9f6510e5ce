"""SQL-sourced load against the Parquet load of the same data (``bench/README.md``).

Usage::

    python bench/bench_sql.py --tier demo [--repeat 3]

Generates the tier, saves it as Parquet, starts a throw-away PostgreSQL server
(Debian's ``postgresql`` package; as root it runs as the ``postgres`` user) on a free
loopback port, copies every table into it, then times in fresh subprocesses, taking
the best of ``--repeat`` interleaved runs, with peak RSS (``VmHWM`` of the subprocess):

- ``load_dataset`` of the Parquet folder (the baseline);
- ``load_dataset`` of a folder whose ``dataset.yaml`` has ``source:`` (all tables);
- ``salesml import --from-sql`` (the snapshot into Parquet parts).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

_CHILD = r"""
import json, sys, time
what, folder, out = sys.argv[1], sys.argv[2], sys.argv[3]
# the same modules imported in every run before the clock starts
import psycopg, pyarrow.parquet, sqlalchemy, salesml.data.io, salesml.data.sql, salesml.data.validate
t = time.perf_counter()
if what == "snapshot":
    from salesml.data.sql import snapshot_sql
    snapshot_sql(folder, out, progress=False)
    rows = 0
else:
    from salesml.data.io import load_dataset
    d = load_dataset(folder, progress=False)
    rows = sum(len(x) for x in d.tables.values())
    assert d.validation.ok or what == "parquet"
dt = time.perf_counter() - t
# VmHWM: this process's own peak (ru_maxrss would carry the forking parent's over exec)
hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM"))
print(json.dumps({"s": dt, "rss_mb": hwm / 1024, "rows": rows}))
"""


def _server(folder: Path) -> tuple[list[str], Path, int, str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        sys.exit("PostgreSQL binaries not found: apt-get install -y postgresql")
    bindir = Path(found[-1]).parent
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    password = secrets.token_urlsafe(18)
    pw = folder / "pw"
    pw.write_text(password)
    if prefix:
        os.chown(pw, pwd.getpwnam("postgres").pw_uid, -1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = folder / "data"
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "salesml",
            "--pwfile",
            str(pw),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return [*prefix, str(bindir / "pg_ctl"), "-D", str(data)], data, port, password


def _copy_into(engine, name: str, df) -> None:
    """Create the table from the frame's dtypes, then COPY the rows in (fast)."""
    import io

    df.head(0).to_sql(name, engine, if_exists="replace", index=False)
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur:
            for start in range(0, len(df), 200_000):
                buf = io.StringIO()
                df.iloc[start : start + 200_000].to_csv(buf, index=False, header=False)
                cols = ", ".join(f'"{c}"' for c in df.columns)
                with cur.copy(f'COPY "{name}" ({cols}) FROM STDIN WITH (FORMAT csv)') as cp:
                    cp.write(buf.getvalue())


def _run(what: str, folder: Path, out: Path, env: dict[str, str]) -> dict:
    got = subprocess.run(
        [sys.executable, "-c", _CHILD, what, str(folder), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(got.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tier", default="demo", choices=["tiny", "demo", "M"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dataset", default=None, help="use this Parquet folder (else generate)")
    args = ap.parse_args()

    import sqlalchemy as sa

    from salesml.data.io import load_dataset, save_dataset
    from salesml.simulator import simulate

    work = Path(tempfile.mkdtemp(prefix="salesml-bench-sql-"))
    pg = Path(tempfile.mkdtemp(prefix="salesml-bench-pg-"))  # its own: owned by postgres
    ctl, _, port, password = _server(pg)
    try:
        if args.dataset:
            parquet = Path(args.dataset)
        else:
            data, _ = simulate(preset=args.tier, seed=0)
            parquet = work / "parquet"
            save_dataset(data, parquet)
            del data
        ref = load_dataset(parquet, progress=False)
        url = f"postgresql+psycopg://salesml@127.0.0.1:{port}/postgres"
        engine = sa.create_engine(sa.engine.make_url(url).set(password=password))
        t = time.perf_counter()
        names = list(ref.tables)
        for name, df in ref.tables.items():
            _copy_into(engine, name, df)
        del ref
        copy_s = time.perf_counter() - t
        engine.dispose()
        sqlds = work / "sqlds"
        sqlds.mkdir()
        src = {"url": url, "tables": {n: {"table": n} for n in names}}
        (sqlds / "dataset.yaml").write_text(yaml.safe_dump({"name": "bench", "source": src}))
        env = {**os.environ, "PGPASSWORD": password}
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            for what, folder in (("parquet", parquet), ("sql", sqlds), ("snapshot", sqlds)):
                snap = work / "snap"
                shutil.rmtree(snap, ignore_errors=True)
                r = _run(what, folder, snap, env)
                if what not in best or r["s"] < best[what]["s"]:
                    best[what] = r
        rows = best["parquet"]["rows"]
        n_tables = len(src["tables"])
        print(
            f"tier {args.tier}: {rows:,} rows in {n_tables} tables; copy into PostgreSQL "
            f"{copy_s:.1f} s (setup, not timed below); best of {args.repeat}"
        )
        base = best["parquet"]["s"]
        for what, label in (
            ("parquet", "load_dataset, Parquet folder (baseline)"),
            ("sql", "load_dataset, dataset.yaml source: (PostgreSQL)"),
            ("snapshot", "salesml import --from-sql (snapshot to Parquet)"),
        ):
            r = best[what]
            print(f"| {label} | {r['s']:.2f} s | {r['s'] / base:.1f}x | {r['rss_mb']:,.0f} MB |")
    finally:
        subprocess.run([*ctl, "-m", "fast", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(pg, ignore_errors=True)


if __name__ == "__main__":
    main()
