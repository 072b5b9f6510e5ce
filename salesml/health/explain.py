"""How deal-health reasons read: the deal words on top of :mod:`salesml.scoring.explain`.

Reason ``r`` reads the catalog entry ``health.reason.<r>`` (``health.reason.<r>.one``
when the count it quotes is 1), filled from the deal's snapshot values and these
derived columns:

- ``stage_label``, ``channel_label``, ``segment_label``, ``product_line_label``,
  ``region_label``: display names in the reader's language;
- ``amount_text``: the amount in the dataset's currency (``$12,000``, ``¥12,000``);
- ``quote_unanswered_days``, ``quote_wait_days``: the waits in days.

A reason whose value is missing reads ``health.missing.<r>`` ("no visit yet").
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from salesml.scoring.explain import CUSTOMER_CONTEXT, Phrasing, labelled_columns, money_texts
from salesml.scoring.model import ScoringModel

__all__ = ["CONTEXT_REASONS", "HEALTH_PHRASING", "explain_deals", "phrase_columns"]

#: Reasons that describe the deal's setting rather than how it is being worked:
#: its stage and age, size, owner and customer profile. ``scope="actionable"``
#: leaves them out so the list shows what the team can change.
CONTEXT_REASONS: frozenset[str] = frozenset(
    {
        "stage_index",
        "age_days",
        "days_in_stage",
        "log_amount",
        "rep_win_rate",
        "rep_closed_deals",
        "rep_activity_quality",
        "visit_quality_mean",
        "customer_prior_wins",
        "product_line",
    }
    | CUSTOMER_CONTEXT
)

#: Value columns whose display names the phrases quote (as ``<column>_label``).
_LABELLED = ("stage", "channel", "segment", "product_line", "region")


def phrase_columns(frame: pd.DataFrame, lang: str, currency: str) -> pd.DataFrame:
    """``frame`` plus the derived columns the health phrases quote (see the module docstring)."""
    extra = labelled_columns(frame, _LABELLED, lang)
    if "amount" in frame.columns:
        extra["amount_text"] = money_texts(frame["amount"], currency)
    for src, dst in (
        ("quote_unanswered_hours", "quote_unanswered_days"),
        ("quote_wait_hours_max", "quote_wait_days"),
    ):
        if src in frame.columns:
            extra[dst] = pd.to_numeric(frame[src], errors="coerce") / 24
    return frame.assign(**extra) if extra else frame


#: The deal-health wording of reasons.
HEALTH_PHRASING = Phrasing(
    prefix="health.reason",
    missing_prefix="health.missing",
    context=CONTEXT_REASONS,
    main_columns={"log_amount": "amount", "stage_index": "stage"},
    prepare=phrase_columns,
)


def explain_deals(
    model: ScoringModel,
    snapshots: pd.DataFrame,
    *,
    top: int = 5,
    lang: str = "en",
    scope: Literal["all", "actionable"] = "all",
    order: Literal["strength", "hurts_first"] = "strength",
    currency: str | None = None,
) -> pd.DataFrame:
    """Top reasons behind each deal's score, signed and ranked.

    Parameters
    ----------
    model
        A fitted :class:`~salesml.health.model.DealHealthModel`.
    snapshots
        Snapshots to explain (for example today's open deals).
    top
        Reasons kept per deal, the strongest by absolute contribution.
    lang
        ``en`` or ``zh``.
    scope
        ``"all"`` ranks every reason; ``"actionable"`` leaves out the context reasons
        in :data:`CONTEXT_REASONS` (stage, age, amount, owner, customer profile).
    order
        ``"strength"`` or ``"hurts_first"`` (what lowers the score first).
    currency
        Currency of the amounts quoted (default: the training data's).

    Returns
    -------
    pandas.DataFrame
        Long format, one row per (deal, reason): ``row`` (the snapshot's index label),
        ``deal_id``, ``rank`` (1 = shown first), ``reason`` (feature group), ``value``
        (the deal's value of the reason's main column), ``contribution`` (log-odds;
        positive raises the win probability), ``direction`` (``+``/``-``), ``effect``
        (``helps``/``hurts``), ``kind`` (``deal`` or ``context``) and ``phrase``.
    """
    return model.explain(snapshots, top=top, lang=lang, scope=scope, order=order, currency=currency)
