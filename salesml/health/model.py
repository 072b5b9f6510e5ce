"""``DealHealthModel``: calibrated deal win probabilities from as-of snapshots.

Two engines behind one interface:

- **LightGBM** (enough history): gradient-boosted trees fit on the earlier snapshots,
  probabilities calibrated on a later time slice (isotonic regression when the slice
  is large, Platt scaling otherwise). Reason codes come from LightGBM's
  ``pred_contrib`` (exact path-dependent TreeSHAP values).
- **Regularised logistic regression** (small data: fewer than ``min_closed_deals``
  deals with a known outcome): statsmodels' ridge-penalised binomial GLM on the rule
  signals and a few features, with Laplace-approximation intervals. Below
  ``min_small_deals`` (60) deals, or with a single outcome class, fitting is refused
  with a clear message.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.health.signals import health_signals, load_signal_rules
from salesml.health.snapshots import CATEGORICAL_FEATURES, NUMERIC_FEATURES

__all__ = [
    "BAND_NAMES",
    "DRIVER_FEATURES",
    "MODEL_FEATURES",
    "DealHealthModel",
    "FeatureMismatchError",
    "InsufficientDataError",
    "band_name",
    "band_range",
    "describe_bands",
]

#: Health bands on the 0-100 score: ``(upper bound of "at risk", upper bound of "watch")``.
DEFAULT_BANDS: tuple[float, float] = (25.0, 50.0)
#: Display names of the bands: band -> (en, zh).
BAND_NAMES: dict[str, tuple[str, str]] = {
    "at_risk": ("At risk", "高风险"),
    "watch": ("Watch", "关注"),
    "healthy": ("Healthy", "健康"),
}


def band_name(band: str, lang: str = "en") -> str:
    """Display name of a band (``at_risk`` -> ``At risk`` / ``高风险``)."""
    en, zh = BAND_NAMES.get(band, (band, band))
    return zh if lang == "zh" else en


def band_range(band: str, bands: tuple[float, float] = DEFAULT_BANDS) -> str:
    """The scores of one band, e.g. ``"< 25"``, ``"25-50"``, ``"≥ 50"`` (as :meth:`DealHealthModel.band` cuts)."""
    lo, hi = bands
    return {"at_risk": f"< {lo:g}", "watch": f"{lo:g}-{hi:g}", "healthy": f"≥ {hi:g}"}[band]


def describe_bands(bands: tuple[float, float] = DEFAULT_BANDS, lang: str = "en") -> str:
    """The band rule in words, e.g. ``"At risk < 25 ≤ Watch < 50 ≤ Healthy"``."""
    lo, hi = bands
    at_risk, watch, healthy = (band_name(b, lang) for b in ("at_risk", "watch", "healthy"))
    return f"{at_risk} < {lo:g} ≤ {watch} < {hi:g} ≤ {healthy}"


#: Snapshot features the LightGBM engine uses by default: a lean set. The cumulative
#: per-kind activity counts are left out: they mostly restate the deal's age and
#: split reason credit among near-duplicates, which blurs the reason codes.
MODEL_FEATURES: tuple[str, ...] = (
    "stage_index",
    "days_in_stage",
    "age_days",
    "log_amount",
    "n_quotes",
    "quote_amount_change",
    "n_activities",
    "touches_30d",
    "days_since_activity",
    "days_since_visit",
    "reply_delay_hours_mean",
    "unanswered_messages",
    "message_wait_hours",
    "quote_unanswered_hours",
    "quote_wait_hours_max",
    "plan_revisions",
    "terms_revisions",
    "collab_open_requests",
    "collab_response_hours_mean",
    "collab_response_quality_mean",
    "visit_quality_mean",
    "rep_win_rate",
    "rep_activity_quality",
    "customer_prior_wins",
    *CATEGORICAL_FEATURES,
)
#: The planted-driver view: :data:`MODEL_FEATURES` without engagement and timing
#: (activity recency and counts, deal age, days in stage). It ranks deals like a
#: win process driven by stage, revisions, reply delays, quote waits, owner and
#: customer; it predicts outcomes less well where deals that will be lost go quiet
#: first (see bench/README.md, "deal health").
DRIVER_FEATURES: tuple[str, ...] = tuple(
    f
    for f in MODEL_FEATURES
    if f
    not in {
        "days_since_activity",
        "touches_30d",
        "n_activities",
        "days_since_visit",
        "age_days",
        "days_in_stage",
    }
)

#: Features whose effect on winning has a known direction; LightGBM is constrained to
#: it (more revisions, longer silence or waits never raise the win probability).
MONOTONE_DECREASING: tuple[str, ...] = (
    "plan_revisions",
    "terms_revisions",
    "days_since_activity",
    "quote_unanswered_hours",
    "quote_wait_hours_max",
    "reply_delay_hours_mean",
    "message_wait_hours",
    "unanswered_messages",
    "collab_open_requests",
)
_LOGIT_NUMERIC = (
    "stage_index",
    "log_amount",
    "days_in_stage",
    "days_since_activity",
    "rep_win_rate",
    "quote_wait_hours_max",
    "reply_delay_hours_mean",
)
_LOG_TRANSFORM = {
    "days_in_stage",
    "days_since_activity",
    "quote_wait_hours_max",
    "reply_delay_hours_mean",
}


class InsufficientDataError(ValueError):
    """Too few labelled deals, or a single outcome class, to fit a health model."""


class FeatureMismatchError(ValueError):
    """Snapshots do not carry the features the model was trained on."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35, 35)))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _wilson(p: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    n = np.maximum(n, 1.0)
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


