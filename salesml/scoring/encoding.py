"""The design matrix: snapshot columns -> the numeric matrix an engine fits on.

Numeric features pass through (missing stays ``NaN``; each engine decides what a
missing value means); each categorical feature becomes one 0/1 column per level
seen often enough in training (``region=华东``). Every design column belongs to a
*reason group* (``region=华东`` -> ``region``), the unit reason codes are phrased in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesml.scoring.errors import FeatureMismatchError

__all__ = ["FeatureEncoder", "category_levels"]


def category_levels(values: pd.Series, *, min_count: int = 20) -> list[str]:
    """Levels of a categorical column seen at least ``min_count`` times, sorted."""
    counts = values.astype("str").value_counts()
    return sorted(str(v) for v in counts.index[counts >= min_count])


@dataclass
class FeatureEncoder:
    """Turns a frame's feature columns into a model's numeric design matrix.

    Attributes
    ----------
    numeric
        Numeric columns, in design order.
    categories
        Categorical column -> its levels (one design column ``column=level`` each).
    groups
        Design column -> reason group (default: the column, or the categorical column
        a one-hot column came from).
    hint
        What to do when a frame lacks features (named in :class:`FeatureMismatchError`).
    """

    numeric: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    hint: str = ""

    @property
    def columns(self) -> list[str]:
        """Design column names."""
        cols = list(self.numeric)
        for c, levels in self.categories.items():
            cols += [f"{c}={v}" for v in levels]
        return cols

    @property
    def required(self) -> list[str]:
        """Frame columns the encoder reads."""
        return [*self.numeric, *self.categories]

    def group_of(self, column: str) -> str:
        """The reason group of a design column."""
        if column in self.groups:
            return self.groups[column]
        return column.split("=", 1)[0] if "=" in column else column

    def check(self, frame: pd.DataFrame) -> None:
        """Raise :class:`FeatureMismatchError` unless ``frame`` has every feature, well typed."""
        missing = [c for c in self.required if c not in frame.columns]
        if missing:
            raise FeatureMismatchError(
                f"the rows lack {len(missing)} feature(s) this model was trained on: "
                f"{', '.join(missing)}. {self.hint or 'Build them with the same feature builder'}"
                ", or retrain the model."
            )
        bad = [c for c in self.numeric if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise FeatureMismatchError(
                f"feature column(s) {', '.join(bad)} should be numeric but are "
                f"{', '.join(str(frame[c].dtype) for c in bad)}"
            )

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The design matrix (float64, one row per frame row)."""
        self.check(frame)
        parts = [frame[self.numeric].to_numpy(dtype="float64", na_value=np.nan)]
        for c, levels in self.categories.items():
            vals = frame[c].astype("str").to_numpy()
            parts.append(
                np.column_stack([vals == v for v in levels]).astype("float64")
                if levels
                else np.empty((len(frame), 0))
            )
        return np.hstack(parts) if parts else np.empty((len(frame), 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return {
            "numeric": list(self.numeric),
            "categories": {k: list(v) for k, v in self.categories.items()},
            "groups": dict(self.groups),
            "hint": self.hint,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureEncoder:
        """Rebuild from :meth:`to_dict`."""
        return cls(
            list(d["numeric"]),
            {str(k): [str(x) for x in v] for k, v in d["categories"].items()},
            {str(k): str(v) for k, v in d.get("groups", {}).items()},
            str(d.get("hint", "")),
        )

    @classmethod
    def build(
        cls,
        train: pd.DataFrame,
        *,
        numeric: Sequence[str],
        categorical: Sequence[str] = (),
        groups: Mapping[str, str] | None = None,
        min_count: int = 20,
        hint: str = "",
    ) -> FeatureEncoder:
        """An encoder over the given columns of ``train`` (levels from ``train``)."""
        cats: dict[str, list[str]] = {}
        for c in categorical:
            levels = category_levels(train[c], min_count=min_count)
            if levels:
                cats[c] = levels
        enc = cls(list(numeric), cats, hint=hint)
        enc.groups = {c: (groups or {}).get(c, enc.group_of(c)) for c in enc.columns}
        return enc
