"""The model card: what a fitted scoring model is, how far to trust it, and why.

:meth:`ModelCard.key_findings` puts first what a reader must know before reading a
score: the verdict against the baselines when the model does not beat them (or is
worse calibrated than all of them), features that leak the outcome, features that
could not be computed and why. :meth:`ModelCard.rows` is the card as a table for
people (values in the reader's language, the verdict on top).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from salesml.i18n import check_lang, t
from salesml.results import AnalysisResult
from salesml.scoring.backtest import BacktestResult
from salesml.scoring.bands import describe_bands
from salesml.scoring.diagnostics import Verdict
from salesml.scoring.model import ScoringModel

__all__ = ["ModelCard", "model_card"]


@dataclass(kw_only=True)
class ModelCard(AnalysisResult):
    """A fitted model's card.

    Attributes
    ----------
    table
        ``item``, ``value``: :meth:`ScoringModel.summary` (language-neutral values).
    model
        The model described.
    backtest
        Its backtest against the baselines, if one was run.
    verdict
        The backtest's verdict (``not_checked`` without one).
    """

    title_key: ClassVar[str] = "scoring.card.title"

    model: ScoringModel
    backtest: BacktestResult | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict("not_checked"))

    def key_findings(self, lang: str = "en") -> list[str]:
        """Verdict first (when it is not plainly good), then leaks, unusable features, notes."""
        lang = check_lang(lang)
        out = []
        if self.verdict.status not in ("ok",):
            out += [n.text(lang) for n in self.verdict.notes()]
        out += [n.text(lang) for n in self.model.card_notes()]
        return out + [n.text(lang) for n in self.notes]

    def rows(self, lang: str = "en") -> pd.DataFrame:
        """The card for people: ``item`` (catalog codes), ``value`` in ``lang``.

        The verdict comes first; counts carry thousands separators, the base rate is a
        percentage, engine and calibration are named, the band rule is in words.
        """
        lang = check_lang(lang)
        m = self.model
        shown: dict[str, str] = {
            "engine": t(f"scoring.method.{m.engine_}", lang),
            m.labelled_item: f"{m.n_closed_:,}",
            m.rows_item: f"{m.n_rows_:,}",
            "base win rate": f"{m.base_rate_:.1%}",
            "calibration": t(f"scoring.method.{m.calibrator_.method}", lang),
            "bands (score)": describe_bands(m.bands, lang),
        }
        if m.calibration_window_ is not None:
            a, b = m.calibration_window_
            shown["calibration slice"] = t(
                "scoring.card.calibration_slice",
                lang,
                start=f"{a:%Y-%m-%d}",
                end=f"{b:%Y-%m-%d}",
                rows=f"{m.n_calibration_rows_:,}",
            )
        card = m.summary(lang=lang)
        card = card.assign(
            value=[shown.get(i, v) for i, v in zip(card["item"], card["value"], strict=True)]
        )
        top = [("verdict", n.text(lang)) for n in self.verdict.notes()]
        head = pd.DataFrame(top, columns=["item", "value"], dtype="str")
        return pd.concat([head, card], ignore_index=True)


def model_card(
    model: ScoringModel,
    *,
    backtest: BacktestResult | None = None,
    as_of: pd.Timestamp | None = None,
) -> ModelCard:
    """The card of a fitted ``model``, judged by ``backtest`` when given."""
    verdict = backtest.verdict(model.facts()) if backtest is not None else Verdict("not_checked")
    return ModelCard(
        table=model.summary(),
        model=model,
        backtest=backtest,
        verdict=verdict,
        as_of=as_of,
    )
