"""Live SQL sources against a real PostgreSQL server (see conftest.py)."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesml.data.errors import DatasetError
from salesml.data.schema import SPECS

FIXTURES = Path(__file__).parent / "fixtures"


def _sorted(df: pd.DataFrame, table: str) -> pd.DataFrame:
    return df.sort_values(list(SPECS[table].key), kind="stable").reset_index(drop=True)


def _folder(tmp_path: Path, server, tables: dict, **extra) -> Path:
    folder = tmp_path / "sqlds"
    folder.mkdir(exist_ok=True)
    src = {"url": server.url, "chunk_rows": 500, "tables": tables, **extra}
    (folder / "dataset.yaml").write_text(
        yaml.safe_dump({"name": "sql", "source": src}, allow_unicode=True), encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def tiny_ref(tiny_dataset: Path):
    from salesml.data.io import load_dataset

    return load_dataset(tiny_dataset, progress=False)


def test_sql_load_equals_parquet_load(pg_tiny, pg_env, tiny_ref, tmp_path: Path) -> None:
    from salesml.data.io import load_dataset

    tables = {name: {"table": name} for name in tiny_ref.tables}
    tables["activities"] = {"query": "SELECT * FROM activities"}  # a query source too
    got = load_dataset(_folder(tmp_path, pg_env, tables), progress=False)
    assert set(got.tables) == set(tiny_ref.tables)
    for name, ref in tiny_ref.tables.items():
        pd.testing.assert_frame_equal(_sorted(got.tables[name], name), _sorted(ref, name))
    assert got.validation.ok
    assert (got.validation.counts["read"] == got.validation.counts["loaded"]).all()
    assert got.validation.counts.loc["deals", "read"] == len(tiny_ref.tables["deals"])


def test_period_filter_reaches_the_sql(pg_tiny, pg_env, tiny_ref, tmp_path: Path, caplog) -> None:
    import logging

    from salesml.data.sql import load_sql
    from salesml.periods import Period

    costs = tiny_ref.tables["costs"]
    month = costs["incurred_at"].median().to_period("M")
    period = Period.parse(str(month))
    folder = _folder(
        tmp_path,
        pg_env,
        {"costs": {"table": "costs"}, "deals": {"table": "deals"}, "reps": {"table": "reps"}},
    )
    with caplog.at_level(logging.DEBUG, logger="salesml.data.sql"):
        got = load_sql(folder, period=str(month), progress=False)
    seen = [(r.args[1], r.args[2]) for r in caplog.records if r.name == "salesml.data.sql"]
    want = costs[(costs["incurred_at"] >= period.start) & (costs["incurred_at"] < period.end)]
    assert 0 < len(got.tables["costs"]) == len(want) < len(costs)
    pd.testing.assert_frame_equal(
        _sorted(got.tables["costs"], "costs"), _sorted(want.reset_index(drop=True), "costs")
    )
    # deals are referenced by other tables: left whole by default
    assert len(got.tables["deals"]) == len(tiny_ref.tables["deals"])
    cost_sql = [(s, p) for s, p in seen if "FROM costs" in s and "incurred_at" in s]
    assert len(cost_sql) == 1
    statement, params = cost_sql[0]
    assert "costs.incurred_at >= %(period_start)s" in statement
    assert "costs.incurred_at < %(period_end)s" in statement
    assert str(period.start.date()) not in statement  # bound, never formatted in
    assert pd.Timestamp(params["period_start"]) == period.start
    assert pd.Timestamp(params["period_end"]) == period.end
    deal_sql = [s for s, _ in seen if "FROM deals" in s]
    assert deal_sql and all("WHERE" not in s for s in deal_sql)


def test_bad_rows_are_quarantined_like_a_folder_load(
    pg_tiny, pg_env, tiny_ref, tmp_path: Path
) -> None:
    from salesml.data.io import load_dataset, save_dataset
    from salesml.data.sql import load_sql

    deals = tiny_ref.tables["deals"].copy()
    deals = _sorted(deals, "deals")
    deals.loc[3, "amount"] = -10.0
    deals.loc[7, "outcome"] = "wonn"
    deals.loc[11, "customer_id"] = "C-DOES-NOT-EXIST"
    engine = pg_env.engine()
    try:
        deals.to_sql("deals_dirty", engine, if_exists="replace", index=False)
    finally:
        engine.dispose()
    keep = ("reps", "customers", "stores", "leads")
    tables = {t: {"table": t} for t in keep} | {"deals": {"table": "deals_dirty"}}
    got = load_sql(_folder(tmp_path, pg_env, tables), progress=False)
    q = got.validation.quarantine
    bad = q[q["table"] == "deals"].set_index("column")
    assert set(bad.index) >= {"amount", "outcome", "customer_id"}
    assert bad.loc["amount", "row"] == 3 and bad.loc["amount", "rule"] == "non_negative"
    assert bad.loc["outcome", "row"] == 7
    assert bad.loc["customer_id", "rule"] == "foreign_key"
    assert bad.loc["customer_id", "key"] == deals.loc[11, "deal_id"]
    assert all("deals_dirty" in m for m in bad["message"])
    assert len(got.tables["deals"]) == len(deals) - 3

    # the same rows from Parquet: the same quarantine but for where they came from
    ref_dir = tmp_path / "parquet"
    sub = {t: tiny_ref.tables[t] for t in keep}
    from salesml.data.bundle import SalesData

    save_dataset(SalesData({**sub, "deals": deals}, tiny_ref.config), ref_dir)
    ref = load_dataset(ref_dir, progress=False)
    cols = ["table", "row", "key", "column", "rule", "value"]
    pd.testing.assert_frame_equal(
        q[cols].reset_index(drop=True), ref.validation.quarantine[cols].reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        got.tables["deals"].reset_index(drop=True), ref.tables["deals"].reset_index(drop=True)
    )


def test_wrong_password_is_never_shown(pg_tiny, pg_env, monkeypatch, tmp_path: Path) -> None:
    from salesml.data.io import load_dataset

    secret = "Wr0ng-S3cret-pw"
    monkeypatch.setenv("PGPASSWORD", secret)
    folder = _folder(tmp_path, pg_env, {"reps": {"table": "reps"}})
    with pytest.raises(DatasetError) as info:
        load_dataset(folder, progress=False)
    text = "".join(traceback.format_exception(info.value))
    assert secret not in text
    assert "cannot connect" in str(info.value) and "password authentication failed" in text
    assert "***" in str(info.value)

    # in SALESML_DB_URL the password is allowed; a message shows it masked
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv(
        "SALESML_DB_URL",
        f"postgresql+psycopg://salesml:{secret}@127.0.0.1:{pg_env.port}/postgres",
    )
    folder = _folder(tmp_path, pg_env, {"reps": {"table": "reps"}})
    raw = yaml.safe_load((folder / "dataset.yaml").read_text())
    del raw["source"]["url"]
    (folder / "dataset.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(DatasetError) as info:
        load_dataset(folder, progress=False)
    text = "".join(traceback.format_exception(info.value))
    assert secret not in text and "salesml:***@127.0.0.1" in text


def test_password_in_dataset_yaml_or_argv_is_refused(pg_env, tmp_path: Path) -> None:
    from salesml.data.config import DatasetConfig
    from salesml.data.sql import resolve_url

    folder = _folder(tmp_path, pg_env, {"reps": {"table": "reps"}})
    raw = yaml.safe_load((folder / "dataset.yaml").read_text())
    raw["source"]["url"] = raw["source"]["url"].replace("salesml@", "salesml:hunter2@")
    (folder / "dataset.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(DatasetError, match="carries a password") as info:
        DatasetConfig.read(folder)
    assert "hunter2" not in str(info.value)
    with pytest.raises(DatasetError, match="carries a password") as info:
        resolve_url(url="postgresql+psycopg://u:hunter2@h/db", env={})
    assert "hunter2" not in str(info.value)


def test_sql_injection_is_refused(pg_tiny, pg_env, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from salesml.data.sql import load_sql

    attempts = [
        ({"reps": {"table": "reps; DROP TABLE customers; --"}}, "does not exist"),
        ({"reps": {"table": 'reps" WHERE 1=1; --'}}, "does not exist"),
        ({"costs": {"table": "costs", "time_column": "incurred_at) OR (1=1"}}, "not a column"),
    ]
    for tables, msg in attempts:
        with pytest.raises(DatasetError, match=msg):
            load_sql(_folder(tmp_path, pg_env, tables), period="2026-Q1", progress=False)
    for query, msg in [
        ("SELECT * FROM reps; DROP TABLE customers", "one statement"),
        ("DELETE FROM customers", "one SELECT"),
    ]:
        with pytest.raises(DatasetError, match=msg):
            _folder(tmp_path, pg_env, {"reps": {"query": query}})
            load_sql(tmp_path / "sqlds", progress=False)
    # a data-modifying CTE gets past the text check, not past the subquery it is wrapped in
    cte = "WITH gone AS (DELETE FROM customers RETURNING *) SELECT * FROM reps"
    with pytest.raises(DatasetError, match="cannot be run"):
        load_sql(_folder(tmp_path, pg_env, {"reps": {"query": cte}}), progress=False)
    # and a function that writes, called from a SELECT, meets the read-only transaction
    engine = pg_env.engine()
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE IF NOT EXISTS scribble (x int)"))
        c.execute(
            sa.text(
                "CREATE OR REPLACE FUNCTION sneaky() RETURNS int LANGUAGE sql AS "
                "$$ INSERT INTO scribble VALUES (1) RETURNING x $$"
            )
        )
    engine.dispose()
    with pytest.raises(DatasetError, match="read-only transaction"):
        load_sql(
            _folder(tmp_path, pg_env, {"reps": {"query": "SELECT sneaky() AS rep_id"}}),
            progress=False,
        )
    # a period is parsed by salesml.periods, never passed on as text
    folder = _folder(tmp_path, pg_env, {"costs": {"table": "costs"}})
    with pytest.raises(ValueError):
        load_sql(folder, period="2026-01-01' OR '1'='1", progress=False)
    engine = pg_env.engine()
    try:
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM customers")).scalar() > 0
            assert sa.inspect(c).has_table("reps")
            assert c.execute(sa.text("SELECT count(*) FROM scribble")).scalar() == 0
    finally:
        engine.dispose()


def test_source_keys_are_checked(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from salesml.data.config import DatasetConfig

    def read(source: dict) -> DatasetConfig:
        (tmp_path / "dataset.yaml").write_text(yaml.safe_dump({"source": source}))
        return DatasetConfig.read(tmp_path)

    good = {"url": "postgresql+psycopg://u@h/db", "tables": {"deals": {"table": "d"}}}
    cfg = read(good)
    assert cfg.source.tables["deals"].table == "d"
    assert DatasetConfig.from_dict(cfg.to_dict()).source == cfg.source  # round trip
    with pytest.raises(DatasetError, match=r"unknown key.*colour"):
        read({**good, "colour": "red"})
    with pytest.raises(DatasetError, match=r"tables\.deals: unknown key.*where"):
        read({**good, "tables": {"deals": {"table": "d", "where": "1=1"}}})
    with pytest.raises(DatasetError, match="exactly one of table: or query:"):
        read({**good, "tables": {"deals": {"table": "d", "query": "SELECT 1"}}})
    with pytest.raises(DatasetError, match="not a model table"):
        read({**good, "tables": {"dealz": {"table": "d"}}})
    with pytest.raises(DatasetError, match="chunk_rows"):
        read({**good, "chunk_rows": 0})


def test_pgpass_file(pg_tiny, pg_env, monkeypatch, tmp_path: Path) -> None:
    from salesml.data.io import load_dataset
    from salesml.data.sql import resolve_url

    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / ".pgpass"  # HOME is tmp_path (pg_env)
    pw = pg_env.password.replace(":", "\\:")
    pgpass.write_text(f"otherhost:*:*:*:nope\n127.0.0.1:{pg_env.port}:*:salesml:{pw}\n")
    pgpass.chmod(0o644)
    folder = _folder(tmp_path, pg_env, {"reps": {"table": "reps"}})
    if os.name == "posix":
        with pytest.raises(DatasetError, match="chmod 600"):
            load_dataset(folder, progress=False)
    pgpass.chmod(0o600)
    got = load_dataset(folder, progress=False)
    assert len(got.tables["reps"]) > 0
    env = {"PGPASSFILE": str(pgpass)}
    u = resolve_url(url="postgresql+psycopg://salesml@127.0.0.1:1/x", env=env)
    assert u.password is None  # no line matches port 1
    u = resolve_url(
        url="postgresql+psycopg://127.0.0.1",
        env={**env, "PGUSER": "salesml", "PGPORT": str(pg_env.port), "PGDATABASE": "postgres"},
    )
    assert u.password == pg_env.password and u.username == "salesml"


def test_import_from_sql_snapshot(pg_tiny, pg_env, tiny_ref, tmp_path: Path, capsys) -> None:
    from salesml.cli import main
    from salesml.data.io import load_dataset

    tables = {name: {"table": name} for name in tiny_ref.tables}
    folder = _folder(tmp_path, pg_env, tables)
    out = tmp_path / "snap"
    assert main(["import", "--from-sql", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert pg_env.password not in printed and "deals" in printed
    snap = load_dataset(out, progress=False)
    assert snap.config.source is None and (out / "deals").is_dir()  # parts of chunk_rows
    assert len(list((out / "activities").glob("*.parquet"))) > 1
    for name, ref in tiny_ref.tables.items():
        pd.testing.assert_frame_equal(_sorted(snap.tables[name], name), _sorted(ref, name))
    # a password written into the source is refused, and not echoed
    raw = yaml.safe_load((folder / "dataset.yaml").read_text())
    raw["source"]["url"] = raw["source"]["url"].replace("salesml@", "salesml:hunter2@")
    (folder / "dataset.yaml").write_text(yaml.safe_dump(raw))
    assert main(["import", "--from-sql", str(folder), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "carries a password" in err and "hunter2" not in err


def test_mapped_crm_tables(pg_server, pg_env, tmp_path: Path) -> None:
    """A CRM database's own tables, read through a mapping (hand-made fixture)."""
    from salesml.data.io import load_dataset
    from salesml.data.sql import snapshot_sql

    engine = pg_env.engine()
    try:
        for name in ("crm_users", "crm_accounts", "crm_opps"):
            df = pd.read_csv(FIXTURES / f"{name}.csv", dtype="str")
            df.to_sql(name, engine, if_exists="replace", index=False)
    finally:
        engine.dispose()
    folder = _folder(
        tmp_path,
        pg_env,
        {n: {"table": n} for n in ("crm_users", "crm_accounts", "crm_opps")},
        mapping="mapping.yaml",
    )
    (folder / "mapping.yaml").write_text((FIXTURES / "mapping.yaml").read_text("utf-8"), "utf-8")
    data = load_dataset(folder, progress=False)
    rep = data.validation
    assert rep.counts.loc["deals", "read"] == 6
    deals = data.tables["deals"].set_index("deal_id")
    assert deals.loc["O1", "amount"] == 12500.0 and deals.loc["O1", "outcome"] == "won"
    assert data.tables["customers"].set_index("customer_id").loc["A103", "segment"] == "mid_market"
    assert deals.loc["O3", "Currency"] == "USD"  # kept (keep_unmapped), not silently converted
    q = rep.quarantine
    bad = set(zip(q["key"], q["column"], strict=True))
    assert ("O4", "customer_id") in bad  # an account the CRM no longer has
    assert ("O6", "created_at") in bad  # an empty date
    assert all("crm_opps.parquet" in m for m in q.loc[q["table"] == "deals", "message"])
    out = snapshot_sql(folder, tmp_path / "crm_snap", progress=False)
    again = load_dataset(out, progress=False)
    pd.testing.assert_frame_equal(again.tables["deals"], data.tables["deals"])
    assert len(again.stored_quarantine) == len(rep.stored)


def test_timestamptz_columns_in_the_dataset_timezone(
    pg_tiny, pg_env, tiny_ref, tmp_path: Path
) -> None:
    """``timestamptz`` (what many CRMs store) comes back naive in dataset.yaml's timezone."""
    from salesml.data.sql import load_sql

    tz = tiny_ref.config.timezone
    costs = tiny_ref.tables["costs"]
    aware = costs.assign(incurred_at=costs["incurred_at"].dt.tz_localize(tz))
    engine = pg_env.engine()
    try:
        aware.to_sql("costs_tz", engine, if_exists="replace", index=False)
    finally:
        engine.dispose()
    month = costs["incurred_at"].median().to_period("M")
    folder = _folder(tmp_path, pg_env, {"costs": {"table": "costs_tz"}})
    whole = load_sql(folder, progress=False).tables["costs"]
    pd.testing.assert_frame_equal(_sorted(whole, "costs"), _sorted(costs, "costs"))
    got = load_sql(folder, period=str(month), progress=False).tables["costs"]
    start, end = month.start_time, (month + 1).start_time
    want = costs[(costs["incurred_at"] >= start) & (costs["incurred_at"] < end)]
    assert len(got) == len(want) > 0  # the month's bounds are local time, not UTC
