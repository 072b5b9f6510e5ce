"""Compact loads for reports and apps: category columns in the order their values sort.

``load_dataset(compact=True)`` holds foreign-key ids and category columns as pandas
``category`` with the categories in the order they were met in the files. Sorting a
frame, or grouping it, by such a column then follows that order, not the values'
(``华南`` before ``华东``, ``R480`` before ``R001``): a report's tables would come out
in another order than from a plain load. :func:`lexical_categories` puts every
unordered category column's categories in sorted order (a recoding of the integer
codes; the values do not change), so a compact load gives the same tables, in the
same order, as a plain one.
"""

from __future__ import annotations

import pandas as pd

from salesml.data.bundle import SalesData

__all__ = ["lexical_categories"]


def lexical_categories(data: SalesData) -> SalesData:
    """Sort the categories of every unordered ``category`` column of ``data``, in place.

    Parameters
    ----------
    data
        A loaded dataset (``load_dataset(..., compact=True)``).

    Returns
    -------
    SalesData
        ``data`` itself.
    """
    for df in data.tables.values():
        for col in df.columns:
            s = df[col]
            if not isinstance(s.dtype, pd.CategoricalDtype) or s.cat.ordered:
                continue
            cats = s.cat.categories
            if not cats.is_monotonic_increasing:
                df[col] = s.cat.reorder_categories(cats.sort_values())
    return data
