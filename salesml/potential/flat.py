"""Flat lead exports: one table, a converted flag, many answers, often no dates.

Marketing-automation tools export leads as one row each with the form's answers and
a converted flag. Without dates there is no time to backtest on, so
:func:`flat_potential` fits the scoring layer's model with stratified k-fold
cross-validation instead (every lead scored by a model that never saw it) and says so
on the card. Before fitting, every column is screened by how well it alone predicts
the flag (:func:`salesml.scoring.single_feature_auc`): a column that separates
converted from not converted almost perfectly (AUC >= 0.95) was almost certainly
written after the outcome (sales notes, a status tag) and is left out; one above
``suspicious`` is named so the user can check it before trusting the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.i18n import check_lang, t
from salesml.results import AnalysisResult, Note
from salesml.scoring.baselines import GroupRateBaseline
from salesml.scoring.diagnostics import LEAK_AUC, LabelledNote
from salesml.scoring.errors import InsufficientDataError
from salesml.scoring.explain import Phrasing
from salesml.scoring.metrics import classification_metrics, single_feature_auc
from salesml.scoring.model import ScoringModel

__all__ = ["FlatPotential", "flat_potential", "screen_columns"]

#: Columns of the leads table that are never answers (ids, dates, outcome fields).
_NOT_ANSWERS = frozenset(
    {
        "lead_id",
        "customer_id",
        "campaign_id",
        "created_at",
        "first_response_at",
        "status",
        "lost_reason",
        "converted_at",
        "lost_at",
    }
)
#: Most answer columns screened and modelled (a wider export is refused, not truncated).
MAX_COLUMNS = 300


def _as_numbers(s: pd.Series) -> pd.Series | None:
    """``s`` as numbers when at least 95% of its non-empty cells are numbers."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    text = s.astype("str").str.strip()
    filled = s.notna() & (text != "")
    if not filled.any():
        return None
    num = pd.to_numeric(text.where(filled), errors="coerce")
    return num.astype("float64") if num[filled].notna().mean() >= 0.95 else None


def screen_columns(
    frame: pd.DataFrame, y: np.ndarray, columns: Sequence[str], *, suspicious: float = 0.85
) -> pd.DataFrame:
    """Each column's power alone: ``column``, ``kind`` (numeric / text), ``auc``,
    ``levels``, ``missing_share``, ``flag`` (``leak`` at AUC >= 0.95, ``suspicious``
    at ``suspicious`` or more, else empty); strongest first."""
    rows = []
    for c in columns:
        s = frame[c]
        auc = single_feature_auc(s, y)
        rows.append(
            {
                "column": c,
                "kind": "numeric" if pd.api.types.is_numeric_dtype(s) else "text",
                "auc": auc,
                "levels": int(s.nunique(dropna=True)),
                "missing_share": float(s.isna().mean()),
                "flag": "leak" if auc >= LEAK_AUC else ("suspicious" if auc >= suspicious else ""),
            }
        )
    out = pd.DataFrame(rows, columns=["column", "kind", "auc", "levels", "missing_share", "flag"])
    return out.sort_values("auc", ascending=False, kind="stable").reset_index(drop=True)


def _model_class(numeric: Sequence[str], text: Sequence[str], id_column: str) -> type[ScoringModel]:
    """A scoring configuration over this export's columns."""
    attrs: dict[str, Any] = {
        "kind": "salesml.potential.FlatLeadModel",
        "id_column": id_column,
        "score_column": "potential_score",
        "numeric_features": tuple(numeric),
        "categorical_features": tuple(text),
        "default_features": (*numeric, *text),
        "small_data_features": tuple(numeric),
        "keep_columns": (id_column,),
        "builder_hint": "Score rows of the same export (the same columns)",
        "labelled_item": "labelled leads",
        "phrasing": Phrasing(prefix="potential.flat.reason"),
    }
    return type("FlatLeadModel", (ScoringModel,), attrs)


@dataclass(kw_only=True)
class FlatPotential(AnalysisResult):
    """A flat lead export scored with cross-validation.

    Attributes
    ----------
    table
        One row per lead: the id, ``label`` (1 converted), ``p_cv`` (out-of-fold
        probability: from a model that did not see the lead), ``potential_score``
        (0-100 of ``p_cv``).
    columns
        :func:`screen_columns` of every answer column, with ``used`` (in the model).
    metrics
        Cross-validated ``auc``, ``brier``, ``log_loss``, ``ece`` of ``model`` and the
        baselines (``overall_rate``; ``channel_baseline`` when a channel column exists).
    model
        The model refit on every lead (for new leads of the same export).
    folds
        Number of folds.
    """

    title_key: ClassVar[str] = "potential.flat.title"

    columns: pd.DataFrame
    metrics: pd.DataFrame
    model: ScoringModel
    folds: int = 5
    card_notes: list[Note] = field(default_factory=list)

    def key_findings(self, lang: str = "en") -> list[str]:
        """How it was validated, the columns to check, the comparison with the baselines."""
        lang = check_lang(lang)
        m = self.metrics.set_index("model")["auc"]
        ref = "channel_baseline" if "channel_baseline" in m.index else "overall_rate"
        out = [t("potential.flat.cv", lang, folds=self.folds)]
        out += [n.text(lang) for n in self.card_notes]
        out.append(
            t(
                "potential.flat.auc",
                lang,
                auc=f"{m['model']:.3f}",
                baseline=f"{m[ref]:.3f}",
            )
        )
        return out + [n.text(lang) for n in self.notes]


