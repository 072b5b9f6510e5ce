"""The quarantine that stays with a dataset folder (salesml.data.quarantine)."""

from __future__ import annotations

import pandas as pd
import pytest

from salesml.data.io import load_dataset, save_dataset
from salesml.data.quarantine import (
    QUARANTINE_FILE,
    STORED_COLUMNS,
    dataset_quarantine,
    quarantine_counts,
    quarantine_headlines,
    read_stored_quarantine,
    write_stored_quarantine,
)


def _rows(**kw) -> pd.DataFrame:
    base = {
        "table": ["deals", "deals", "deals", "customers"],
        "file": ["x.csv"] * 4,
        "row": [3, 3, 7, 1],
        "line": [5, 5, 9, 3],
        "key": ["D3", "D3", "D7", "C1"],
        "column": ["amount", "created_at", "", "segment"],
        "rule": ["non_negative", "not_null", "skipped", "not_null"],
        "value": ["-1", "", "", ""],
        "message": ["m1", "m2", "m3", "m4"],
    }
    base.update(kw)
    return pd.DataFrame(base)


def test_write_read_round_trip_and_counts(tmp_path):
    p = write_stored_quarantine(tmp_path, _rows(), stage="import")
    assert p == tmp_path / QUARANTINE_FILE
    back = read_stored_quarantine(tmp_path)
    assert tuple(back.columns) == STORED_COLUMNS
    assert (back["stage"] == "import").all() and (back["source_column"] == "").all()
    assert back["line"].dtype == "Int64" and back["row"].dtype == "int64"
    c = quarantine_counts(back)
    # a row breaking two rules counts once; skipped rows are not rejections
    assert c.loc["deals"].to_dict() == {
        "skipped": 1,
        "rejected_at_import": 1,
        "rejected_at_load": 0,
        "rejected": 1,
    }
    assert c.loc["customers", "rejected"] == 1
    lines = quarantine_headlines(back)
    assert "1 deals rows were rejected at import; see quarantine.parquet" in lines
    assert "1 deals rows were skipped by the mapping's filter" in lines
    assert any("导入时 deals 表" in x for x in quarantine_headlines(back, lang="zh"))


def test_absent_empty_and_foreign_files(tmp_path):
    empty = read_stored_quarantine(tmp_path)
    assert not len(empty) and tuple(empty.columns) == STORED_COLUMNS
    assert quarantine_headlines(empty) == [] and not len(quarantine_counts(empty))
    write_stored_quarantine(tmp_path, empty)  # an import that rejected nothing says so
    assert (tmp_path / QUARANTINE_FILE).exists() and not len(read_stored_quarantine(tmp_path))
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / QUARANTINE_FILE)
    with pytest.raises(ValueError, match="not a salesml quarantine"):
        read_stored_quarantine(tmp_path)
    with pytest.raises(ValueError, match="stage"):
        write_stored_quarantine(tmp_path, _rows())
    with pytest.raises(ValueError, match="stage must be"):
        write_stored_quarantine(tmp_path, _rows(), stage="later")


def test_load_merges_the_stored_quarantine_with_its_own(small_data, tmp_path):
    deals = small_data.deals.copy()
    deals.loc[0, "amount"] = -5.0
    folder = save_dataset(small_data.replace(deals=deals), tmp_path / "ds")
    write_stored_quarantine(folder, _rows(), stage="import")
    for validated in (True, False):
        data = load_dataset(folder, progress=False, validate=validated)
        assert len(data.stored_quarantine) == 4
        q = data.quarantine
        c = quarantine_counts(q)
        assert c.loc["deals", "rejected_at_import"] == 1
        assert c.loc["deals", "rejected_at_load"] == (1 if validated else 0)
        assert set(q["stage"]) == ({"import", "load"} if validated else {"import"})
    data = load_dataset(folder, progress=False)
    assert "1 deals rows were rejected at import" in data._repr_html_()
    assert len(dataset_quarantine(data.replace(deals=data.deals))) == len(data.stored_quarantine)
    assert len(data.as_of("2000-01-01").stored_quarantine) == 4
