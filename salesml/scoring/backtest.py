"""Rolling-origin backtest of a scoring model against baselines, without leakage.

At each origin ``o`` the model and every baseline are fit only on snapshots taken
before ``o`` whose label was already known at ``o`` (closed by then, or horizon
over), and scored on the rows open at ``o`` whose label the later data tells. The
result pools every origin, keeps the per-origin figures and reliability tables, and
judges the model (:meth:`BacktestResult.verdict`).

Generic over what is scored: the caller passes the snapshots (from its own
leak-free builder), a model factory and a baseline factory.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from salesml.i18n import check_lang, t
from salesml.results import AnalysisResult
from salesml.scoring.baselines import Baseline
from salesml.scoring.diagnostics import FitFacts, Verdict, judge
from salesml.scoring.errors import InsufficientDataError
from salesml.scoring.metrics import calibration_table, classification_metrics
from salesml.scoring.model import ScoringModel

__all__ = ["BacktestResult", "rolling_origin"]

#: Name of the model's rows in the metrics tables.
MODEL = "model"


@dataclass(kw_only=True)
class BacktestResult(AnalysisResult):
    """Outcome of a rolling-origin backtest.

    Attributes
    ----------
    table
        Pooled over every origin: one row per predictor (``model`` and each baseline)
        with ``model``, ``auc``, ``brier``, ``log_loss``, ``ece``, ``n``.
    by_origin
        The same per origin (column ``origin``).
    calibration
        Reliability tables per predictor (``model``, ``bin``, ``mean_pred``,
        ``observed``, ``n``).
    predictions
        One row per scored snapshot: ``origin``, the id column, the kept columns,
        ``label``, ``engine`` and one ``p_<predictor>`` column per predictor.
    skipped
        Origins that could not be scored, with the reason.
    settings
        The call's settings (origins, horizon, snapshot frequency).
    reference
        The baseline :attr:`auc_lift` is measured against.
    """

    title_key: ClassVar[str] = "scoring.backtest.title"

    by_origin: pd.DataFrame
    calibration: pd.DataFrame
    predictions: pd.DataFrame
    skipped: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    reference: str = ""

    @property
    def metrics(self) -> pd.DataFrame:
        """The pooled metrics (:attr:`table`)."""
        return self.table

    @property
    def auc_lift(self) -> float:
        """Pooled AUC of the model minus that of the reference baseline."""
        m = self.table.set_index("model")["auc"]
        ref = self.reference or next(i for i in m.index if i != MODEL)
        return float(m[MODEL] - m[ref])

    @property
    def test_rate(self) -> float:
        """Share of positive labels among the scored rows."""
        return float(self.predictions["label"].mean()) if len(self.predictions) else float("nan")

    def verdict(self, facts: FitFacts | None = None) -> Verdict:
        """The model against its baselines (see :func:`salesml.scoring.diagnostics.judge`)."""
        return judge(self.table, test_rate=self.test_rate, facts=facts)

    def key_findings(self, lang: str = "en") -> list[str]:
        """The verdict, then the AUC lift over the reference baseline."""
        lang = check_lang(lang)
        out = [n.text(lang) for n in self.verdict().notes()]
        out.append(t("scoring.backtest.lift", lang, lift=f"{self.auc_lift:+.3f}"))
        return out + [n.text(lang) for n in self.notes]

    def _repr_html_(self) -> str:
        s = self.settings
        head = html.escape(
            t(
                "scoring.backtest.head",
                "en",
                start=str(s.get("start")),
                end=str(s.get("end")),
                freq=str(s.get("freq")),
                horizon=str(s.get("horizon_days")),
                lift=f"{self.auc_lift:+.3f}",
            )
        )
        skipped = ""
        if len(self.skipped):
            skipped = f"<br><small>skipped origins:</small>{self.skipped.to_html(index=False)}"
        findings = "".join(f"<li>{html.escape(x)}</li>" for x in self.key_findings("en"))
        return (
            f"<div><b>{html.escape(self.title('en'))}</b> · {head}<ul>{findings}</ul>"
            f"{self.table.round(4).to_html(index=False)}{skipped}</div>"
        )


def rolling_origin(
    snapshots: pd.DataFrame,
    *,
    origins: Sequence[pd.Timestamp],
    make_model: Callable[[], ScoringModel],
    make_baselines: Callable[[], Mapping[str, Baseline]],
    keep: Sequence[str] = (),
    evaluate: Callable[[pd.DataFrame], np.ndarray] | None = None,
    known_column: str = "label_known_at",
    reference: str = "",
    settings: Mapping[str, Any] | None = None,
) -> BacktestResult:
    """Backtest ``make_model()`` and ``make_baselines()`` at each origin.

    Parameters
    ----------
    snapshots
        Labelled as-of snapshots with the model's id, time and label columns and
        ``known_column`` (when each label became known).
    origins
        Origin instants (each needs snapshots taken at it).
    make_model, make_baselines
        Fresh, unfitted predictors for each origin.
    keep
        Snapshot columns copied into :attr:`BacktestResult.predictions`.
    evaluate
        Optional row mask of the held-out rows to score (a region, say); training
        always uses every row.
    reference
        The baseline :attr:`BacktestResult.auc_lift` compares with (default: the first).
    settings
        Recorded on the result.

    Raises
    ------
    InsufficientDataError
        When no origin could be scored (each origin's reason is given).
    """
    probe = make_model()
    idc, tc, lc = probe.id_column, probe.time_column, probe.label_column
    preds, rows, skipped = [], [], []
    names: list[str] = [MODEL]
    have = set(pd.DatetimeIndex(snapshots[tc].unique()))
    for o in origins:
        o = pd.Timestamp(o)
        if o not in have:
            skipped.append({"origin": o, "reason": "no snapshot at this origin (nothing open?)"})
            continue
        train = snapshots.loc[
            (snapshots[tc] < o) & snapshots[lc].notna() & (snapshots[known_column] <= o)
        ]
        test = snapshots.loc[(snapshots[tc] == o) & snapshots[lc].notna()]
        if evaluate is not None and len(test):
            test = test.loc[np.asarray(evaluate(test), dtype=bool)]
        if not len(test):
            skipped.append({"origin": o, "reason": "nothing open at the origin has a known label"})
            continue
        try:
            model = make_model().fit(train)
        except InsufficientDataError as e:
            skipped.append({"origin": o, "reason": str(e)})
            continue
        y = test[lc].to_numpy(dtype="float64")
        p = {MODEL: model.predict_proba(test).to_numpy()}
        for name, b in make_baselines().items():
            p[name] = b.fit(train).predict(test)
        names = list(p)
        preds.append(
            pd.DataFrame(
                {
                    "origin": o,
                    idc: test[idc].to_numpy(),
                    **{k: test[k].to_numpy() for k in keep if k in test},
                    "label": y,
                    "engine": model.engine_,
                    **{f"p_{k}": v for k, v in p.items()},
                }
            )
        )
        for k, v in p.items():
            rows.append({"origin": o, "model": k, **classification_metrics(y, v)})
    if not preds:
        raise InsufficientDataError(
            "no origin could be backtested: "
            + "; ".join(f"{s['origin']:%Y-%m-%d}: {s['reason']}" for s in skipped)
        )
    predictions = pd.concat(preds, ignore_index=True)
    y_all = predictions["label"].to_numpy()
    metrics = pd.DataFrame(
        [{"model": k, **classification_metrics(y_all, predictions[f"p_{k}"])} for k in names]
    )
    calib = pd.concat(
        [calibration_table(y_all, predictions[f"p_{k}"].to_numpy()).assign(model=k) for k in names],
        ignore_index=True,
    )[["model", "bin", "mean_pred", "observed", "n"]]
    return BacktestResult(
        table=metrics,
        by_origin=pd.DataFrame(rows),
        calibration=calib,
        predictions=predictions,
        skipped=pd.DataFrame(skipped, columns=["origin", "reason"]),
        settings=dict(settings or {}),
        reference=reference or (names[1] if len(names) > 1 else ""),
    )
