"""The small-data engine: ridge-penalised logistic regression with Laplace intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

__all__ = ["LogisticEngine"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35, 35)))


class LogisticEngine:
    """Regularised logistic regression (statsmodels' ridge-penalised binomial GLM).

    Columns are standardised on the training rows (a missing value becomes the
    training mean); the intercept is not penalised. The curvature of the penalised
    log-likelihood at the optimum (a Laplace approximation) gives each row's
    standard error of the log-odds.

    Parameters
    ----------
    ridge
        L2 penalty on the standardised coefficients.
    log_columns
        Columns taken as ``log1p(max(x, 0))`` first (durations and waits).
    maxiter
        Iterations of the penalised fit.
    """

    name: ClassVar[str] = "logistic"

    def __init__(
        self, *, ridge: float = 0.05, log_columns: Sequence[str] = (), maxiter: int = 200
    ) -> None:
        self.ridge = ridge
        self.log_columns = list(log_columns)
        self.maxiter = maxiter

    def _design(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype="float64", copy=True)
        for j, c in enumerate(self.columns_):
            if c in self.log_columns:
                X[:, j] = np.log1p(np.clip(X[:, j], 0, None))
        return X

    def _standardised(self, X: np.ndarray) -> np.ndarray:
        Z = (self._design(X) - self.center_) / self.scale_
        Z = np.where(np.isnan(Z), 0.0, Z)  # missing -> the training mean
        return np.hstack([np.ones((len(Z), 1)), Z])

    def fit(self, X: np.ndarray, y: np.ndarray, *, columns: Sequence[str]) -> LogisticEngine:
        """Fit the penalised GLM and its Laplace covariance."""
        import statsmodels.api as sm

        self.columns_ = list(columns)
        raw = self._design(X)
        if raw.shape[1]:
            self.center_ = np.nanmean(raw, axis=0)
            sd = np.nanstd(raw, axis=0)
        else:
            self.center_ = np.zeros(0)
            sd = np.zeros(0)
        self.center_ = np.where(np.isnan(self.center_), 0.0, self.center_)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        Z = self._standardised(X)
        y = np.asarray(y, dtype="float64")
        alpha = np.full(Z.shape[1], self.ridge)
        alpha[0] = 0.0
        glm = sm.GLM(y, Z, family=sm.families.Binomial())
        res = glm.fit_regularized(
            method="elastic_net", alpha=alpha, L1_wt=0.0, maxiter=self.maxiter
        )
        beta = np.asarray(res.params, dtype="float64")
        p = _sigmoid(Z @ beta)
        w = p * (1 - p)
        H = (Z * w[:, None]).T @ Z + len(y) * np.diag(alpha)
        self.coef_ = beta
        self.cov_ = np.linalg.pinv(H)
        return self

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        """Log-odds."""
        return self._standardised(X) @ self.coef_

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Coefficient x standardised value per column; the last column is the intercept."""
        Z = self._standardised(X)
        return np.hstack([Z[:, 1:] * self.coef_[1:], np.full((len(Z), 1), self.coef_[0])])

    def raw_std_error(self, X: np.ndarray) -> np.ndarray | None:
        """Delta-method standard error of the log-odds under the Laplace approximation."""
        Z = self._standardised(X)
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", Z, self.cov_, Z), 0.0))

    def to_dict(self) -> dict[str, Any]:
        """Settings, coefficients, covariance and standardisation."""
        return {
            "name": self.name,
            "settings": {
                "ridge": self.ridge,
                "log_columns": list(self.log_columns),
                "maxiter": self.maxiter,
            },
            "columns": list(self.columns_),
            "coef": self.coef_.tolist(),
            "cov": self.cov_.tolist(),
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
        }

    def files(self) -> dict[str, str]:
        """Nothing beyond the JSON."""
        return {}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], files: Mapping[str, str]) -> LogisticEngine:
        """Rebuild from :meth:`to_dict`."""
        engine = cls(**dict(d["settings"]))
        engine.columns_ = list(d["columns"])
        engine.coef_ = np.asarray(d["coef"], dtype="float64")
        engine.cov_ = np.asarray(d["cov"], dtype="float64")
        engine.center_ = np.asarray(d["center"], dtype="float64")
        engine.scale_ = np.asarray(d["scale"], dtype="float64")
        return engine
