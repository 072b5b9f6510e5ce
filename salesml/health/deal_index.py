"""Which deals a snapshot reads, and where: the deterministic deal sample and the
deals' ids with every table's ``deal_id`` looked up in them once per call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DealIndex", "deal_sample"]


def deal_sample(deal_ids: pd.Series | pd.Index, share: float) -> np.ndarray:
    """Whether each deal is in the deterministic ``share`` sample of deals.

    A deal is in when a keyed hash of its id (``pandas.util.hash_array``, fixed key)
    falls in the lowest ``share`` of the hash range: the same deals are chosen on every
    machine and in every run, whatever the dates or the other deals, and every
    snapshot of a chosen deal is kept (no deal is half in).
    """
    values = np.asarray(deal_ids.astype("str") if hasattr(deal_ids, "astype") else deal_ids)
    if share >= 1.0:
        return np.ones(len(values), dtype=bool)
    h = pd.util.hash_array(values.astype(object), hash_key="salesml.health00", categorize=True)
    return h < np.uint64(int(max(share, 0.0) * float(2**64 - 1)))


@dataclass
class DealIndex:
    """The deals' ids, sorted, and each table's ``deal_id`` looked up in them: once per
    :func:`~salesml.health.snapshots.deal_snapshots` call, shared by its pieces.

    ``at[table]``: the position of each category (a category-coded column; one more
    entry, -1, for the missing code) or of each row (other columns); -1: not a deal.
    """

    ids: pd.Index
    at: dict[str, np.ndarray]
    by_code: dict[str, bool]

    @classmethod
    def of(cls, tables: dict[str, pd.DataFrame]) -> DealIndex:
        """The index of ``tables`` (``deals`` required)."""
        deals = tables["deals"]
        # sorted ids: positions sort as the ids do, so a date's rows come out in id order
        ids = pd.Index(deals["deal_id"].dropna().astype("str").unique()).sort_values()
        at: dict[str, np.ndarray] = {}
        by_code: dict[str, bool] = {}
        for name in ("deals", "stage_history", "activities", "quotes", "collab_events"):
            df = tables.get(name)
            if df is None or "deal_id" not in df:
                continue
            col = df["deal_id"]
            by_code[name] = isinstance(col.dtype, pd.CategoricalDtype)
            if by_code[name]:
                at[name] = np.append(ids.get_indexer(col.cat.categories), -1)
            else:
                at[name] = ids.get_indexer(col)
        return cls(ids, at, by_code)

    def positions(self, name: str, col: pd.Series) -> np.ndarray:
        """The deal position of every row of table ``name`` (``col``: its ``deal_id``)."""
        if self.by_code[name]:
            return self.at[name][col.cat.codes.to_numpy()]
        return self.at[name].copy()

    def rows_of(
        self, name: str, col: pd.Series, wanted: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows of table ``name`` whose deal is ``wanted`` (a flag per position) and
        their positions, without a position per row of the whole table."""
        at = self.at[name]
        if self.by_code[name]:
            keep = np.append((at[:-1] >= 0) & wanted[np.maximum(at[:-1], 0)], False)
            codes = col.cat.codes.to_numpy()
            rows = np.flatnonzero(keep[codes])
            return rows, at[codes[rows]]
        rows = np.flatnonzero((at >= 0) & wanted[np.maximum(at, 0)])
        return rows, at[rows]