@dataclass
class _Encoder:
    """Turns snapshot columns into the model's numeric design matrix."""

    numeric: list[str]
    categories: dict[str, list[str]]
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        cols = list(self.numeric)
        for c, levels in self.categories.items():
            cols += [f"{c}={v}" for v in levels]
        return cols

    @property
    def required(self) -> list[str]:
        return [*self.numeric, *self.categories]

    def check(self, frame: pd.DataFrame) -> None:
        missing = [c for c in self.required if c not in frame.columns]
        if missing:
            raise FeatureMismatchError(
                f"the snapshots lack {len(missing)} feature(s) this model was trained on: "
                f"{', '.join(missing)}. Build them with salesml.health.build_features / "
                "deal_snapshots of the same salesml version, or retrain the model."
            )
        bad = [c for c in self.numeric if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise FeatureMismatchError(
                f"feature column(s) {', '.join(bad)} should be numeric but are "
                f"{', '.join(str(frame[c].dtype) for c in bad)}"
            )

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
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
        return {"numeric": self.numeric, "categories": self.categories, "groups": self.groups}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> _Encoder:
        return cls(
            list(d["numeric"]),
            {k: list(v) for k, v in d["categories"].items()},
            dict(d.get("groups", {})),
        )


def _feature_group(name: str) -> str:
    """The user-facing reason a design column belongs to."""
    if "=" in name:
        return name.split("=", 1)[0]
    return {
        "stage_p90_days": "stage_index",
        "amount": "log_amount",
        "reply_delay_hours_max": "reply_delay_hours_mean",
        "touches_14d": "touches_30d",
        "quotes_viewed": "quote_wait_hours_max",
    }.get(name, name)


class DealHealthModel:
    """Calibrated deal health: P(win within the snapshot horizon), 0-100 score, bands.

    Parameters
    ----------
    min_closed_deals
        Distinct deals with a known outcome needed for the LightGBM engine (200);
        below it the regularised logistic engine is used.
    min_small_deals
        Fewest labelled deals accepted at all (60).
    calibration
        ``"auto"`` (isotonic when the calibration slice has at least 1,000 rows and
        50 wins, Platt otherwise), ``"isotonic"`` or ``"platt"``.
    calibration_share
        Share of the latest as-of dates held out to calibrate (LightGBM engine).
    bands
        Score thresholds ``(at_risk_below, watch_below)`` on the 0-100 scale.
    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples
        LightGBM settings. Depth is capped (5) because exact TreeSHAP reason codes
        cost time in proportion to leaves x depth squared per tree.
    monotone
        Constrain the features in :data:`MONOTONE_DECREASING` to never raise the win
        probability as they grow (domain knowledge; also steadies the reason codes).
    n_jobs
        LightGBM threads (1 by default: OpenMP threads spin badly on a busy machine).
    ridge
        L2 penalty of the logistic engine (on standardised features).
    random_state
        Seed for LightGBM.
    features
        Snapshot columns the LightGBM engine may use (default :data:`MODEL_FEATURES`;
        :data:`DRIVER_FEATURES` is the planted-driver view without engagement and
        timing); columns absent or empty in the training snapshots are skipped.

    Attributes
    ----------
    engine_ : str
        ``"lightgbm"`` or ``"logistic"``.
    features_ : list[str]
        Snapshot columns the model reads.
    n_closed_deals_ : int
        Distinct labelled deals seen in training.
    training_window_ : tuple[pandas.Timestamp, pandas.Timestamp]
        First and last as-of date of the training snapshots.
    """

    def __init__(
        self,
        *,
        min_closed_deals: int = 200,
        min_small_deals: int = 60,
        calibration: str = "auto",
        calibration_share: float = 0.25,
        bands: tuple[float, float] = DEFAULT_BANDS,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        max_depth: int = 5,
        monotone: bool = True,
        n_jobs: int = 1,
        min_child_samples: int = 40,
        ridge: float = 0.05,
        random_state: int = 0,
        features: Sequence[str] | None = None,
    ) -> None:
        self.min_closed_deals = min_closed_deals
        self.min_small_deals = min_small_deals
        self.calibration = calibration
        self.calibration_share = calibration_share
        self.bands = bands
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.monotone = monotone
        self.n_jobs = n_jobs
        self.min_child_samples = min_child_samples
        self.ridge = ridge
        self.random_state = random_state
        self.features = features

    # ------------------------------------------------------------------ fitting
    def fit(
        self, snapshots: pd.DataFrame, *, data_fingerprint: str | None = None
    ) -> DealHealthModel:
        """Fit on labelled snapshots (rows with a missing ``label`` are ignored).

        Parameters
        ----------
        snapshots
            Output of :func:`salesml.health.deal_snapshots`.
        data_fingerprint
            Fingerprint of the dataset (default: ``snapshots.attrs["data_fingerprint"]``).

        Raises
        ------
        InsufficientDataError
            Fewer than ``min_small_deals`` labelled deals, or only wins / only losses.
        """
        from salesml import __version__

        for col in ("label", "as_of", "deal_id"):
            if col not in snapshots:
                raise ValueError(
                    f"snapshots need a {col!r} column; build them with salesml.health.deal_snapshots"
                )
        train = snapshots.loc[snapshots["label"].notna()]
        n_deals = int(train["deal_id"].nunique())
        y = train["label"].to_numpy(dtype="float64")
        n_pos = int((y == 1).sum())
        n_neg = int((y == 0).sum())
        if n_pos == 0 or n_neg == 0:
            which = "won" if n_neg == 0 else "not won"
            raise InsufficientDataError(
                f"every labelled snapshot ({len(train):,} rows, {n_deals:,} deals) is {which}: "
                "a health model needs both won and not-won deals. Widen the as-of dates "
                "or wait for more deals to close."
            )
        if n_deals < self.min_small_deals:
            raise InsufficientDataError(
                f"only {n_deals} deal(s) with a known outcome; deal health needs at least "
                f"{self.min_small_deals} (and {self.min_closed_deals} for the LightGBM engine). "
                "Add more history (earlier as-of dates) or a longer data export."
            )
        self.n_closed_deals_ = n_deals
        self.n_rows_ = len(train)
        self.base_rate_ = float(y.mean())
        self.training_window_ = (
            pd.Timestamp(train["as_of"].min()),
            pd.Timestamp(train["as_of"].max()),
        )
        self.salesml_version_ = __version__
        self.data_fingerprint_ = data_fingerprint or snapshots.attrs.get("data_fingerprint")
        self.horizon_days_ = snapshots.attrs.get("horizon_days")
        self.notes_: list[str] = []
        if n_deals < self.min_closed_deals:
            self._fit_logistic(train)
        else:
            self._fit_lightgbm(train)
        self.features_ = self.encoder_.required
        return self

    def _fit_lightgbm(self, train: pd.DataFrame) -> None:
        import lightgbm as lgb

        self.engine_ = "lightgbm"
        wanted = list(self.features) if self.features is not None else list(MODEL_FEATURES)
        unknown = [c for c in wanted if c not in NUMERIC_FEATURES and c not in CATEGORICAL_FEATURES]
        if unknown:
            raise ValueError(
                f"unknown feature(s) {unknown}; choose from salesml.health.snapshots."
                "NUMERIC_FEATURES and CATEGORICAL_FEATURES"
            )
        numeric = [
            c for c in NUMERIC_FEATURES if c in wanted and c in train and train[c].notna().any()
        ]
        cats: dict[str, list[str]] = {}
        for c in CATEGORICAL_FEATURES:
            if c in wanted and c in train:
                counts = train[c].astype("str").value_counts()
                levels = sorted(str(v) for v in counts.index[counts >= 20])
                if levels:
                    cats[c] = levels
        enc = _Encoder(numeric, cats)
        enc.groups = {c: _feature_group(c) for c in enc.columns}
        self.encoder_ = enc
        dates = np.sort(train["as_of"].unique())
        n_cal = max(1, math.ceil(len(dates) * self.calibration_share))
        if len(dates) >= 2:
            cal_from = dates[len(dates) - n_cal]
            is_cal = (train["as_of"] >= cal_from).to_numpy()
            self.calibration_window_ = (pd.Timestamp(cal_from), pd.Timestamp(dates[-1]))
            split = "time"
        else:
            rng = np.random.default_rng(self.random_state)
            ids = train["deal_id"].unique()
            cal_ids = set(
                rng.choice(ids, size=max(1, int(len(ids) * self.calibration_share)), replace=False)
            )
            is_cal = train["deal_id"].isin(cal_ids).to_numpy()
            self.calibration_window_ = (pd.Timestamp(dates[0]), pd.Timestamp(dates[0]))
            split = "deals"
            self.notes_.append(
                "one as-of date only: calibrated on a random 25% of deals, not a later time slice"
            )
        y = train["label"].to_numpy(dtype="float64")
        if len(np.unique(y[~is_cal])) < 2 or len(np.unique(y[is_cal])) < 2:
            raise InsufficientDataError(
                "the training or calibration time slice holds a single outcome class; "
                "add as-of dates so that both slices contain won and not-won deals"
            )
        X = enc.transform(train)
        params = {
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
            params["monotone_constraints"] = [
                -1 if c in MONOTONE_DECREASING else 0 for c in enc.columns
            ]
            params["monotone_constraints_method"] = "advanced"
        clf = lgb.LGBMClassifier(n_estimators=self.n_estimators, **params)
        clf.fit(X[~is_cal], y[~is_cal])
        self.booster_ = clf.booster_
        raw = self.booster_.predict(X[is_cal], raw_score=True, num_threads=self.n_jobs)
        y_cal = y[is_cal]
        method = self.calibration
        if method == "auto":
            method = "isotonic" if (len(y_cal) >= 1000 and y_cal.sum() >= 50) else "platt"
        self._set_calibrator(method, raw, y_cal)
        cal_p = self._calibrate(raw)
        # interval support: how many calibration rows sit near each calibrated probability
        self.cal_grid_ = np.sort(cal_p)
        self.split_ = split
        self.n_train_rows_ = int((~is_cal).sum())
        self.n_calibration_rows_ = int(is_cal.sum())

    def _set_calibrator(self, method: str, raw: np.ndarray, y: np.ndarray) -> None:
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
            # A step holding n calibration rows with w wins says (w + 0.5) / (n + 1), not
            # w / n: a block without a single win must not promise a 0% chance.
            fitted = iso.predict(raw)
            levels, counts = np.unique(fitted, return_counts=True)
            shrunk = np.maximum.accumulate((levels * counts + 0.5) / (counts + 1.0))
            y_thr = np.interp(iso.y_thresholds_, levels, shrunk)
            self.calibrator_ = {
                "method": "isotonic",
                "x": iso.X_thresholds_.tolist(),
                "y": y_thr.tolist(),
            }
        elif method == "platt":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e4).fit(raw.reshape(-1, 1), y)
            self.calibrator_ = {
                "method": "platt",
                "a": float(lr.coef_[0, 0]),
                "b": float(lr.intercept_[0]),
            }
        else:
            raise ValueError(f"calibration must be 'auto', 'isotonic' or 'platt', got {method!r}")

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        c = self.calibrator_
        if c["method"] == "isotonic":
            p = np.interp(raw, np.asarray(c["x"]), np.asarray(c["y"]))
            # isotonic steps can hit exactly 0 or 1: keep probabilities proper
            return np.clip(p, 1e-4, 1 - 1e-4)
        return _sigmoid(c["a"] * raw + c["b"])

    def _logit_design(self, frame: pd.DataFrame) -> np.ndarray:
        X = (
            np.column_stack(
                [
                    np.log1p(frame[c].to_numpy(dtype="float64", na_value=np.nan).clip(min=0))
                    if c in _LOG_TRANSFORM
                    else frame[c].to_numpy(dtype="float64", na_value=np.nan)
                    for c in self.encoder_.numeric
                ]
            )
            if self.encoder_.numeric
            else np.empty((len(frame), 0))
        )
        sig = health_signals(frame, self.signal_rules_)[[r["name"] for r in self.signal_rules_]]
        X = np.hstack([X, sig.to_numpy(dtype="float64")])
        X = (X - self.center_) / self.scale_
        X = np.where(np.isnan(X), 0.0, X)  # missing -> the training mean
        return np.hstack([np.ones((len(frame), 1)), X])

    def _fit_logistic(self, train: pd.DataFrame) -> None:
        import statsmodels.api as sm

        self.engine_ = "logistic"
        self.notes_.append(
            f"small data: {self.n_closed_deals_} labelled deals (< {self.min_closed_deals}); "
            "a ridge-regularised logistic model on the rule signals and a few features is "
            "used instead of LightGBM; intervals from a Laplace approximation"
        )
        numeric = [c for c in _LOGIT_NUMERIC if c in train and train[c].notna().any()]
        self.encoder_ = _Encoder(numeric, {})
        rules = load_signal_rules()
        usable = [r for r in rules if set(r.expr.columns) <= set(train.columns)]
        self.signal_rules_ = [
            {
                "name": r.name,
                "when": r.when,
                "severity": r.severity,
                "phrase_en": r.phrase_en,
                "phrase_zh": r.phrase_zh,
            }
            for r in usable
        ]
        self.extra_required_ = sorted({c for r in usable for c in r.expr.columns} - set(numeric))
        self.center_ = np.zeros(len(numeric) + len(usable))
        self.scale_ = np.ones(len(numeric) + len(usable))
        raw = self._logit_design(train)[:, 1:]
        self.center_ = np.nanmean(raw, axis=0)
        sd = np.nanstd(raw, axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        X = self._logit_design(train)
        y = train["label"].to_numpy(dtype="float64")
        n = len(y)
        alpha = np.full(X.shape[1], self.ridge)
        alpha[0] = 0.0
        glm = sm.GLM(y, X, family=sm.families.Binomial())
        res = glm.fit_regularized(method="elastic_net", alpha=alpha, L1_wt=0.0, maxiter=200)
        beta = np.asarray(res.params, dtype="float64")
        p = _sigmoid(X @ beta)
        # Laplace approximation: curvature of the penalised log-likelihood at the optimum
        w = p * (1 - p)
        H = (X * w[:, None]).T @ X + n * np.diag(alpha)
        self.coef_ = beta
        self.cov_ = np.linalg.pinv(H)
        self.coef_names_ = ["intercept", *numeric, *[r["name"] for r in self.signal_rules_]]
        enc = self.encoder_
        enc.groups = {c: _feature_group(c) for c in self.coef_names_[1:]}
        self.calibrator_ = {"method": "none"}
        self.n_train_rows_ = n
        self.n_calibration_rows_ = 0
        self.calibration_window_ = None
        self.split_ = "none"

    # ------------------------------------------------------------------ scoring
    def _check_fitted(self) -> None:
        if not hasattr(self, "engine_"):
            raise RuntimeError("this DealHealthModel is not fitted yet: call fit(snapshots) first")

    def _check_frame(self, snapshots: pd.DataFrame) -> None:
        self._check_fitted()
        self.encoder_.check(snapshots)
        extra = [c for c in getattr(self, "extra_required_", []) if c not in snapshots.columns]
        if extra:
            raise FeatureMismatchError(
                f"the snapshots lack column(s) {', '.join(extra)} that the model's rule "
                "signals read; build them with salesml.health.build_features"
            )

    def decision_function(self, snapshots: pd.DataFrame) -> pd.Series:
        """Uncalibrated log-odds of winning (the scale reason codes add up on)."""
        self._check_frame(snapshots)
        if self.engine_ == "lightgbm":
            raw = self.booster_.predict(
                self.encoder_.transform(snapshots), raw_score=True, num_threads=self.n_jobs
            )
        else:
            raw = self._logit_design(snapshots) @ self.coef_
        return pd.Series(raw, index=snapshots.index, name="log_odds")

    def predict_proba(self, snapshots: pd.DataFrame) -> pd.Series:
        """Calibrated probability of winning within the horizon, indexed like the input."""
        raw = self.decision_function(snapshots).to_numpy()
        p = self._calibrate(raw) if self.engine_ == "lightgbm" else _sigmoid(raw)
        return pd.Series(p, index=snapshots.index, name="win_prob")

    def predict_interval(self, snapshots: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
        """An interval around each calibrated probability.

        Logistic engine: Laplace approximation of the coefficients' posterior (delta
        method on the log-odds). LightGBM engine: a Wilson interval for a win rate
        estimated from the calibration rows whose calibrated probability lies within
        0.05 of the deal's, i.e. the precision of the calibration at that score (wide
        where the calibration slice had few deals).

        Returns
        -------
        pandas.DataFrame
            ``win_prob``, ``low``, ``high``; indexed like the input.
        """
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + level / 2))
        p = self.predict_proba(snapshots).to_numpy()
        if self.engine_ == "logistic":
            X = self._logit_design(snapshots)
            eta = X @ self.coef_
            se = np.sqrt(np.einsum("ij,jk,ik->i", X, self.cov_, X))
            low, high = _sigmoid(eta - z * se), _sigmoid(eta + z * se)
        else:
            grid = self.cal_grid_
            # calibration rows within +-0.05 of each calibrated probability: how many
            # held-out outcomes the calibration leaned on there
            n_near = (
                np.searchsorted(grid, p + 0.05, side="right") - np.searchsorted(grid, p - 0.05)
            ).astype("float64")
            low, high = _wilson(p, np.maximum(n_near, 1.0), z)
        return pd.DataFrame({"win_prob": p, "low": low, "high": high}, index=snapshots.index)

    def score(self, snapshots: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
        """Health scores for snapshots (e.g. every open deal today).

        Returns
        -------
        pandas.DataFrame
            Indexed like the input: ``deal_id``, ``as_of``, ``rep_id``, ``stage``,
            ``amount`` (where present), ``win_prob``, ``low``, ``high``,
            ``health_score`` (0-100 = 100 x calibrated win probability) and ``band``
            (``at_risk``, ``watch``, ``healthy``).
        """
        iv = self.predict_interval(snapshots, level=level)
        keep = [
            c
            for c in ("deal_id", "as_of", "rep_id", "customer_id", "stage", "amount", "region")
            if c in snapshots
        ]
        out = snapshots[keep].copy()
        out[["win_prob", "low", "high"]] = iv[["win_prob", "low", "high"]]
        out["health_score"] = (100 * iv["win_prob"]).round(1)
        out["band"] = self.band(out["health_score"])
        return out

    def band(self, health_score: pd.Series) -> pd.Series:
        """Band of each 0-100 score: ``at_risk`` < bands[0] <= ``watch`` < bands[1] <= ``healthy``."""
        lo, hi = self.bands
        s = health_score.to_numpy(dtype="float64")
        return pd.Series(
            np.where(s < lo, "at_risk", np.where(s < hi, "watch", "healthy")),
            index=health_score.index,
            dtype="str",
        )

    def contributions(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        """Per-deal additive contributions to the log-odds, grouped into reasons.

        LightGBM: ``pred_contrib=True`` (exact path-dependent TreeSHAP, identical to
        ``shap.TreeExplainer``); logistic: coefficient x (standardised value - mean).
        Columns are reason groups plus ``bias``; each row sums to
        :meth:`decision_function`.
        """
        self._check_frame(snapshots)
        if self.engine_ == "lightgbm":
            X = self.encoder_.transform(snapshots)
            contrib = self.booster_.predict(X, pred_contrib=True, num_threads=self.n_jobs)
            names = self.encoder_.columns
        else:
            X = self._logit_design(snapshots)
            contrib = np.hstack([X[:, 1:] * self.coef_[1:], np.full((len(X), 1), self.coef_[0])])
            names = self.coef_names_[1:]
        frame = pd.DataFrame(contrib[:, :-1], columns=names, index=snapshots.index)
        grouped = (
            frame.T.groupby([self.encoder_.groups.get(c, c) for c in names], sort=False).sum().T
        )
        grouped["bias"] = contrib[:, -1]
        return grouped

    def explain(
        self, snapshots: pd.DataFrame, *, top: int = 5, lang: str = "en", scope: str = "all"
    ) -> pd.DataFrame:
        """Per-deal reason codes; see :func:`salesml.health.explain.explain_deals`."""
        from salesml.health.explain import explain_deals

        return explain_deals(self, snapshots, top=top, lang=lang, scope=scope)

    # ------------------------------------------------------------------ card
    @property
    def summary(self) -> pd.DataFrame:
        """The model card as a two-column table (``item``, ``value``)."""
        self._check_fitted()
        rows: list[tuple[str, Any]] = [
            ("engine", self.engine_),
            (
                "training window",
                f"{self.training_window_[0]:%Y-%m-%d} .. {self.training_window_[1]:%Y-%m-%d}",
            ),
            ("labelled deals", self.n_closed_deals_),
            ("labelled snapshots", self.n_rows_),
            ("base win rate", round(self.base_rate_, 4)),
            ("horizon (days)", self.horizon_days_),
            ("features", len(self.features_)),
            ("calibration", self.calibrator_["method"]),
        ]
        if self.calibration_window_ is not None:
            a, b = self.calibration_window_
            rows.append(
                (
                    "calibration slice",
                    f"{a:%Y-%m-%d} .. {b:%Y-%m-%d} ({self.n_calibration_rows_:,} rows)",
                )
            )
        rows += [
            (
                "bands (score)",
                f"at_risk < {self.bands[0]:g} <= watch < {self.bands[1]:g} <= healthy",
            ),
            ("salesml version", self.salesml_version_),
            ("data fingerprint", self.data_fingerprint_ or ""),
        ]
        rows += [("note", n) for n in self.notes_]
        return pd.DataFrame(rows, columns=["item", "value"]).astype({"value": "str"})

    def _repr_html_(self) -> str:
        if not hasattr(self, "engine_"):
            return "<b>DealHealthModel</b> (not fitted)"
        return (
            "<div><b>DealHealthModel</b> · calibrated P(win) · "
            f"{html.escape(self.engine_)}{self.summary.to_html(index=False)}</div>"
        )

    def __repr__(self) -> str:
        if not hasattr(self, "engine_"):
            return "DealHealthModel(not fitted)"
        return f"DealHealthModel(engine={self.engine_!r}, deals={self.n_closed_deals_})"

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Save to a folder (JSON metadata + LightGBM text model; no pickle)."""
        from salesml.health.persistence import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> DealHealthModel:
        """Load a model saved with :meth:`save`."""
        from salesml.health.persistence import load_model

        return load_model(path)

    def required_columns(self) -> Sequence[str]:
        """Snapshot columns scoring needs."""
        self._check_fitted()
        return [*self.encoder_.required, *getattr(self, "extra_required_", [])]
