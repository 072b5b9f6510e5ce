"""The cluster resolution and the ordered map of salesml.distributed."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
import pytest

from salesml.distributed import ENV_VAR, cluster_label, map_pieces, resolve_client


def _scaled_sum(piece: int, frame: pd.DataFrame, *, factor: int) -> float:
    return float(frame["x"].iloc[piece::3].sum() * factor)


def test_no_cluster_named_runs_here(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_client() is None
    assert cluster_label(None) == "in-process"
    assert map_pieces(operator.neg, [1, 2, 3]) == [-1, -2, -3]


@pytest.mark.parametrize("bad", ["localhost:8786", "http://x:1", "tcp://a b", "tcp://x;rm -rf /"])
def test_bad_scheduler_address_is_refused(bad, monkeypatch):
    with pytest.raises(ValueError, match="tcp://host:port"):
        resolve_client(scheduler=bad)
    monkeypatch.setenv(ENV_VAR, bad)
    with pytest.raises(ValueError, match="tcp://host:port"):
        resolve_client()


def test_cluster_map_equals_local_map_in_order(dask_client, monkeypatch):
    frame = pd.DataFrame({"x": np.arange(1000, dtype="float64")})
    here = map_pieces(_scaled_sum, [2, 0, 1], frame, factor=3)
    there = map_pieces(_scaled_sum, [2, 0, 1], frame, factor=3, client=dask_client)
    assert there == here
    assert "2 workers" in cluster_label(dask_client)
    monkeypatch.setenv(ENV_VAR, dask_client.scheduler.address)
    named = resolve_client()
    assert resolve_client() is named  # one connection per address
    try:
        assert map_pieces(_scaled_sum, [1], frame, factor=1, client=named) == [
            _scaled_sum(1, frame, factor=1)
        ]
    finally:
        named.close()


def test_piece_errors_come_back_with_their_type(dask_client):
    with pytest.raises(ZeroDivisionError):
        map_pieces(operator.truediv, [1, 0], 0, client=dask_client)
