"""Property tests: conservation under random corruption, and as_of never leaks."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesml.data.schema import SPECS, TABLE_NAMES
from salesml.data.validate import to_pandera, validate
from salesml.simulator import to_raw

KINDS = ("empty", "garbage", "negative", "duplicate_key", "typo", "old_date", "orphan")
TYPED = ("float", "int", "datetime", "bool")
_fixture_ok = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def raw_small(small_data) -> dict[str, pd.DataFrame]:
    return {name: to_raw(df) for name, df in small_data.tables.items()}


def corrupt(raw: dict[str, pd.DataFrame], edits) -> tuple[dict[str, pd.DataFrame], list]:
    """Apply edits ``(table_i, row_i, col_i, kind)`` to a copy; return it and the cells hit."""
    out = {k: v.copy() for k, v in raw.items()}
    names = [n for n in TABLE_NAMES if len(out[n])]
    hit = []
    for ti, ri, ci, kind in edits:
        name = names[ti % len(names)]
        df = out[name]
        r = ri % len(df)
        col = df.columns[ci % len(df.columns)]
        old = df.at[r, col]
        if kind == "empty":
            new = None
        elif kind == "garbage":
            new = "??#"
        elif kind == "negative":
            new = "-" + str(old) if old is not None else "-1"
        elif kind == "duplicate_key":
            col = SPECS[name].key[0]
            new = df.at[(r + 1) % len(df), col]
        elif kind == "typo":
            new = (str(old) + "x") if old is not None else "x"
        elif kind == "old_date":
            new = "1999-01-01"
        else:  # orphan
            new = "NOPE-1"
        df.at[r, col] = new
        hit.append((name, r, col, kind))
    return out, hit


@pytest.mark.slow
@_fixture_ok
@given(
    st.lists(
        st.tuples(
            st.integers(0, 100),
            st.integers(0, 10**6),
            st.integers(0, 100),
            st.sampled_from(KINDS),
        ),
        min_size=1,
        max_size=15,
    )
)
def test_conservation_and_clean_output_under_random_corruption(raw_small, edits):
    tables, hit = corrupt(raw_small, edits)
    r = validate(tables)
    c = r.counts
    q = r.quarantine
    edited = {h[0] for h in hit}
    for name, df in tables.items():
        # nothing lost, nothing invented
        assert c.loc[name, "read"] == len(df)
        assert c.loc[name, "loaded"] + c.loc[name, "quarantined"] == len(df)
        assert len(r.data[name]) == c.loc[name, "loaded"]
        assert q.loc[q["table"] == name, "row"].nunique() == c.loc[name, "quarantined"]
        # what was loaded satisfies the declarative schema (checked on edited tables,
        # the others are clean by construction) and the references
        if name in edited:
            to_pandera(SPECS[name]).validate(r.data[name])
        for col, parent, pcol in SPECS[name].foreign_keys:
            assert r.data[name][col].dropna().isin(set(r.data[parent][pcol])).all()
    # garbage in a typed column of the model is always caught on that row
    for name, row, col, kind in hit:
        typed = col in SPECS[name] and SPECS[name][col].kind in TYPED
        # a later edit may have overwritten the cell: only check cells still garbage
        if kind == "garbage" and typed and tables[name].at[row, col] == "??#":
            rows = q[(q["table"] == name) & (q["column"] == col)]["row"]
            assert row in set(rows)


def _datetime_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day=st.integers(-10, 140), minute=st.integers(0, 24 * 60 - 1))
def test_as_of_never_leaks(small_data, day, minute):
    start = small_data.deals["created_at"].min().normalize()
    ts = start + pd.Timedelta(days=day, minutes=minute)
    before = small_data.fingerprint()
    cut = small_data.as_of(ts)
    assert small_data.fingerprint() == before  # input untouched
    for name, df in cut.tables.items():
        for col in _datetime_columns(df):
            if (name, col) == ("campaigns", "ended_at"):
                continue  # a campaign's planned end is known when it starts
            assert not (df[col] > ts).any(), f"{name}.{col} has a time after {ts}"
    # no deal closed after ts shows its outcome
    orig = small_data.deals.set_index("deal_id")
    deals = cut.deals.set_index("deal_id")
    late = orig.loc[deals.index, "closed_at"] > ts
    assert (deals.loc[late[late].index, "outcome"] == "open").all()
    assert deals.loc[late[late].index, "closed_at"].isna().all()
    closed_in_time = orig.loc[deals.index, "closed_at"] <= ts
    ids = closed_in_time[closed_in_time].index
    assert (deals.loc[ids, "outcome"] == orig.loc[ids, "outcome"]).all()
    # stages match the stage history as of ts
    hist = cut.stage_history.sort_values(["deal_id", "entered_at"], kind="stable")
    last = hist.drop_duplicates("deal_id", keep="last").set_index("deal_id")["stage"]
    shared = deals.index.intersection(last.index)
    assert (deals.loc[shared, "stage"] == last.loc[shared]).all()
    # leads converted after ts are still open then
    leads = small_data.leads.set_index("lead_id")
    cut_leads = cut.leads.set_index("lead_id")
    conv_late = leads.loc[cut_leads.index, "converted_at"] > ts
    assert (cut_leads.loc[conv_late[conv_late].index, "status"] != "converted").all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day=st.integers(0, 130))
def test_as_of_cut_is_itself_a_valid_dataset(small_data, day):
    ts = small_data.deals["created_at"].min().normalize() + pd.Timedelta(days=day, hours=13)
    r = validate(small_data.as_of(ts))
    assert r.ok, r.quarantine.head()
