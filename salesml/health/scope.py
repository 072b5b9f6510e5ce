"""Which deals a filter keeps: snapshot columns, or dimensions joined from other tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import DIMENSIONS, FilterLike, FilterSpec, region_column

__all__ = ["deal_mask", "region_source"]


def region_source(data: SalesData) -> str | None:
    """The dataset's ``region_source`` (``customer`` or ``rep``; ``None`` when unset)."""
    src = getattr(data.config, "region_source", None)
    if src is None:
        src = (data.config.extra or {}).get("region_source")
    return None if src is None else str(src)


def deal_mask(frame: pd.DataFrame, filters: FilterLike, data: SalesData) -> np.ndarray:
    """Rows of a deal frame (snapshots, scores) that ``filters`` keeps.

    Columns of the frame are used as they are; other dimensions of
    :data:`salesml.filters.DIMENSIONS` (``team``, ``rep_region``, ...) are joined in
    from their table. ``region`` means the customer's region, or the owner's sales
    region when the dataset declares ``region_source: rep``.

    Raises
    ------
    ValueError
        Naming the column when a filter names one that is neither a column nor a
        dimension the dataset has.
    """
    spec = FilterSpec.parse(filters)
    if not spec:
        return np.ones(len(frame), dtype=bool)
    if region_column(region_source(data)) == "rep_region":
        spec = spec.renamed({"region": "rep_region"})
    extra = {}
    for col in spec.names:
        if col in frame.columns or col not in DIMENSIONS:
            continue
        table, source, key = DIMENSIONS[col]
        if data.has(table) and key in frame.columns and source in data[table].columns:
            own = data[table].drop_duplicates(key).set_index(key)[source]
            extra[col] = frame[key].map(own).to_numpy()
    view = frame.assign(**extra) if extra else frame
    return spec.mask(view, table="open deals")
