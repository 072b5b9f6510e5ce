"""``ScoringModel``: calibrated probabilities from as-of snapshots, with reasons and bands.

The base every scoring model of salesml shares (deal health today, lead potential
next). A concrete model is a configuration: which snapshot columns are features,
which of them have a known direction, how reasons read, which column identifies a
row; everything else is here:

- engine choice by the amount of labelled history: :class:`LightGBMEngine` from
  ``min_closed`` distinct labelled ids, the small-data :class:`LogisticEngine` below
  it, a clear :class:`InsufficientDataError` below ``min_labelled`` or with one class;
- the leak guard (features that alone separate wins from losses are named and, by
  default, left out), features that could not be computed named with their reason;
- calibration on a later time slice, intervals, 0-100 scores and bands;
- additive contributions grouped into reasons, phrased from the label catalog;
- a model card (:meth:`summary`; judged against baselines by
  :func:`salesml.scoring.model_card`), and saving as JSON plus LightGBM's
  own model text (:meth:`save` / :meth:`load`; nothing pickled).

Settings go in ``__init__`` (no work there); :meth:`fit` returns the model; fitted
attributes end in ``_``; ``predict*`` keep the input index.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from salesml.i18n import check_lang
from salesml.results import Note
from salesml.scoring import persistence
from salesml.scoring.bands import DEFAULT_BANDS, assign_bands, describe_bands
from salesml.scoring.calibration import Calibrator, sigmoid, time_slice
from salesml.scoring.diagnostics import FitFacts, LabelledNote, LeakWarning, leak_check
from salesml.scoring.encoding import FeatureEncoder
from salesml.scoring.engines import Engine, LightGBMEngine, LogisticEngine, engine_from_dict
from salesml.scoring.errors import FeatureMismatchError, InsufficientDataError
from salesml.scoring.explain import Phrasing, explain_contributions

__all__ = ["ScoringModel"]

#: Format of a saved model folder.
FORMAT_VERSION = 2


def _ts(x: pd.Timestamp | None) -> str | None:
    return None if x is None else pd.Timestamp(x).isoformat()


class ScoringModel:
    """Base of salesml's scoring models (see the module docstring).

    Parameters
    ----------
    min_closed
        Distinct labelled ids needed for the LightGBM engine; below it the small-data
        logistic engine is used.
    min_labelled
        Fewest distinct labelled ids accepted at all.
    calibration
        ``"auto"`` (isotonic when the calibration slice has at least 1,000 rows and
        50 wins, Platt otherwise), ``"isotonic"`` or ``"platt"`` (LightGBM engine).
    calibration_share
        Share of the latest snapshot times held out to calibrate (LightGBM engine).
    bands
        Score cut-offs ``(at_risk_below, watch_below)`` on the 0-100 scale.
    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples, n_jobs
        LightGBM settings (see :class:`~salesml.scoring.engines.LightGBMEngine`).
    monotone
        Constrain the configuration's ``monotone_decreasing`` features to never raise
        the probability as they grow.
    ridge
        L2 penalty of the logistic engine (standardised features).
    random_state
        Seed.
    features
        Snapshot columns the LightGBM engine may use (default: the configuration's
        ``default_features``); columns absent or empty in training are skipped and named.
    leak_guard
        ``"drop"`` (default): features that alone separate wins from losses on the
        training rows (AUC >= 0.95) are left out and named on the card; ``"keep"``:
        they stay in, and are named all the same.

    Attributes
    ----------
    engine_ : str
        ``"lightgbm"`` or ``"logistic"``.
    features_ : list[str]
        Snapshot columns the model reads.
    n_closed_ : int
        Distinct labelled ids seen in training.
    training_window_ : tuple[pandas.Timestamp, pandas.Timestamp]
        First and last snapshot time of the training rows.
    leaks_ : list[LeakWarning]
        Features that alone separated wins from losses in training.
    unavailable_ : dict[str, str]
        Wanted features that could not be used -> why (``table:<name>`` or
        ``column:<table>.<column>`` missing from the dataset, ``absent`` from the
        snapshots, ``empty`` in training, ``leak``).
    """

    # -------------------------------------------------------------- configuration
    #: Identifier written into a saved model (checked when loading).
    kind: ClassVar[str] = "salesml.scoring.ScoringModel"
    #: Column identifying what is scored (a deal, a lead).
    id_column: ClassVar[str] = "id"
    #: Column of the snapshot instant.
    time_column: ClassVar[str] = "as_of"
    #: Column of the 0/1 label (missing: not yet known).
    label_column: ClassVar[str] = "label"
    #: Name of the 0-100 score column of :meth:`score`.
    score_column: ClassVar[str] = "score"
    #: Every numeric feature the feature builder can produce, in design order.
    numeric_features: ClassVar[tuple[str, ...]] = ()
    #: Text features (one-hot encoded).
    categorical_features: ClassVar[tuple[str, ...]] = ()
    #: Features the LightGBM engine uses by default.
    default_features: ClassVar[tuple[str, ...]] = ()
    #: Numeric features of the small-data logistic engine.
    small_data_features: ClassVar[tuple[str, ...]] = ()
    #: Logistic-engine features taken as log1p first.
    log_features: ClassVar[frozenset[str]] = frozenset()
    #: Features that never raise the probability as they grow (LightGBM constraint).
    monotone_decreasing: ClassVar[tuple[str, ...]] = ()
    #: Design column -> reason group, beyond one-hot columns.
    feature_groups: ClassVar[Mapping[str, str]] = {}
    #: Descriptive columns :meth:`score` carries over when present.
    keep_columns: ClassVar[tuple[str, ...]] = ()
    #: What to do when rows lack features (named in FeatureMismatchError).
    builder_hint: ClassVar[str] = ""
    #: Card item names of the labelled-id and labelled-row counts.
    labelled_item: ClassVar[str] = "labelled rows"
    rows_item: ClassVar[str] = "labelled snapshots"
    #: The reasons' wording.
    phrasing: ClassVar[Phrasing] = Phrasing(prefix="scoring.reason")
    #: Settings of this class a subclass's ``__init__`` takes under another name.
    renamed_settings: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        *,
        min_closed: int = 200,
        min_labelled: int = 60,
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
        leak_guard: Literal["drop", "keep"] = "drop",
    ) -> None:
        self.min_closed = min_closed
        self.min_labelled = min_labelled
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
        self.leak_guard = leak_guard

    # ------------------------------------------------------------------ hooks
    def _fit_derived(self, train: pd.DataFrame, engine: str) -> dict[str, Any]:
        """State of extra inputs computed from the snapshots (default: none)."""
        return {}

    def _derived(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Extra inputs of ``frame`` (yes/no signals, as ``boolean`` columns)."""
        return pd.DataFrame(index=frame.index)

    def _derived_required(self) -> list[str]:
        """Snapshot columns the extra inputs read."""
        return []

    def _phrasing(self) -> Phrasing:
        """The wording of this model's reasons (default: the class's :attr:`phrasing`)."""
        return self.phrasing

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` settings (scikit-learn's convention).

        A subclass whose ``__init__`` takes ``**settings`` on to its parent's has the
        parent's settings too, but for those it names again under its own name
        (:attr:`renamed_settings`).
        """
        names: list[str] = []
        skip = set(self.renamed_settings)
        for klass in type(self).__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            params = inspect.signature(init).parameters.values()
            names += [
                p.name
                for p in params
                if p.kind is inspect.Parameter.KEYWORD_ONLY
                and p.name not in names
                and p.name not in skip
            ]
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
                break
        return {n: getattr(self, n) for n in names if hasattr(self, n)}

    # ------------------------------------------------------------------ fitting
    def _wanted(self, engine: str) -> list[str]:
        if engine == "logistic":
            return list(self.small_data_features)
        wanted = list(self.features) if self.features is not None else list(self.default_features)
        known = set(self.numeric_features) | set(self.categorical_features)
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise ValueError(
                f"unknown feature(s) {unknown}; choose from the model's numeric_features "
                "and categorical_features"
            )
        return wanted

    @staticmethod
    def _unavailable(
        train: pd.DataFrame, wanted: Sequence[str], attrs: Mapping[str, Any]
    ) -> dict[str, str]:
        from_tables = dict(attrs.get("unavailable") or {})
        out: dict[str, str] = {}
        for f in wanted:
            if f in from_tables:
                what = str(from_tables[f])
                out[f] = f"column:{what}" if "." in what else f"table:{what}"
            elif f not in train.columns:
                out[f] = "absent"
            elif not train[f].notna().any():
                out[f] = "empty"
        return out

    def fit(
        self,
        snapshots: pd.DataFrame,
        *,
        data_fingerprint: str | None = None,
        client: Any = None,
    ) -> ScoringModel:
        """Fit on labelled snapshots (rows with a missing label are ignored).

        Parameters
        ----------
        snapshots
            As-of snapshots with the id, time and label columns of the configuration.
        data_fingerprint
            Fingerprint of the dataset (default: ``snapshots.attrs["data_fingerprint"]``).
        client
            A ``distributed.Client``: the LightGBM engine trains with ``lightgbm.dask``
            on that cluster (the training rows split across its workers); calibration,
            the leak guard and everything else stay here. ``None``: train here. Cluster
            training is not bit-identical to training here (see
            :meth:`LightGBMEngine.fit`).

        Raises
        ------
        InsufficientDataError
            Fewer than ``min_labelled`` labelled ids, or only wins / only losses.
        """
        from salesml import __version__

        if self.leak_guard not in ("drop", "keep"):
            raise ValueError(f"leak_guard must be 'drop' or 'keep', got {self.leak_guard!r}")
        idc, tc, lc = self.id_column, self.time_column, self.label_column
        for col in (lc, tc, idc):
            if col not in snapshots:
                raise ValueError(
                    f"snapshots need a {col!r} column; {self.builder_hint or 'build them first'}"
                )
        labelled = snapshots[lc].notna()
        train = snapshots if bool(labelled.all()) else snapshots.loc[labelled]
        n_ids = int(train[idc].nunique())
        y = train[lc].to_numpy(dtype="float64")
        n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
        if n_pos == 0 or n_neg == 0:
            which = "won" if n_neg == 0 else "not won"
            raise InsufficientDataError(
                f"every labelled snapshot ({len(train):,} rows, {n_ids:,} ids) is {which}: "
                "a scoring model needs both won and not-won outcomes. Widen the as-of "
                "dates or wait for more outcomes."
            )
        if n_ids < self.min_labelled:
            raise InsufficientDataError(
                f"only {n_ids} id(s) with a known outcome; at least {self.min_labelled} "
                f"are needed (and {self.min_closed} for the LightGBM engine). Add more "
                "history (earlier as-of dates) or a longer data export."
            )
        attrs = snapshots.attrs
        self.n_closed_ = n_ids
        self.n_rows_ = len(train)
        self.base_rate_ = float(y.mean())
        self.training_window_ = (pd.Timestamp(train[tc].min()), pd.Timestamp(train[tc].max()))
        self.salesml_version_ = __version__
        self.data_fingerprint_ = data_fingerprint or attrs.get("data_fingerprint")
        self.horizon_days_ = attrs.get("horizon_days")
        self.currency_ = str(attrs.get("currency") or "CNY")
        self.notes_: list[Note] = []
        engine = "logistic" if n_ids < self.min_closed else "lightgbm"
        wanted = self._wanted(engine)
        self.n_wanted_ = len(wanted)
        self.unavailable_ = self._unavailable(train, wanted, attrs)
        usable = [f for f in wanted if f not in self.unavailable_]
        self.leaks_: list[LeakWarning] = leak_check(train, usable, y)
        if self.leak_guard == "drop":
            for w in self.leaks_:
                self.unavailable_[w.feature] = "leak"
            usable = [f for f in usable if f not in self.unavailable_]
        self.derived_ = self._fit_derived(train, engine)
        derived = self._derived(train)
        order = self.small_data_features if engine == "logistic" else self.numeric_features
        numeric = [c for c in order if c in usable] + list(derived.columns)
        cats = [c for c in self.categorical_features if c in usable]
        design = pd.concat([train, derived], axis=1) if len(derived.columns) else train
        hint = self.builder_hint
        self.encoder_ = FeatureEncoder.build(
            design, numeric=numeric, categorical=cats, groups=self.feature_groups, hint=hint
        )
        self.derived_columns_ = list(derived.columns)
        X = self.encoder_.transform(design)
        if engine == "logistic":
            self._fit_logistic(X, y)
        else:
            self._fit_lightgbm(train, X, y, client=client)
        self.features_ = [c for c in self.encoder_.required if c not in self.derived_columns_]
        return self

    def _fit_lightgbm(
        self, train: pd.DataFrame, X: np.ndarray, y: np.ndarray, *, client: Any = None
    ) -> None:
        sl = time_slice(
            train[self.time_column],
            share=self.calibration_share,
            ids=train[self.id_column],
            random_state=self.random_state,
        )
        is_cal = sl.is_calibration
        if sl.split != "time":
            self.notes_.append(Note("scoring.note.one_date"))
        if len(np.unique(y[~is_cal])) < 2 or len(np.unique(y[is_cal])) < 2:
            raise InsufficientDataError(
                "the training or calibration time slice holds a single outcome class; "
                "add as-of dates so that both slices contain won and not-won outcomes"
            )
        cols = self.encoder_.columns
        decreasing = set(self.monotone_decreasing) if self.monotone else set()
        engine = LightGBMEngine(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            min_child_samples=self.min_child_samples,
            monotone={c: -1 for c in cols if c in decreasing} if self.monotone else None,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        self.engine_ = engine.name
        self.engine_model_: Engine = engine.fit(X[~is_cal], y[~is_cal], columns=cols, client=client)
        raw = engine.predict_raw(X[is_cal])
        self.calibrator_ = Calibrator.fit(raw, y[is_cal], method=self.calibration)
        self.calibration_window_: tuple[pd.Timestamp, pd.Timestamp] | None = sl.window
        self.split_ = sl.split
        self.n_train_rows_ = int((~is_cal).sum())
        self.n_calibration_rows_ = int(is_cal.sum())

    def _fit_logistic(self, X: np.ndarray, y: np.ndarray) -> None:
        engine = LogisticEngine(ridge=self.ridge, log_columns=sorted(self.log_features))
        self.engine_ = engine.name
        self.engine_model_ = engine.fit(X, y, columns=self.encoder_.columns)
        self.notes_.append(
            Note(
                "scoring.note.small_data",
                (("n", f"{self.n_closed_:,}"), ("min", f"{self.min_closed:,}")),
            )
        )
        self.calibrator_ = Calibrator("none")
        self.calibration_window_ = None
        self.split_ = "none"
        self.n_train_rows_ = len(y)
        self.n_calibration_rows_ = 0

    # ------------------------------------------------------------------ scoring
    def _check_fitted(self) -> None:
        if not hasattr(self, "engine_"):
            raise RuntimeError(
                f"this {type(self).__name__} is not fitted yet: call fit(snapshots) first"
            )

    def _design(self, frame: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        base = [c for c in self.encoder_.required if c not in self.derived_columns_]
        FeatureEncoder(
            [c for c in base if c in self.encoder_.numeric],
            {c: v for c, v in self.encoder_.categories.items()},
            hint=self.encoder_.hint,
        ).check(frame)
        extra = [c for c in self._derived_required() if c not in frame.columns]
        if extra:
            raise FeatureMismatchError(
                f"the rows lack column(s) {', '.join(extra)} that the model's rule signals "
                f"read. {self.builder_hint}"
            )
        derived = self._derived(frame)
        design = pd.concat([frame, derived], axis=1) if len(derived.columns) else frame
        return self.encoder_.transform(design)

    def decision_function(self, frame: pd.DataFrame) -> pd.Series:
        """Uncalibrated log-odds (the scale reason codes add up on), indexed like the input."""
        X = self._design(frame)
        raw = self.engine_model_.predict_raw(X)
        return pd.Series(raw, index=frame.index, name="log_odds")

    def predict_proba(self, frame: pd.DataFrame) -> pd.Series:
        """Calibrated probability of the positive outcome, indexed like the input."""
        raw = self.decision_function(frame).to_numpy()
        return pd.Series(self.calibrator_(raw), index=frame.index, name="win_prob")

    def predict_interval(self, frame: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
        """An interval around each calibrated probability.

        Logistic engine: Laplace approximation (delta method on the log-odds).
        LightGBM engine: a Wilson interval for a rate estimated from the calibration
        rows whose calibrated probability lies within 0.05 of the row's (wide where
        the calibration slice had few rows).

        Returns
        -------
        pandas.DataFrame
            ``win_prob``, ``low``, ``high``; indexed like the input.
        """
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + level / 2))
        X = self._design(frame)
        raw = self.engine_model_.predict_raw(X)
        p = self.calibrator_(raw)
        se = self.engine_model_.raw_std_error(X)
        if se is not None:
            low, high = sigmoid(raw - z * se), sigmoid(raw + z * se)
        else:
            low, high = self.calibrator_.interval(p, z)
        return pd.DataFrame({"win_prob": p, "low": low, "high": high}, index=frame.index)

    def score(self, frame: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
        """Scores: the configuration's descriptive columns, ``win_prob``, ``low``,
        ``high``, the 0-100 score (100 x calibrated probability, one decimal) and
        ``band`` (``at_risk``, ``watch``, ``healthy``); indexed like the input."""
        iv = self.predict_interval(frame, level=level)
        keep = [c for c in self.keep_columns if c in frame]
        out = frame[keep].copy()
        out[["win_prob", "low", "high"]] = iv[["win_prob", "low", "high"]]
        out[self.score_column] = (100 * iv["win_prob"]).round(1)
        out["band"] = self.band(out[self.score_column])
        return out

    def band(self, score: pd.Series) -> pd.Series:
        """Band of each 0-100 score (see :func:`~salesml.scoring.bands.assign_bands`)."""
        return assign_bands(score, self.bands)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-row additive contributions to the log-odds, grouped into reasons.

        Columns are reason groups plus ``bias``; each row sums to
        :meth:`decision_function`. LightGBM: exact TreeSHAP (``pred_contrib``);
        logistic: coefficient x standardised value.
        """
        X = self._design(frame)
        contrib = self.engine_model_.contributions(X)
        names = self.encoder_.columns
        groups = [self.encoder_.group_of(c) for c in names]
        part = pd.DataFrame(contrib[:, :-1], columns=names, index=frame.index)
        grouped = part.T.groupby(groups, sort=False).sum().T
        grouped["bias"] = contrib[:, -1]
        return grouped

    def _phrase_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        derived = self._derived(frame)
        return pd.concat([frame, derived], axis=1) if len(derived.columns) else frame

    def explain(
        self,
        frame: pd.DataFrame,
        *,
        top: int = 5,
        lang: str = "en",
        scope: Literal["all", "actionable"] = "all",
        order: Literal["strength", "hurts_first"] = "strength",
        currency: str | None = None,
    ) -> pd.DataFrame:
        """Per-row reason codes (see :func:`salesml.scoring.explain.explain_contributions`).

        ``currency`` defaults to the currency of the training snapshots.
        """
        return explain_contributions(
            self.contributions(frame),
            self._phrase_frame(frame),
            phrasing=self._phrasing(),
            top=top,
            lang=lang,
            scope=scope,
            order=order,
            currency=currency or getattr(self, "currency_", "CNY"),
            id_column=self.id_column,
        )

    def required_columns(self) -> list[str]:
        """Snapshot columns scoring needs."""
        self._check_fitted()
        return [*self.features_, *self._derived_required()]

    def facts(self) -> FitFacts:
        """The fit's figures a verdict judges causes from."""
        self._check_fitted()
        return FitFacts(
            n_features=len(self.features_) + len(self.derived_columns_),
            n_features_wanted=self.n_wanted_,
            n_closed=self.n_closed_,
            n_calibration_rows=self.n_calibration_rows_,
            train_rate=self.base_rate_,
        )

    # ------------------------------------------------------------------ card
    def card_notes(self) -> list[Note]:
        """Caveats of the fit: leaks, features that could not be used, fit notes."""
        self._check_fitted()
        dropped = self.leak_guard == "drop"
        out: list[Note] = [w.note(dropped=dropped) for w in self.leaks_]
        by_why: dict[str, list[str]] = {}
        for f, why in self.unavailable_.items():
            if why != "leak":
                by_why.setdefault(why, []).append(f)
        for why, feats in by_why.items():
            names = ("features", tuple(feats))
            if why.startswith("table:"):
                key, values = "scoring.unavailable.table", (names, ("table", why[6:]))
            elif why.startswith("column:"):
                table, _, column = why[7:].partition(".")
                key = "scoring.unavailable.column"
                values = (names, ("table", table), ("column", column))
            else:
                key, values = f"scoring.unavailable.{why}", (names,)
            out.append(LabelledNote(key, values, labelled=("features",)))
        return out + list(self.notes_)

    def summary(self, *, lang: str = "en") -> pd.DataFrame:
        """The model card as a two-column table (``item``, ``value``).

        Items are catalog codes (``engine``, ``training window``, ...); values are
        language-neutral (codes, numbers, dates), notes in ``lang``.
        """
        self._check_fitted()
        lang = check_lang(lang)
        a, b = self.training_window_
        rows: list[tuple[str, Any]] = [
            ("engine", self.engine_),
            ("training window", f"{a:%Y-%m-%d} .. {b:%Y-%m-%d}"),
            (self.labelled_item, self.n_closed_),
            (self.rows_item, self.n_rows_),
            ("base win rate", round(self.base_rate_, 4)),
            ("horizon (days)", self.horizon_days_),
            ("features", len(self.features_)),
            ("calibration", self.calibrator_.method),
        ]
        if self.calibration_window_ is not None:
            ca, cb = self.calibration_window_
            rows.append(
                (
                    "calibration slice",
                    f"{ca:%Y-%m-%d} .. {cb:%Y-%m-%d} ({self.n_calibration_rows_:,} rows)",
                )
            )
        rows += [
            ("bands (score)", describe_bands(self.bands, lang)),
            ("salesml version", self.salesml_version_),
            ("data fingerprint", self.data_fingerprint_ or ""),
        ]
        rows += [("note", n.text(lang)) for n in self.card_notes()]
        frame = pd.DataFrame(rows, columns=["item", "value"])
        return frame.astype({"item": "str", "value": "str"})

    def _repr_html_(self) -> str:
        name = html.escape(type(self).__name__)
        if not hasattr(self, "engine_"):
            return f"<b>{name}</b> (not fitted)"
        return (
            f"<div><b>{name}</b> · calibrated probability · {html.escape(self.engine_)}"
            f"{self.summary().to_html(index=False)}</div>"
        )

    def __repr__(self) -> str:
        if not hasattr(self, "engine_"):
            return f"{type(self).__name__}(not fitted)"
        return f"{type(self).__name__}(engine={self.engine_!r}, labelled={self.n_closed_})"

    # ------------------------------------------------------------------ saving
    def to_dict(self) -> dict[str, Any]:
        """Everything but the engine's own files, JSON-ready (see :meth:`save`)."""
        self._check_fitted()
        settings = self.get_params()
        settings["bands"] = list(settings["bands"])
        if settings.get("features") is not None:
            settings["features"] = list(settings["features"])
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "settings": settings,
            "engine": self.engine_model_.to_dict(),
            "encoder": self.encoder_.to_dict(),
            "calibrator": self.calibrator_.to_dict(),
            "derived": self.derived_,
            "derived_columns": list(self.derived_columns_),
            "features": list(self.features_),
            "training_window": [_ts(x) for x in self.training_window_],
            "calibration_window": (
                None
                if self.calibration_window_ is None
                else [_ts(x) for x in self.calibration_window_]
            ),
            "n_closed": self.n_closed_,
            "n_rows": self.n_rows_,
            "n_wanted": self.n_wanted_,
            "n_train_rows": self.n_train_rows_,
            "n_calibration_rows": self.n_calibration_rows_,
            "base_rate": self.base_rate_,
            "horizon_days": self.horizon_days_,
            "currency": self.currency_,
            "salesml_version": self.salesml_version_,
            "data_fingerprint": self.data_fingerprint_,
            "split": self.split_,
            "leaks": [[w.feature, w.auc] for w in self.leaks_],
            "unavailable": dict(self.unavailable_),
            "notes": [[n.key, [list(v) for v in n.values]] for n in self.notes_],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], files: Mapping[str, str]) -> ScoringModel:
        """Rebuild a fitted model from :meth:`to_dict` and the engine's files."""
        if d.get("kind") != cls.kind:
            raise ValueError(f"the saved model is a {d.get('kind')!r}, not a {cls.kind!r}")
        if d.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"the saved model has format version {d.get('format_version')}; this salesml "
                f"reads version {FORMAT_VERSION} (refit and save the model again)"
            )
        settings = dict(d["settings"])
        settings["bands"] = tuple(settings["bands"])
        model = cls(**settings)
        model.engine_model_ = engine_from_dict(d["engine"], files)
        model.engine_ = model.engine_model_.name
        model.encoder_ = FeatureEncoder.from_dict(d["encoder"])
        model.calibrator_ = Calibrator.from_dict(d["calibrator"])
        model.derived_ = dict(d["derived"])
        model.derived_columns_ = list(d["derived_columns"])
        model.features_ = list(d["features"])
        model.training_window_ = tuple(pd.Timestamp(x) for x in d["training_window"])  # type: ignore[assignment]
        cw = d["calibration_window"]
        model.calibration_window_ = None if cw is None else tuple(pd.Timestamp(x) for x in cw)  # type: ignore[assignment]
        model.n_closed_ = int(d["n_closed"])
        model.n_rows_ = int(d["n_rows"])
        model.n_wanted_ = int(d["n_wanted"])
        model.n_train_rows_ = int(d["n_train_rows"])
        model.n_calibration_rows_ = int(d["n_calibration_rows"])
        model.base_rate_ = float(d["base_rate"])
        model.horizon_days_ = d["horizon_days"]
        model.currency_ = str(d["currency"])
        model.salesml_version_ = str(d["salesml_version"])
        model.data_fingerprint_ = d["data_fingerprint"]
        model.split_ = str(d["split"])
        model.leaks_ = [LeakWarning(str(f), float(a)) for f, a in d["leaks"]]
        model.unavailable_ = {str(k): str(v) for k, v in d["unavailable"].items()}
        model.notes_ = [Note(str(k), tuple((str(a), b) for a, b in v)) for k, v in d["notes"]]
        return model

    def save(self, path: str | Path) -> Path:
        """Save to a folder: ``model.json`` plus the engine's text files (no pickle)."""
        self._check_fitted()
        return persistence.write_model(path, self.to_dict(), self.engine_model_.files())

    @classmethod
    def load(cls, path: str | Path) -> ScoringModel:
        """Load a model saved with :meth:`save`."""
        meta, files = persistence.read_model(path)
        return cls.from_dict(meta, files)
