"""The LightGBM engine: gradient-boosted trees, exact TreeSHAP contributions."""

from __future__ import annotations

import itertools
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

    def fit(
        self, X: np.ndarray, y: np.ndarray, *, columns: Sequence[str], client: Any = None
    ) -> LightGBMEngine:
        """Fit the trees, here or on a Dask cluster.

        With a ``client`` the rows are split into one block per worker, each block
        placed on its worker, and ``lightgbm.dask.DaskLGBMClassifier`` trains there
        (LightGBM's data-parallel learner: every worker bins and histograms its own
        rows). The trees come back as an ordinary booster, so scoring, reasons and
        saving are the same. Distributed training is not bit-identical to training
        here (bins are found per worker, bagging draws per worker): the tests hold the
        cluster model's held-out AUC within 0.02 of the local one and its predictions
        correlated above 0.95 with the local ones (demo data: AUC 0.7993 here, 0.7950
        there, correlation 0.977).
        """
        import lightgbm as lgb

        self.columns_ = list(columns)
        if client is None:
            clf = lgb.LGBMClassifier(n_estimators=self.n_estimators, **self._params(columns))
            clf.fit(X, y)
            self.booster_ = clf.booster_
            return self
        dX, dy = _spread(client, X, y)
        params = self._params(columns)
        for local_only in ("deterministic", "n_jobs"):  # a worker uses its own threads
            params.pop(local_only, None)
        dclf = lgb.DaskLGBMClassifier(client=client, n_estimators=self.n_estimators, **params)
        with client.as_current():  # lightgbm.dask waits on the current client
            dclf.fit(dX, dy)
        self.booster_ = dclf.booster_
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


def _spread(client: Any, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
    """``X`` and ``y`` as dask arrays with one row block on each worker (in row order)."""
    import dask.array as da

    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise RuntimeError("the Dask cluster has no workers to train on")
    edges = np.linspace(0, len(X), min(len(workers), max(len(X), 1)) + 1).round().astype(int)
    xs, ys = [], []
    for w, (a, b) in zip(workers, itertools.pairwise(edges), strict=False):
        fx = client.scatter(np.ascontiguousarray(X[a:b]), workers=[w], broadcast=False)
        fy = client.scatter(np.ascontiguousarray(y[a:b]), workers=[w], broadcast=False)
        xs.append(da.from_delayed(fx, shape=(b - a, X.shape[1]), dtype=X.dtype))
        ys.append(da.from_delayed(fy, shape=(b - a,), dtype=y.dtype))
    return da.concatenate(xs, axis=0), da.concatenate(ys, axis=0)
