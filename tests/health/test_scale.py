"""Deal snapshots at scale: pieces of dates, the deterministic deal sample, the fit
without a cut copy, and the same results on a Dask cluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from snapshots_reference import reference_features

from salesml.health import DealHealthModel, deal_snapshots
from salesml.health.backtest import HEALTH_TASK
from salesml.health.snapshots import (
    _OUTCOMES,
    LOAD_COLUMNS,
    _attach_labels,
    _restricted,
    deal_sample,
    open_deal_count,
)
from salesml.scoring import asof as scoring_asof
from salesml.scoring.metrics import classification_metrics
from salesml.scoring.snapshots import label_end

#: Dates spanning month edges (pieces are calendar months), the first before most deals.
DATES = pd.date_range("2025-12-01", "2026-04-30", freq="2W-MON")


def _reference(data, dates, *, data_end=None):
    """The snapshots as the whole-data loop makes them: one full cut per date."""
    src = _restricted(data)
    end = pd.Timestamp(data_end) if data_end is not None else label_end(src, _OUTCOMES)
    frames = [reference_features(src.as_of(t), t) for t in dates]
    return _attach_labels(
        pd.concat(frames, ignore_index=True), src.deals, horizon_days=90, data_end=end
    )


def test_pieces_equal_the_whole_data_cut_per_date(demo):
    data, _ = demo
    got = deal_snapshots(data, as_of=DATES, fingerprint=False)
    want = _reference(data, DATES)
    assert len(got) > 1_500 and got["as_of"].dt.month.nunique() == 5
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_build_features_cuts_only_the_open_deals(demo):
    data, _ = demo
    from salesml.health import build_features

    t = pd.Timestamp("2026-05-20 12:00")
    want = reference_features(_restricted(data).as_of(t), t)
    pd.testing.assert_frame_equal(build_features(data, as_of=t), want, check_exact=True)
    some = want["deal_id"].iloc[::7].tolist()
    got = build_features(data, as_of=t, deal_ids=some)
    assert got["deal_id"].tolist() == sorted(some)


def test_whole_data_with_data_end_equals_the_cut_copy(demo):
    data, _ = demo
    t = pd.Timestamp("2026-04-15")
    dates = DATES[t > DATES]
    whole = deal_snapshots(data, as_of=dates, data_end=t, fingerprint=False)
    cut = deal_snapshots(data.as_of(t), as_of=dates, data_end=t, fingerprint=False)
    pd.testing.assert_frame_equal(whole, cut, check_exact=True)
    # later outcomes are not known at t
    assert not (whole["closed_at"] > t).any()
    with pytest.raises(ValueError, match="after data_end"):
        deal_snapshots(data, as_of=[t + pd.Timedelta(days=7)], data_end=t)


def test_fit_as_of_without_the_copy_is_the_same_fit(demo):
    data, _ = demo
    t = pd.Timestamp("2026-06-01")
    kw = {
        "as_of": t,
        "first": pd.Timestamp(data.deals["created_at"].min()),
        "history_days": 150,
        "snapshot_freq": "3W-MON",
        "fingerprint": "x",
    }

    def build(past, **k):
        return deal_snapshots(past, horizon_days=90, **k)

    a = scoring_asof.fit_as_of(data, model=DealHealthModel(), snapshots=build, cut=True, **kw)
    b = scoring_asof.fit_as_of(data, model=DealHealthModel(), snapshots=build, cut=False, **kw)
    pd.testing.assert_frame_equal(a.snapshots, b.snapshots, check_exact=True)
    np.testing.assert_array_equal(
        a.model.predict_proba(a.training), b.model.predict_proba(a.training)
    )


def test_deal_sample_is_deterministic_and_keeps_whole_deals(demo):
    data, _ = demo
    full = deal_snapshots(data, as_of=DATES, fingerprint=False)
    part = deal_snapshots(data, as_of=DATES, fingerprint=False, sample=0.3)
    again = deal_snapshots(data, as_of=DATES[::3], fingerprint=False, sample=0.3)
    kept = full["deal_id"].loc[deal_sample(full["deal_id"], 0.3)]
    share = kept.nunique() / full["deal_id"].nunique()
    assert 0.22 < share < 0.38
    # every snapshot of a chosen deal, with the features of the full build (rep and
    # customer figures still count every deal)
    want = full.loc[full["deal_id"].isin(kept)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, want, check_exact=True)
    # the same deals whatever the dates
    assert set(again["deal_id"]) <= set(part["deal_id"])
    with pytest.raises(ValueError, match="share"):
        deal_snapshots(data, as_of=DATES, sample=0.0)


def test_open_deal_count_estimates_the_rows(demo):
    data, _ = demo
    n = open_deal_count(data, DATES)
    rows = len(deal_snapshots(data, as_of=DATES, fingerprint=False))
    assert abs(n - rows) <= 0.02 * rows


def test_fit_as_of_bounds_training_rows_and_says_so(demo):
    data, _ = demo
    from salesml.scoring.task import task_fit_as_of

    fit = task_fit_as_of(
        data,
        HEALTH_TASK,
        as_of="2026-07-01",
        history_days=300,
        snapshot_freq="2W-MON",
        max_rows=2_000,
        fingerprint="x",
    )
    full = open_deal_count(data, fit.snapshots["as_of"].unique())
    assert full > 4_000
    assert len(fit.snapshots) == pytest.approx(2_000, rel=0.15)
    notes = " ".join(fit.model.summary()["value"])
    assert "hash of the id" in notes


@pytest.fixture(scope="module")
def parts_folder(demo, tmp_path_factory):
    """The demo data written month-partitioned."""
    from salesml.data.io import save_dataset

    data, _ = demo
    folder = tmp_path_factory.mktemp("health_parts")
    save_dataset(data, folder, partition="month")
    return folder


@pytest.fixture(scope="module")
def month_parts(parts_folder):
    """The demo data loaded back compact, with only the columns the feature builder
    reads (the way a big dataset is loaded)."""
    from salesml.data.io import load_dataset

    folder = parts_folder
    return load_dataset(
        folder,
        tables=[
            "deals",
            "stage_history",
            "activities",
            "quotes",
            "collab_events",
            "customers",
            "reps",
        ],
        columns=LOAD_COLUMNS,
        compact=True,
        validate=False,
        progress=False,
    )


def test_compact_projected_load_gives_the_same_features(demo, month_parts):
    data, _ = demo
    dates = DATES[::4]
    a = deal_snapshots(month_parts, as_of=dates, fingerprint=False)
    b = deal_snapshots(data, as_of=dates, fingerprint=False)
    # means over merged rows may add in another order with category ids: last-digit noise
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, check_dtype=False)


def test_snapshots_on_a_cluster_equal_in_process(dask_client, month_parts):
    here = deal_snapshots(month_parts, as_of=DATES, fingerprint=False)
    there = deal_snapshots(month_parts, as_of=DATES, fingerprint=False, client=dask_client)
    pd.testing.assert_frame_equal(there, here, check_exact=True)


def test_training_rows_are_spread_over_both_workers(dask_client):
    from salesml.scoring.engines.lightgbm import _spread

    X = np.arange(200, dtype="float64").reshape(100, 2)
    y = (np.arange(100) % 2).astype("float64")
    dX, dy = _spread(dask_client, X, y)
    assert dX.npartitions == 2 and dy.npartitions == 2
    where = dask_client.who_has(dX)
    held = {w for ws in where.values() for w in ws}
    assert held == set(dask_client.scheduler_info()["workers"])
    np.testing.assert_array_equal(dask_client.compute(dX).result(), X)
    np.testing.assert_array_equal(dask_client.compute(dy).result(), y)


def test_lightgbm_dask_close_to_local(dask_client, split):
    train, test = split
    local = DealHealthModel().fit(train)
    remote = DealHealthModel().fit(train, client=dask_client)
    assert remote.engine_ == "lightgbm"
    y = test["label"].to_numpy()
    p_local = local.predict_proba(test).to_numpy()
    p_remote = remote.predict_proba(test).to_numpy()
    auc_local = classification_metrics(y, p_local)["auc"]
    auc_remote = classification_metrics(y, p_remote)["auc"]
    # measured on demo, seed 0: AUC 0.7993 here, 0.7950 on the cluster; r = 0.977
    assert abs(auc_remote - auc_local) <= 0.02, (auc_local, auc_remote)
    assert np.corrcoef(p_local, p_remote)[0, 1] >= 0.95
    # a cluster-trained model scores, explains and saves like a local one
    assert len(remote.explain(test.head(5), top=3))


def test_compact_load_equals_the_reference_exactly(month_parts):
    """Category-coded ids and kinds (the way a big dataset is loaded): the integer
    positions give the very values of the pandas build on the same load."""
    got = deal_snapshots(month_parts, as_of=DATES, fingerprint=False)
    want = _reference(month_parts, DATES)
    assert len(got) > 1_500
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_ragged_rows_equal_the_reference(demo):
    """Missing versions, amounts, entries and replies, stage history of a deal the
    deals table lacks, duplicate deal rows: the same values as the pandas build."""
    data, _ = demo
    q = data.quotes.copy()
    q.loc[q.index[::5], "version"] = pd.NA
    q.loc[q.index[1::7], "amount"] = np.nan
    q.loc[q.index[2::9], "amount"] = 0.0
    sh = data.stage_history.copy()
    sh.loc[sh.index[::11], "entered_at"] = pd.NaT
    ghost = sh.iloc[:6].assign(deal_id="X_unknown")
    sh = pd.concat([sh, ghost], ignore_index=True)
    act = data.activities.copy()
    act.loc[act.index[::13], "quality"] = np.nan
    act.loc[act.index[3::17], "kind"] = None
    deals = pd.concat([data.deals, data.deals.iloc[::50]], ignore_index=True)
    ragged = data.replace(quotes=q, stage_history=sh, activities=act, deals=deals)
    got = deal_snapshots(ragged, as_of=DATES, fingerprint=False)
    want = _reference(ragged, DATES)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_load_health_data_drops_the_key_only_ids(parts_folder, month_parts):
    from salesml.health import load_health_data

    data = load_health_data(parts_folder, validate=False)
    assert "activity_id" not in data.activities and "quote_id" not in data.quotes
    assert "activity_id" in month_parts.activities
    dates = DATES[::3]
    pd.testing.assert_frame_equal(
        deal_snapshots(data, as_of=dates, fingerprint=False),
        deal_snapshots(month_parts, as_of=dates, fingerprint=False),
        check_exact=True,
    )
