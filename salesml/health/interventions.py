"""The director's intervention list: which deals to act on this week, and how."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.yamlsafe import load_yaml
from salesml.i18n import LANGS, check_lang, t
from salesml.scoring.explain import reason_lists

__all__ = ["ACTION_COLUMNS", "DEFAULT_ACTIONS_PATH", "interventions", "load_actions"]

#: The shipped reason -> action mapping.
DEFAULT_ACTIONS_PATH = Path(__file__).with_name("actions.yaml")
_BAND_ORDER = {"at_risk": 0, "watch": 1, "healthy": 2}
#: Columns of :func:`interventions`, in order.
ACTION_COLUMNS: tuple[str, ...] = (
    "priority",
    "deal_id",
    "owner",
    "amount",
    "health_score",
    "band",
    "change",
    "top_reasons",
    "suggested_action",
    "escalate",
)


def _catalog_texts(key: str) -> dict[str, str]:
    return {lang: t(key, lang) for lang in LANGS}


def load_actions(actions: str | Path | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read a reason -> action mapping (default: the shipped ``actions.yaml``).

    Returns
    -------
    dict
        ``{"by_reason": {reason: {"en": ..., "zh": ...}}, "default": {...}, "escalate": {...}}``.
    """
    if actions is None:
        actions = DEFAULT_ACTIONS_PATH
    if isinstance(actions, Mapping):
        raw: Any = dict(actions)
    else:
        p = Path(actions)
        if not p.exists():
            raise FileNotFoundError(f"actions file {p} does not exist")
        raw = load_yaml(p, what=f"actions file {p}")
    if not isinstance(raw, Mapping) or not isinstance(raw.get("actions"), list):
        raise ValueError("an actions mapping needs a list under 'actions' (see actions.yaml)")
    by_reason: dict[str, dict[str, str]] = {}
    for i, item in enumerate(raw["actions"], start=1):
        if not isinstance(item, Mapping) or not item.get("reasons") or not item.get("en"):
            raise ValueError(f"action #{i} needs 'reasons' (a list) and 'en' (and 'zh') texts")
        for r in item["reasons"]:
            by_reason[str(r)] = {"en": str(item["en"]), "zh": str(item.get("zh", item["en"]))}
    default = dict(raw.get("default") or _catalog_texts("health.action.default"))
    escalate = dict(raw.get("escalate") or _catalog_texts("health.action.escalate"))
    return {"by_reason": by_reason, "default": default, "escalate": escalate}


def interventions(
    scored: pd.DataFrame,
    explanations: pd.DataFrame,
    *,
    previous: pd.DataFrame | None = None,
    actions: str | Path | Mapping[str, Any] | None = None,
    high_value: float | None = None,
    drop_points: float = 10.0,
    top_reasons: int = 3,
    include: tuple[str, ...] = ("at_risk", "watch"),
    lang: str = "en",
) -> pd.DataFrame:
    """The director's list of deals to act on.

    Parameters
    ----------
    scored
        :meth:`DealHealthModel.score` of this week's open deals (``deal_id``,
        ``health_score``, ``band``; ``rep_id`` and ``amount`` used when present).
    explanations
        :meth:`DealHealthModel.explain` of the same snapshots.
    previous
        Last week's scores (``deal_id``, ``health_score``), for the change column.
    actions
        Reason -> action mapping (default ``actions.yaml``).
    high_value
        Amount from which a deal counts as high value (default: the 80th percentile
        of ``amount`` in ``scored``).
    drop_points
        A fall of at least this many score points since last week counts as falling.
    top_reasons
        Reasons listed per deal: what hurts first (most harmful first), then what
        helps, each marked ▼ (hurts) or ▲ (helps).
    include
        Bands listed; escalated deals are always listed.
    lang
        ``en`` or ``zh``.

    Returns
    -------
    pandas.DataFrame
        One row per listed deal, most urgent first: ``deal_id``, ``owner`` (rep_id),
        ``amount``, ``health_score``, ``band``, ``change`` (points since last week, NaN
        if unknown), ``top_reasons`` (marked phrases joined by "; ", "；" in Chinese),
        ``suggested_action``, ``escalate`` (high value and falling), ``priority`` (1 = most urgent).
    """
    lang = check_lang(lang)
    for col in ("deal_id", "health_score", "band"):
        if col not in scored:
            raise ValueError(f"scored needs a {col!r} column (use DealHealthModel.score)")
    for col in ("deal_id", "reason", "contribution", "phrase"):
        if col not in explanations:
            raise ValueError(f"explanations need a {col!r} column (use DealHealthModel.explain)")
    acts = load_actions(actions)
    out = pd.DataFrame(
        {
            "deal_id": scored["deal_id"].to_numpy(),
            "owner": scored["rep_id"].to_numpy() if "rep_id" in scored else None,
            "amount": (
                pd.to_numeric(scored["amount"], errors="coerce").to_numpy(
                    dtype="float64", na_value=np.nan
                )
                if "amount" in scored
                else np.nan
            ),
            "health_score": scored["health_score"].to_numpy(dtype="float64"),
            "band": scored["band"].astype("str").to_numpy(),
        }
    )
    if previous is not None and len(previous):
        prev = previous.drop_duplicates("deal_id", keep="last").set_index("deal_id")["health_score"]
        out["change"] = out["health_score"] - out["deal_id"].map(prev).astype("float64")
    else:
        out["change"] = np.nan
    # what hurts first, marked: "▼ No reply 5 days after quote viewed; ▲ Customer ..."
    text = reason_lists(explanations, by="deal_id", top=top_reasons, lang=lang)
    out["top_reasons"] = out["deal_id"].map(text.astype("str")).astype("str").fillna("")
    negative = explanations.loc[explanations["contribution"] < 0].sort_values(
        ["deal_id", "contribution"], kind="stable"
    )
    by_reason = acts["by_reason"]
    mapped = negative.loc[negative["reason"].isin(list(by_reason))]
    first = mapped.drop_duplicates("deal_id").set_index("deal_id")["reason"]
    action = (
        out["deal_id"].map(first).map(lambda r: by_reason[r][lang] if isinstance(r, str) else None)
    )
    out["suggested_action"] = action.fillna(acts["default"][lang]).astype("str")
    hv = high_value
    if hv is None:
        amounts = out["amount"].dropna()
        hv = float(amounts.quantile(0.8)) if len(amounts) else np.inf
    out["escalate"] = (out["amount"] >= hv) & (out["change"] <= -abs(drop_points))
    esc = out["escalate"].to_numpy()
    sep = t("scoring.reason.separator", lang)
    out.loc[esc, "suggested_action"] = [
        f"{acts['escalate'][lang]}{sep}{a}" for a in out.loc[esc, "suggested_action"]
    ]
    keep = out["band"].isin(list(include)) | out["escalate"]
    out = out.loc[keep].copy()
    out["_band"] = out["band"].map(_BAND_ORDER).fillna(3)
    out = out.sort_values(
        ["escalate", "_band", "health_score", "amount"],
        ascending=[False, True, True, False],
        kind="stable",
    )
    out["priority"] = np.arange(1, len(out) + 1)
    return out[list(ACTION_COLUMNS)].reset_index(drop=True)
