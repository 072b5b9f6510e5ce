"""Is the model worth its scores? Leak guard, unavailable features, the verdict against baselines.

- :func:`leak_check`: a feature that alone separates wins from losses on the training
  rows (AUC >= 0.95) was almost certainly recorded at or after the outcome (a realised
  amount that is 0 for lost deals, a status tag); a model trained on it scores open
  rows on information they do not have yet.
- :func:`judge`: the held-out comparison with the baselines, as a :class:`Verdict`.
  A model that does not rank better than a baseline (beyond the noise of the AUC) is
  replaced by that baseline for scoring; one that ranks better but whose calibration
  error is worse than every baseline's is kept, and the card says so first. Each
  verdict names its likely causes (too few features, too few closed outcomes, too few
  calibration rows, drift between training and held-out time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from salesml.i18n import label, t
from salesml.results import Note
from salesml.scoring.metrics import auc_standard_error, single_feature_auc

__all__ = [
    "LEAK_AUC",
    "FitFacts",
    "LabelledNote",
    "LeakWarning",
    "Verdict",
    "judge",
    "leak_check",
]

#: Single-feature AUC from which a feature is taken for a leak.
LEAK_AUC = 0.95
#: Causes a verdict may name; catalog ``scoring.cause.<code>``.
CAUSES: tuple[str, ...] = ("few_features", "few_closed", "few_calibration_rows", "drift")

VerdictStatus = Literal["ok", "calibration_worse", "use_baseline", "not_checked"]


@dataclass(frozen=True)
class LabelledNote(Note):
    """A :class:`~salesml.results.Note` some of whose values are data codes (a feature,
    a baseline), shown by their catalog label in the reader's language; a tuple of
    codes is shown as a list ("Plan revisions, Terms revisions")."""

    labelled: tuple[str, ...] = ()

    def text(self, lang: str = "en") -> str:
        """The caveat in ``lang``."""
        values = dict(self.values)
        for k in self.labelled:
            if k not in values:
                continue
            v = values[k]
            if isinstance(v, tuple | list):
                values[k] = t("scoring.list_separator", lang).join(label(x, lang) for x in v)
            else:
                values[k] = label(v, lang)
        return t(self.key, lang, **values)


@dataclass(frozen=True)
class LeakWarning:
    """A feature that alone separates wins from losses on the training rows."""

    feature: str
    auc: float

    def note(self, *, dropped: bool = True) -> Note:
        """The warning as a catalog-backed caveat (``dropped``: left out of the model)."""
        return LabelledNote(
            f"scoring.leak.{'dropped' if dropped else 'kept'}",
            (("feature", self.feature), ("auc", f"{self.auc:.2f}")),
            labelled=("feature",),
        )


def leak_check(
    train: pd.DataFrame,
    features: Sequence[str],
    y: np.ndarray,
    *,
    threshold: float = LEAK_AUC,
    max_rows: int = 200_000,
    random_state: int = 0,
) -> list[LeakWarning]:
    """Features whose values alone reach AUC >= ``threshold`` against labels ``y``.

    At most ``max_rows`` training rows are used (a random sample beyond), so the
    check stays cheap on large data. Strongest first.
    """
    y = np.asarray(y, dtype="float64")
    if len(train) > max_rows:
        rng = np.random.default_rng(random_state)
        at = np.sort(rng.choice(len(train), size=max_rows, replace=False))
        train, y = train.iloc[at], y[at]
    out = []
    for f in features:
        if f not in train.columns:
            continue
        auc = single_feature_auc(train[f], y)
        if math.isfinite(auc) and auc >= threshold:
            out.append(LeakWarning(f, auc))
    return sorted(out, key=lambda w: -w.auc)


@dataclass(frozen=True)
class FitFacts:
    """What the verdict's causes are judged from (the scoring model's fit)."""

    n_features: int
    n_features_wanted: int
    n_closed: int
    n_calibration_rows: int
    train_rate: float


@dataclass(frozen=True)
class Verdict:
    """The held-out comparison of a model with its baselines.

    Attributes
    ----------
    status
        ``ok`` (the model ranks better than every baseline and is not the worst
        calibrated), ``calibration_worse`` (ranks better, but its calibration error is
        worse than every baseline's: probabilities less trustworthy than the ranking),
        ``use_baseline`` (a baseline ranks as well or better: scores come from it), or
        ``not_checked`` (no backtest).
    baseline
        The baseline compared against (the one used for scoring under ``use_baseline``).
    model_auc, model_ece, baseline_auc, baseline_ece
        The pooled held-out figures behind the verdict.
    causes
        Likely causes (codes of :data:`CAUSES`) when the status is not ``ok``.
    """

    status: VerdictStatus
    baseline: str | None = None
    model_auc: float = float("nan")
    model_ece: float = float("nan")
    baseline_auc: float = float("nan")
    baseline_ece: float = float("nan")
    causes: tuple[str, ...] = ()
    values: Mapping[str, object] = field(default_factory=dict)

    @property
    def reliable(self) -> bool:
        """Whether the model's probabilities can be read at face value."""
        return self.status == "ok"

    def notes(self) -> list[Note]:
        """The verdict (and its causes) as caveats, most important first."""
        if self.status in ("ok", "not_checked"):
            return [Note(f"scoring.verdict.{self.status}")]
        vals = (
            ("baseline", self.baseline or ""),
            ("model_auc", f"{self.model_auc:.3f}"),
            ("model_ece", f"{self.model_ece:.3f}"),
            ("baseline_auc", f"{self.baseline_auc:.3f}"),
            ("baseline_ece", f"{self.baseline_ece:.3f}"),
        )
        out: list[Note] = [
            LabelledNote(f"scoring.verdict.{self.status}", vals, labelled=("baseline",))
        ]
        for c in self.causes:
            out.append(Note(f"scoring.cause.{c}", tuple(self.values.items())))
        if not self.causes:
            out.append(Note("scoring.cause.unknown"))
        return out


def _causes(
    facts: FitFacts | None, test_rate: float, status: str
) -> tuple[tuple[str, ...], dict[str, object]]:
    if facts is None:
        return (), {}
    causes = []
    if facts.n_features < 8 or facts.n_features < facts.n_features_wanted / 2:
        causes.append("few_features")
    if facts.n_closed < 500:
        causes.append("few_closed")
    if status == "calibration_worse" and facts.n_calibration_rows < 1000:
        causes.append("few_calibration_rows")
    if math.isfinite(test_rate) and abs(test_rate - facts.train_rate) > 0.10:
        causes.append("drift")
    values: dict[str, object] = {
        "n_features": facts.n_features,
        "n_wanted": facts.n_features_wanted,
        "n_closed": f"{facts.n_closed:,}",
        "n_calibration": f"{facts.n_calibration_rows:,}",
        "train_rate": f"{facts.train_rate:.0%}",
        "test_rate": f"{test_rate:.0%}" if math.isfinite(test_rate) else "?",
    }
    return tuple(causes), values


def judge(
    metrics: pd.DataFrame | None,
    *,
    model: str = "model",
    test_rate: float = float("nan"),
    facts: FitFacts | None = None,
) -> Verdict:
    """The verdict of a pooled backtest table (``model``, ``auc``, ``ece``, ``n`` rows).

    A baseline "ranks as well" when the model's AUC exceeds it by no more than twice
    the AUC's standard error (Hanley-McNeil, from ``n`` and ``test_rate``), at least
    0.01: an edge within the noise is no edge.
    """
    if metrics is None or not len(metrics) or model not in set(metrics["model"]):
        return Verdict("not_checked")
    m = metrics.set_index("model")
    mine = m.loc[model]
    others = m.drop(index=model)
    if not len(others) or not math.isfinite(float(mine["auc"])):
        return Verdict("not_checked")
    n = float(mine.get("n", float("nan")))
    if math.isfinite(n) and math.isfinite(test_rate):
        n_pos = round(n * test_rate)
        se = auc_standard_error(float(mine["auc"]), n_pos, round(n) - n_pos)
    else:
        se = float("nan")
    margin = max(0.01, 2 * se) if math.isfinite(se) else 0.01
    as_good = others.loc[others["auc"] >= float(mine["auc"]) - margin]
    if len(as_good):
        best = as_good.sort_values(["auc", "ece"], ascending=[False, True]).index[0]
        status: VerdictStatus = "use_baseline"
    elif (others["ece"] < float(mine["ece"])).all():
        best = others["ece"].idxmin()
        status = "calibration_worse"
    else:
        return Verdict(
            "ok",
            baseline=str(others["auc"].idxmax()),
            model_auc=float(mine["auc"]),
            model_ece=float(mine["ece"]),
            baseline_auc=float(others["auc"].max()),
            baseline_ece=float(others.loc[others["auc"].idxmax(), "ece"]),
        )
    causes, values = _causes(facts, test_rate, status)
    return Verdict(
        status,
        baseline=str(best),
        model_auc=float(mine["auc"]),
        model_ece=float(mine["ece"]),
        baseline_auc=float(others.loc[best, "auc"]),
        baseline_ece=float(others.loc[best, "ece"]),
        causes=causes,
        values=values,
    )
