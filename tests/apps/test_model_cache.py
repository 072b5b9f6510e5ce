"""The deal-health model cache of the apps (issue 10, item 18): same model, no refit."""

from __future__ import annotations

import os

import numpy as np
import pytest

from salesml.apps import cache
from salesml.apps.cache import cached_deal_health, models_dir


@pytest.fixture(scope="module")
def tiny():
    from salesml.simulator import simulate

    return simulate(preset="tiny", seed=7)[0]


def test_cached_model_scores_like_a_fresh_fit(tiny, tmp_path, monkeypatch) -> None:
    from salesml.health import build_features, fit_as_of, review_as_of

    monkeypatch.setenv("SALESML_CACHE", str(tmp_path))
    as_of = review_as_of(tiny)
    first, hit = cached_deal_health(tiny, as_of=as_of)
    assert not hit
    assert len(list((tmp_path / "models").iterdir())) == 1
    calls = []
    monkeypatch.setattr("salesml.health.fit_as_of", lambda *a, **k: calls.append(1))
    again, hit = cached_deal_health(tiny, as_of=as_of)
    assert hit and calls == []  # loaded, not refitted
    feats = build_features(tiny, as_of=as_of)
    fresh = fit_as_of(tiny, as_of=as_of).model.score(feats)["health_score"].to_numpy()
    np.testing.assert_allclose(again.score(feats)["health_score"].to_numpy(), fresh, atol=1e-9)
    np.testing.assert_allclose(first.score(feats)["health_score"].to_numpy(), fresh, atol=1e-9)


def test_another_instant_or_dataset_is_another_entry(tiny, tmp_path, monkeypatch) -> None:
    import pandas as pd

    t = pd.Timestamp("2026-01-01")
    assert cache._key(tiny, t) != cache._key(tiny, t + pd.Timedelta(days=7))
    from salesml.data.bundle import SalesData

    tables = dict(tiny.tables)
    tables["deals"] = tables["deals"].iloc[1:].copy()
    other = SalesData(tables=tables, config=tiny.config)
    assert cache._key(other, t) != cache._key(tiny, t)


def test_unsafe_or_broken_cache_is_not_trusted(tiny, tmp_path, monkeypatch) -> None:
    from salesml.health import review_as_of

    monkeypatch.setenv("SALESML_CACHE", str(tmp_path))
    folder = models_dir()
    assert folder is not None and (folder.stat().st_mode & 0o777) == 0o700
    os.chmod(folder, 0o777)  # anyone could plant a model here
    assert models_dir() is None
    os.chmod(folder, 0o700)
    as_of = review_as_of(tiny)
    entry = folder / cache._key(tiny, as_of)
    entry.mkdir()
    (entry / "model.json").write_text("{not json")
    model, hit = cached_deal_health(tiny, as_of=as_of)  # refitted and replaced
    assert not hit and model is not None
    assert cached_deal_health(tiny, as_of=as_of)[1]


def test_deal_whatif_opens_on_the_cached_model_and_drivers(tiny, tmp_path, monkeypatch) -> None:
    from salesml.apps.deal_whatif.state import DealWhatifState
    from salesml.data.io import save_dataset

    monkeypatch.setenv("SALESML_CACHE", str(tmp_path / "cache"))
    save_dataset(tiny, tmp_path / "data")
    first = DealWhatifState.from_dataset(tmp_path / "data")
    [entry] = (tmp_path / "cache" / "models").iterdir()
    assert (entry / "model.json").exists() and (entry / "deal_whatif_drivers.json").exists()
    monkeypatch.setattr(
        DealWhatifState, "_find_drivers", lambda *a, **k: pytest.fail("drivers searched again")
    )
    second = DealWhatifState.from_dataset(tmp_path / "data")
    assert second.drivers == first.drivers and second.as_of == first.as_of
    assert second.deals == first.deals
    np.testing.assert_allclose(
        second.scores["health_score"].to_numpy(), first.scores["health_score"].to_numpy()
    )
