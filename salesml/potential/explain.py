"""How potential reasons read: lead and account words on top of :mod:`salesml.scoring.explain`.

Reason ``r`` of a lead reads the catalog entry ``potential.reason.<r>`` (an account's
``potential.account.<r>``; ``.one`` variants when the count quoted is 1), filled from
the snapshot's values and these derived columns: ``channel_label``,
``budget_band_label``, ``inspected_text``, ``segment_label``, ``region_label`` (display names in the
reader's language), ``past_revenue_text`` (money in the dataset's currency),
``first_response_text`` (hours). A reason whose value is missing reads
``potential.missing.<r>`` ("no site inspection yet").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.i18n import t
from salesml.scoring import explain as shared

__all__ = ["ACCOUNT_PHRASING", "CONTEXT_REASONS", "LEAD_PHRASING", "phrase_columns"]

#: Reasons that describe where a lead or account comes from rather than how it is
#: being worked (``scope="actionable"`` leaves them out).
CONTEXT_REASONS: frozenset[str] = frozenset(
    {
        "budget_band",
        "log_project_area",
        "campaign_leads_30d",
        "lead_age_days",
        "account_age_days",
        "log_past_revenue",
        "past_wins",
        "past_losses",
        "owner_win_rate",
    }
    | shared.CUSTOMER_CONTEXT
)

#: Value columns whose display names the phrases quote (as ``<column>_label``).
_LABELLED = ("channel", "segment", "region", "tier")


def phrase_columns(frame: pd.DataFrame, lang: str, currency: str) -> pd.DataFrame:
    """``frame`` plus the derived columns the potential phrases quote."""
    extra = shared.labelled_columns(frame, _LABELLED, lang)
    if "budget_band" in frame.columns:
        extra["budget_band_label"] = shared.value_labels(
            frame["budget_band"].astype("str"), lang, prefix="potential.budget"
        )
    if "inspected" in frame.columns:
        done = pd.to_numeric(frame["inspected"], errors="coerce").fillna(0).to_numpy() > 0
        extra["inspected_text"] = pd.Series(
            np.where(
                done, t("potential.text.inspected", lang), t("potential.text.not_inspected", lang)
            ),
            index=frame.index,
            dtype="str",
        )
    if "past_revenue" in frame.columns:
        extra["past_revenue_text"] = shared.money_texts(frame["past_revenue"], currency)
    return frame.assign(**extra) if extra else frame


#: The lead wording of reasons.
LEAD_PHRASING = shared.Phrasing(
    prefix="potential.reason",
    missing_prefix="potential.missing",
    context=CONTEXT_REASONS,
    prepare=phrase_columns,
)
#: The account wording of reasons.
ACCOUNT_PHRASING = shared.Phrasing(
    prefix="potential.account",
    missing_prefix="potential.missing",
    context=CONTEXT_REASONS,
    main_columns={"log_past_revenue": "past_revenue"},
    prepare=phrase_columns,
)
