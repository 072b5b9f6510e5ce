"""Saving: JSON plus the engine's own text, nothing pickled, mismatches refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scoring_toy import LeadModel, lead_snapshots

from salesml.scoring import FeatureMismatchError, ScoringModel
from salesml.scoring.persistence import read_model, write_model


@pytest.mark.parametrize("n_leads", [1500, 120])  # the LightGBM and the logistic engine
def test_round_trip(tmp_path, n_leads) -> None:
    snaps = lead_snapshots(n_leads=n_leads, seed=2)
    m = LeadModel().fit(snaps)
    folder = m.save(tmp_path / "m")
    names = sorted(p.name for p in folder.iterdir())
    assert names == (["booster.txt", "model.json"] if m.engine_ == "lightgbm" else ["model.json"])
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "tests.LeadModel" and meta["format_version"] == 2
    back = LeadModel.load(folder)
    assert np.allclose(back.predict_proba(snaps), m.predict_proba(snaps))
    assert back.explain(snaps.iloc[:20]).equals(m.explain(snaps.iloc[:20]))
    assert back.summary().equals(m.summary())
    assert back.features_ == m.features_ and back.get_params() == m.get_params()
    with pytest.raises(FeatureMismatchError, match="response_hours"):
        back.score(snaps.drop(columns=["response_hours"]))


def test_refusals(tmp_path, lead_model) -> None:
    folder = lead_model.save(tmp_path / "m")

    class Other(ScoringModel):
        kind = "tests.Other"

    with pytest.raises(ValueError, match=r"not a 'tests\.Other'"):
        Other.load(folder)
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    (folder / "model.json").write_text(json.dumps({**meta, "format_version": 1}))
    with pytest.raises(ValueError, match="format version 1"):
        LeadModel.load(folder)
    (folder / "model.json").write_text(json.dumps({**meta, "files": ["../../etc/passwd"]}))
    with pytest.raises(ValueError, match="unsafe model file name"):
        LeadModel.load(folder)
    with pytest.raises(FileNotFoundError, match=r"no model\.json"):
        LeadModel.load(tmp_path / "nothing")
    with pytest.raises(ValueError, match="unsafe"):
        write_model(tmp_path / "x", {}, {"../evil.txt": "x"})
    meta2, files = read_model(lead_model.save(tmp_path / "n"))
    assert set(files) == {"booster.txt"} and "files" not in meta2
