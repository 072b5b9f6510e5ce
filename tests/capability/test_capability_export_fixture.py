"""A hand-made export (tests/capability/fixtures/crm_export): US dollars, English regions,
empty cells, a capitalised role, a response to an unknown request, a rep hired last month.
Too small to tell skill from chance: the scores say so instead of ranking on noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesml.capability import capability_scores
from salesml.data.io import load_dataset

FIXTURE = Path(__file__).parent / "fixtures" / "crm_export"


@pytest.fixture(scope="module")
def export():
    return load_dataset(FIXTURE, progress=False)


def test_loaded_export_gets_average_scores_and_says_why(export) -> None:
    r = capability_scores(export)
    tab = r.table
    assert sorted(tab["rep_id"].unique()) == ["U1", "U2", "U3", "U4", "U5"]
    assert len(tab) == 15
    assert np.allclose(tab["score"], 0.0) and (tab["upper"] - tab["lower"] > 3).all()
    assert tab["low_evidence"].all()
    keys = {n.key for n in r.notes}
    assert "capability.note.too_few_reps" in keys
    zh = " ".join(r.key_findings("zh"))
    assert "技术沟通" in zh and "少于区分能力与偶然所需的 4 名" in zh
    # every loaded response with a known request is counted, none twice
    ce = export.collab_events
    resp = ce[(ce["kind"] == "response") & ce["request_id"].isin(ce["event_id"])]
    assert tab["n_timeliness"].sum() == len(resp)


def test_export_read_as_is_normalises_roles_and_names_the_unknown_request() -> None:
    # the same files read without validation (a notebook user's pd.read_csv)
    export = load_dataset(FIXTURE, progress=False, validate=False)
    r = capability_scores(export)
    d = r.dropped.set_index("reason")["rows"]
    assert d["response_without_request"] == 1  # E27 points at E99
    n_comm = r.table.loc[r.table["scenario"] == "commercial", "n_timeliness"].sum()
    raw = pd.read_csv(FIXTURE / "collab_events.csv")
    expected = ((raw["kind"] == "response") & (raw["role"].str.lower() == "commercial")).sum()
    assert n_comm == expected  # 'Commercial' counts as commercial
    assert any("E99" not in s and "request" in s for s in r.key_findings("en"))
