"""Lead and account snapshots at scale: pieces of dates, the whole data with ``data_end``
instead of a cut copy, the deterministic sample, the bounded fit, and the same results
on a Dask cluster (snapshots and the LightGBM fit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.potential import PotentialModel, account_snapshots, lead_snapshots
from salesml.potential.accounts import _account_features_at, _account_tables
from salesml.potential.backtest import task
from salesml.potential.snapshots import (
    _OUTCOMES,
    ACCOUNT_CATEGORICAL,
    ACCOUNT_ID_COLUMNS,
    ACCOUNT_NUMERIC,
    LOAD_COLUMNS,
    _lead_features_at,
    _lead_labels,
    _won_deals,
    open_account_count,
    open_lead_count,
    potential_sample,
)
from salesml.scoring import asof as scoring_asof
from salesml.scoring.metrics import classification_metrics
from salesml.scoring.snapshots import label_end
from salesml.scoring.task import task_fit_as_of

#: Dates spanning month edges (pieces are calendar months), some before most leads.
DATES = pd.date_range("2025-09-01", "2026-04-30", freq="2W-MON")
ACCOUNT_FEATURES = [*ACCOUNT_ID_COLUMNS, *ACCOUNT_NUMERIC, *ACCOUNT_CATEGORICAL]


def _lead_reference(data, dates):
    """The lead snapshots as the whole-data loop made them: every table, every date."""
    act = data.activities[["customer_id", "occurred_at"]]
    frames = [_lead_features_at(data.leads, act, t) for t in dates]
    snaps = pd.concat(frames, ignore_index=True)
    return _lead_labels(snaps, data.leads, _won_deals(data), 90, label_end(data, _OUTCOMES))


def _account_reference(data, dates):
    """The account features as the whole-data loop made them: one full cut per date."""
    src = _account_tables(data)
    return pd.concat([_account_features_at(src.as_of(t), t) for t in dates], ignore_index=True)


def test_lead_pieces_equal_the_whole_data_per_date(quality_demo):
    data, _ = quality_demo
    got = lead_snapshots(data, as_of=DATES, fingerprint=False)
    want = _lead_reference(data, DATES)
    assert len(got) > 2_000 and got["as_of"].dt.month.nunique() == 8
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_account_pieces_equal_the_whole_data_cut_per_date(quality_demo):
    data, _ = quality_demo
    got = account_snapshots(data, as_of=DATES, fingerprint=False)
    want = _account_reference(data, DATES)
    assert len(got) > 10_000 and got["as_of"].dt.month.nunique() == 8
    # the pieces read the older activities as each customer's latest one only
    assert got["days_since_activity"].max() > 120
    pd.testing.assert_frame_equal(got[ACCOUNT_FEATURES], want, check_exact=True)
    assert got["label"].isin([0.0, 1.0]).mean() > 0.9


@pytest.mark.parametrize("build", [lead_snapshots, account_snapshots])
def test_whole_data_with_data_end_equals_the_cut_copy(quality_demo, build):
    data, _ = quality_demo
    t = pd.Timestamp("2026-03-01")
    dates = DATES[t > DATES]
    whole = build(data, as_of=dates, data_end=t, fingerprint=False)
    cut = build(data.as_of(t), as_of=dates, data_end=t, fingerprint=False)
    pd.testing.assert_frame_equal(whole, cut, check_exact=True)
    assert not (whole["label_known_at"] > t).any()
    with pytest.raises(ValueError, match="after data_end"):
        build(data, as_of=[t + pd.Timedelta(days=7)], data_end=t)


@pytest.mark.parametrize(
    ("build", "key"), [(lead_snapshots, "lead_id"), (account_snapshots, "customer_id")]
)
def test_sample_is_deterministic_and_keeps_whole_ids(quality_demo, build, key):
    data, _ = quality_demo
    full = build(data, as_of=DATES, fingerprint=False)
    part = build(data, as_of=DATES, fingerprint=False, sample=0.3)
    again = build(data, as_of=DATES[::3], fingerprint=False, sample=0.3)
    kept = full[key].loc[potential_sample(full[key], 0.3)]
    assert 0.22 < kept.nunique() / full[key].nunique() < 0.38
    # every snapshot of a chosen id, with the features of the full build
    want = full.loc[full[key].isin(kept)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, want, check_exact=True)
    assert set(again[key]) <= set(part[key])
    with pytest.raises(ValueError, match="share"):
        build(data, as_of=DATES, sample=0.0)


def test_counts_estimate_the_rows(quality_demo):
    data, _ = quality_demo
    leads = len(lead_snapshots(data, as_of=DATES, fingerprint=False))
    assert abs(open_lead_count(data, DATES) - leads) <= 0.02 * leads
    accounts = len(account_snapshots(data, as_of=DATES, fingerprint=False))
    assert abs(open_account_count(data, DATES) - accounts) <= 0.1 * accounts


@pytest.mark.parametrize("kind", ["lead", "account"])
def test_fit_as_of_without_the_copy_is_the_same_fit(quality_demo, kind):
    data, _ = quality_demo
    tk = task(kind)
    t = pd.Timestamp("2026-06-01")
    kw = {
        "as_of": t,
        "first": tk.first(data),
        "history_days": 180,
        "snapshot_freq": "3W-MON",
        "fingerprint": "x",
    }

    def build(past, **k):
        return tk.build(past, horizon_days=90, **k)

    a = scoring_asof.fit_as_of(data, model=tk.model(), snapshots=build, cut=True, **kw)
    b = scoring_asof.fit_as_of(data, model=tk.model(), snapshots=build, cut=False, **kw)
    pd.testing.assert_frame_equal(a.snapshots, b.snapshots, check_exact=True)
    np.testing.assert_array_equal(
        a.model.predict_proba(a.training), b.model.predict_proba(a.training)
    )
    # training is selected from the snapshots on demand (no second frame held): the
    # labelled rows, the fingerprint in its attrs, and the rows the model was fit on
    known = a.snapshots.loc[a.snapshots["label_known_at"] <= t]
    pd.testing.assert_frame_equal(a.training, known, check_exact=True)
    assert a.training.attrs["data_fingerprint"] == "x"
    assert 0 < a.model.n_rows_ == len(known) < len(a.snapshots)
    refit = tk.model().fit(a.training)
    np.testing.assert_array_equal(refit.predict_proba(known), a.model.predict_proba(known))


def test_fit_as_of_bounds_training_rows_and_says_so(quality_demo):
    data, _ = quality_demo
    fit = task_fit_as_of(
        data,
        task("account"),
        as_of="2026-07-01",
        history_days=300,
        snapshot_freq="2W-MON",
        max_rows=5_000,
        fingerprint="x",
    )
    assert open_account_count(data, fit.snapshots["as_of"].unique()) > 15_000
    assert len(fit.snapshots) == pytest.approx(5_000, rel=0.25)
    assert "hash of the id" in " ".join(fit.model.summary()["value"])


@pytest.fixture(scope="module")
def month_parts(quality_demo, tmp_path_factory):
    """The demo data written month-partitioned and loaded back compact, with only the
    columns potential reads of the big tables (the way a big dataset is loaded)."""
    from salesml.data.io import load_dataset, save_dataset

    data, _ = quality_demo
    folder = tmp_path_factory.mktemp("potential_parts")
    save_dataset(data, folder, partition="month")
    return load_dataset(
        folder,
        tables=["leads", "deals", "customers", "activities"],
        columns={k: v for k, v in LOAD_COLUMNS.items() if k in ("deals", "activities")},
        compact=True,
        validate=False,
        progress=False,
    )


@pytest.mark.parametrize("build", [lead_snapshots, account_snapshots])
def test_compact_projected_load_gives_the_same_snapshots(quality_demo, month_parts, build):
    data, _ = quality_demo
    a = build(month_parts, as_of=DATES[::3], fingerprint=False)
    b = build(data, as_of=DATES[::3], fingerprint=False)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, check_dtype=False)


@pytest.mark.parametrize("build", [lead_snapshots, account_snapshots])
def test_snapshots_on_a_cluster_equal_in_process(dask_client, month_parts, build):
    here = build(month_parts, as_of=DATES, fingerprint=False)
    there = build(month_parts, as_of=DATES, fingerprint=False, client=dask_client)
    pd.testing.assert_frame_equal(there, here, check_exact=True)
    sampled = build(month_parts, as_of=DATES, fingerprint=False, sample=0.5)
    there = build(month_parts, as_of=DATES, fingerprint=False, sample=0.5, client=dask_client)
    pd.testing.assert_frame_equal(there, sampled, check_exact=True)


def test_lightgbm_dask_close_to_local(dask_client, lead_snaps):
    labelled = lead_snaps.loc[lead_snaps["label"].notna()]
    cut = pd.Timestamp("2026-03-01")
    train = labelled.loc[labelled["label_known_at"] <= cut]
    test = labelled.loc[labelled["as_of"] >= cut]
    local = PotentialModel().fit(train)
    remote = PotentialModel().fit(train, client=dask_client)
    assert local.engine_ == remote.engine_ == "lightgbm"
    y = test["label"].to_numpy()
    p_local = local.predict_proba(test).to_numpy()
    p_remote = remote.predict_proba(test).to_numpy()
    auc_local = classification_metrics(y, p_local)["auc"]
    auc_remote = classification_metrics(y, p_remote)["auc"]
    assert abs(auc_remote - auc_local) <= 0.02, (auc_local, auc_remote)
    assert np.corrcoef(p_local, p_remote)[0, 1] >= 0.95
    # a cluster-trained model scores, explains and keeps the revenue per win
    assert len(remote.explain(test.head(5), top=3))
    assert remote.revenue_.overall_ == pytest.approx(local.revenue_.overall_)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A tiny world (seed 7) in memory and written month-partitioned."""
    from salesml.data.io import save_dataset
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=7)
    folder = tmp_path_factory.mktemp("potential_tiny")
    save_dataset(data, folder, partition="month")
    return data, folder