def flat_potential(
    data: SalesData | pd.DataFrame,
    *,
    id_column: str = "lead_id",
    label_column: str = "status",
    positive: Sequence[str] = ("converted",),
    columns: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    folds: int = 5,
    suspicious: float = 0.85,
    leak_guard: str = "drop",
    random_state: int = 0,
) -> FlatPotential:
    """Score a flat lead export (no time to backtest on) with cross-validation.

    Parameters
    ----------
    data
        A dataset (its ``leads`` table, imported through a mapping) or the table itself.
    id_column, label_column, positive
        The lead id, the outcome column and the values of it that mean converted
        (every other value, empty included, means not converted).
    columns
        Answer columns to use (default: every column but ids, dates and outcome fields).
    drop
        Columns to leave out (say, after reading the screen).
    folds
        Cross-validation folds (2-20).
    suspicious
        Single-column AUC from which a column is named for checking.
    leak_guard
        ``"drop"``: columns at AUC >= 0.95 are left out of the model (and named);
        ``"keep"``: they stay in (and are named).

    Raises
    ------
    ValueError
        Without a leads table or with a missing column (named), with too many columns.
    InsufficientDataError
        Only one outcome, or fewer than 60 leads.
    """
    if isinstance(data, SalesData):
        if not data.has("leads"):
            raise ValueError(
                "flat lead scoring needs a leads table; the dataset has none (map the "
                "export's lead file onto leads)"
            )
        frame = data.leads
    else:
        frame = data
    for c in (id_column, label_column):
        if c not in frame:
            raise ValueError(f"the lead table has no {c!r} column")
    if not 2 <= folds <= 20:
        raise ValueError(f"folds must be between 2 and 20, got {folds}")
    if leak_guard not in ("drop", "keep"):
        raise ValueError(f"leak_guard must be 'drop' or 'keep', got {leak_guard!r}")
    unknown = [c for c in [*(columns or []), *drop] if c not in frame]
    if unknown:
        raise ValueError(f"the lead table has no column(s) {', '.join(map(repr, unknown))}")
    y = frame[label_column].astype("str").isin(list(positive)).to_numpy(dtype="float64")
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        which = "converted" if n_pos else "not converted"
        raise InsufficientDataError(
            f"every one of the {len(y):,} leads is {which} ({label_column!r} values "
            f"{sorted(frame[label_column].astype('str').unique())[:5]}); a score needs both. "
            "Check the mapping of the converted flag."
        )
    skip = _NOT_ANSWERS | {id_column, label_column} | set(drop)
    answers = list(columns) if columns is not None else [c for c in frame.columns if c not in skip]
    if len(answers) > MAX_COLUMNS:
        raise ValueError(f"{len(answers):,} answer columns; at most {MAX_COLUMNS} are screened")
    work = pd.DataFrame({id_column: frame[id_column].astype("str").to_numpy()})
    numeric, text = [], []
    for c in answers:
        s = frame[c].reset_index(drop=True)
        if s.isna().all() or (s.astype("str").str.strip() == "").all():
            continue
        num = _as_numbers(s)
        if num is not None:
            work[c] = num.to_numpy()
            numeric.append(c)
        else:
            work[c] = s.astype("str").str.strip().replace("", pd.NA).to_numpy()
            text.append(c)
    screen = screen_columns(work, y, [*numeric, *text], suspicious=suspicious)
    notes: list[Note] = []
    for _, r in screen.loc[screen["flag"] == "suspicious"].iterrows():
        notes.append(
            LabelledNote(
                "potential.flat.suspicious",
                (("column", r["column"]), ("auc", f"{r['auc']:.2f}")),
            )
        )
    work["as_of"] = pd.Timestamp("2000-01-01")  # no dates: one instant for every row
    work["label"] = y
    work["label_known_at"] = work["as_of"]
    cls = _model_class(numeric, text, id_column)
    from sklearn.model_selection import StratifiedKFold

    oof = np.full(len(work), np.nan)
    base = np.full(len(work), np.nan)
    channel = np.full(len(work), np.nan)
    has_channel = "channel" in text
    kf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    for train_at, test_at in kf.split(work, y):
        tr, te = work.iloc[train_at], work.iloc[test_at]
        m = cls(min_labelled=60, min_closed=300, leak_guard=leak_guard, random_state=random_state)
        oof[test_at] = m.fit(tr).predict_proba(te).to_numpy()
        base[test_at] = float(y[train_at].mean())
        if has_channel:
            channel[test_at] = GroupRateBaseline("channel").fit(tr).predict(te)
    rows = [{"model": "model", **classification_metrics(y, oof)}]
    rows.append({"model": "overall_rate", **classification_metrics(y, base)})
    if has_channel:
        rows.append({"model": "channel_baseline", **classification_metrics(y, channel)})
    final = cls(min_labelled=60, min_closed=300, leak_guard=leak_guard, random_state=random_state)
    final.fit(work)
    used = set(final.features_)
    screen["used"] = screen["column"].isin(used)
    card = [n for n in final.card_notes() if n.key != "scoring.note.one_date"]
    table = pd.DataFrame(
        {
            id_column: work[id_column],
            "label": y,
            "p_cv": oof,
            "potential_score": np.round(100 * oof, 1),
        }
    )
    return FlatPotential(
        table=table,
        columns=screen,
        metrics=pd.DataFrame(rows),
        model=final,
        folds=folds,
        card_notes=card,
        notes=notes,
    )
