"""``war_room_weekly`` loads only its tables and columns (issue 16): the same tables as
a load of every table and column, on the demo dataset saved month-partitioned."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesml.data.io import load_dataset, save_dataset
from salesml.reports import get_report, validate_params
from salesml.reports.notebook import Report


def _report(folder: Path, *, projected: bool) -> Report:
    spec = get_report("war_room_weekly")
    data = load_dataset(
        folder,
        tables=spec.loads if projected else None,
        columns={t: list(c) for t, c in spec.columns.items()} if projected else None,
        compact=True,
        progress=False,
    )
    # a low bar for "at risk", so the deal-health reasons of several deals are compared
    values = {"dataset": str(folder), "period": "2026-Q3", "overdue_h": 1, "max_revisions": 1}
    params = validate_params(spec.params, values, report=spec.name)
    return Report(spec=spec, params=params, data=data)


@pytest.mark.slow
def test_projected_load_gives_the_full_loads_tables(demo_data, tmp_path: Path) -> None:
    folder = save_dataset(demo_data[0], tmp_path / "m", partition="month")
    full, proj = _report(folder, projected=False), _report(folder, projected=True)
    assert "costs" in full.data and "costs" not in proj.data
    assert "channel" in full.data.activities and "channel" not in proj.data.activities
    n_reasons = 0
    for s in full.spec.sections:
        want, got = full.result(s.name), proj.result(s.name)
        assert (want is None) == (got is None), s.name
        if s.findings is not None:
            assert s.findings(proj) == s.findings(full)
        for tbl in s.tables:
            a, b = tbl.frame(got, proj), tbl.frame(want, full)
            pd.testing.assert_frame_equal(a, b, obj=s.name)
            if s.name == "at_risk":
                n_reasons = int((b["health_reasons"] != "").sum())
    assert n_reasons > 0  # the deal-health reasons were computed, not left empty
