"""The LightGBM engine: gradient-boosted trees, exact TreeSHAP contributions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

__all__ = ["LightGBMEngine"]

#: File name of the booster in a saved model folder.
BOOSTER_FILE = "booster.txt"


class LightGBMEngine:
    """Gradient-boosted trees (LightGBM), for enough history.

    Reason codes come from LightGBM's ``pred_contrib`` (exact path-dependent
    TreeSHAP, identical to ``shap.TreeExplainer``).

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples
        LightGBM settings. Depth is capped (5 by default) because exact TreeSHAP
        costs time in proportion to leaves x depth squared per tree.
    monotone
        Design column -> ``-1`` (never raises the win probability as it grows) or
        ``+1``; other columns are free.
    n_jobs
        Threads (1 by default: OpenMP threads spin badly on a busy machine).
    random_state
        Seed.
    """

    name: ClassVar[str] = "lightgbm"

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        max_depth: int = 5,
        min_child_samples: int = 40,
        monotone: Mapping[str, int] | None = None,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.monotone = dict(monotone or {})
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _params(self, columns: Sequence[str]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_child_samples": self.min_child_samples,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "reg_lambda": 1.0,
            "n_jobs": self.n_jobs,
            "deterministic": True,
            "random_state": self.random_state,
            "verbose": -1,
        }
        if self.monotone:
            params["monotone_constraints"] = [int(self.monotone.get(c, 0)) for c in columns]
            params["monotone_constraints_method"] = "advanced"
        return params

    def fit(self, X: np.ndarray, y: np.ndarray, *, columns: Sequence[str]) -> LightGBMEngine:
        """Fit the trees."""
        import lightgbm as lgb

        self.columns_ = list(columns)
        clf = lgb.LGBMClassifier(n_estimators=self.n_estimators, **self._params(columns))
        clf.fit(X, y)
        self.booster_ = clf.booster_
        return self

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        """Log-odds (LightGBM's raw score)."""
        return np.asarray(self.booster_.predict(X, raw_score=True, num_threads=self.n_jobs))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP values (``pred_contrib``); the last column is the bias."""
        return np.asarray(self.booster_.predict(X, pred_contrib=True, num_threads=self.n_jobs))

    def raw_std_error(self, X: np.ndarray) -> np.ndarray | None:
        """Trees carry no standard error (intervals come from the calibration slice)."""
        return None

    def to_dict(self) -> dict[str, Any]:
        """Settings and design columns (the trees are in :meth:`files`)."""
        return {
            "name": self.name,
            "settings": {
                "n_estimators": self.n_estimators,
                "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves,
                "max_depth": self.max_depth,
                "min_child_samples": self.min_child_samples,
                "monotone": self.monotone,
                "n_jobs": self.n_jobs,
                "random_state": self.random_state,
            },
            "columns": list(self.columns_),
            "file": BOOSTER_FILE,
        }

    def files(self) -> dict[str, str]:
        """LightGBM's own text model format."""
        return {BOOSTER_FILE: self.booster_.model_to_string()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], files: Mapping[str, str]) -> LightGBMEngine:
        """Rebuild from :meth:`to_dict` and the booster text."""
        import lightgbm as lgb

        engine = cls(**dict(d["settings"]))
        engine.columns_ = list(d["columns"])
        name = str(d.get("file", BOOSTER_FILE))
        if name not in files:
            raise ValueError(f"the saved LightGBM engine lacks its model file {name!r}")
        engine.booster_ = lgb.Booster(model_str=files[name])
        return engine