def test_weekly_review_of_the_projected_compact_load_is_the_full_one(tiny_folder):
    from salesml.potential.weekly import load_potential_data, weekly_potential

    data, folder = tiny_folder
    small = load_potential_data(folder, validate=False)
    assert list(small.activities.columns) == list(LOAD_COLUMNS["activities"])
    assert isinstance(small.activities["customer_id"].dtype, pd.CategoricalDtype)
    a = weekly_potential(data, lang="en", fingerprint="x")
    b = weekly_potential(small, lang="en", fingerprint="x")
    assert a.as_of == b.as_of
    key = ["kind", "id"]
    ca, cb = a.candidates.set_index(key), b.candidates.set_index(key)
    assert ca.index.equals(cb.index) and len(ca) > 50
    np.testing.assert_allclose(cb["win_prob"], ca["win_prob"], rtol=1e-9)
    assert (cb["reasons"] == ca["reasons"]).all()
    pd.testing.assert_frame_equal(
        b.cash.table, a.cash.table, check_exact=False, rtol=1e-9, check_dtype=False
    )


def test_lead_to_cash_reads_only_its_tables(tiny_folder):
    from salesml.potential import lead_to_cash
    from salesml.potential.weekly import _cash_tables

    data, _ = tiny_folder
    t = pd.Timestamp(data.time_range[1]) - pd.Timedelta(days=30)
    a = lead_to_cash(data, as_of=t, by="channel")
    b = lead_to_cash(_cash_tables(data), as_of=t, by="channel")
    pd.testing.assert_frame_equal(b.table, a.table, check_exact=True)
