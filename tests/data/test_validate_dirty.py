"""Validation against the simulator's planted faults: recall, precision, conservation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.data.io import load_dataset, save_dataset
from salesml.data.schema import SPECS, TABLE_NAMES

KEYS = ["table", "row", "column", "rule"]


def test_every_planted_fault_is_quarantined_under_its_rule(dirty_demo, dirty_report):
    _, truth = dirty_demo
    faults = truth.faults
    assert len(faults) > 100 and faults["rule"].nunique() >= 7
    q = dirty_report.quarantine[KEYS].drop_duplicates()
    hit = faults.merge(q, on=KEYS, how="left", indicator=True)
    missed = hit[hit["_merge"] != "both"]
    assert missed.empty, f"missed faults:\n{missed}"


def _explained_rows(raw, faults: pd.DataFrame, q: pd.DataFrame) -> dict[str, set[int]]:
    """Rows whose rejection traces back to a planted fault (directly or by cascade)."""
    explained: dict[str, set[int]] = {t: set() for t in TABLE_NAMES}
    for t, r in zip(faults["table"], faults["row"], strict=True):
        explained[t].add(int(r))
    parent_of = {(t, col): (pt, pc) for t in TABLE_NAMES for col, pt, pc in SPECS[t].foreign_keys}
    rows_of: dict[tuple[str, str], dict[str, list[int]]] = {}
    for pt, pc in set(parent_of.values()):
        if pt in raw:
            keys = pd.Series(np.arange(len(raw[pt])), index=raw[pt][pc].astype("str"))
            rows_of[(pt, pc)] = keys.groupby(level=0).agg(list).to_dict()
    # tables in dependency order; self references resolved by repeating
    for _ in range(3):
        for t in TABLE_NAMES:
            qt = q[(q["table"] == t) & (q["rule"] == "parent_rejected")]
            for row, col, value in zip(qt["row"], qt["column"], qt["value"], strict=True):
                pt, pc = parent_of[(t, col)]
                prows = rows_of[(pt, pc)].get(value, [])
                if any(p in explained[pt] for p in prows):
                    explained[t].add(int(row))
    return explained


def test_clean_rows_are_almost_never_flagged(dirty_demo, dirty_report):
    raw, truth = dirty_demo
    q = dirty_report.quarantine
    explained = _explained_rows(raw.tables, truth.faults, q)
    flagged = {(t, int(r)) for t, r in zip(q["table"], q["row"], strict=True)}
    false_pos = {(t, r) for t, r in flagged if r not in explained[t]}
    n_clean = sum(len(df) for df in raw.tables.values()) - len(truth.faults)
    assert len(false_pos) / n_clean < 0.001, sorted(false_pos)[:20]


def test_conservation_per_table(dirty_demo, dirty_report):
    raw, _ = dirty_demo
    c = dirty_report.counts
    for name, df in raw.tables.items():
        assert c.loc[name, "read"] == len(df)
        assert c.loc[name, "loaded"] + c.loc[name, "quarantined"] == len(df)
        assert len(dirty_report.data[name]) == c.loc[name, "loaded"]
    assert dirty_report.n_rejected == q_rows(dirty_report.quarantine)


def q_rows(q: pd.DataFrame) -> int:
    return len(q[["table", "row"]].drop_duplicates())


def test_clean_output_is_typed_and_referentially_sound(dirty_report):
    data = dirty_report.data
    for name, df in data.tables.items():
        for c in SPECS[name].columns:
            assert str(df[c.name].dtype) == c.pandas_dtype, (name, c.name)
            if not c.nullable:
                assert df[c.name].notna().all(), (name, c.name)
        for col, parent, pcol in SPECS[name].foreign_keys:
            vals = df[col].dropna()
            assert vals.isin(set(data[parent][pcol])).all(), (name, col)
        assert not df.duplicated(list(SPECS[name].key)).any(), name


@pytest.mark.slow
def test_dirty_csv_in_gb18030_gives_the_same_quarantine(dirty_demo, dirty_report, tmp_path):
    raw, truth = dirty_demo
    assert truth.encoding == "gb18030"
    folder = save_dataset(raw, tmp_path / "dirty", format="csv", encoding=truth.encoding)
    back = load_dataset(folder, progress=False)
    cols = ["table", "row", "column", "rule", "value"]
    a = dirty_report.quarantine[cols].sort_values(cols).reset_index(drop=True)
    b = back.validation.quarantine[cols].sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert back.validation.quarantine["line"].notna().all()
    assert (back.validation.quarantine["line"] == back.validation.quarantine["row"] + 2).all()
    assert back.validation.quarantine["message"].str.contains(r"\.csv line \d+: column").all()
    for name in raw.tables:
        pd.testing.assert_frame_equal(
            back[name], dirty_report.data[name], check_dtype=True, obj=name
        )
