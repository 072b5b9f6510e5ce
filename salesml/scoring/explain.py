"""Reason codes: per-row contributions ranked, signed and phrased from the label catalog.

Generic over what is scored. A model describes its wording with a :class:`Phrasing`
(which catalog keys hold its phrase templates, which reasons are context rather
than something the team can change, how to derive the values a phrase quotes); this
module ranks the contributions, chooses each row's template (a ``.one`` variant
when the count it quotes is 1: "1 activity", not "1 activities"), fills it
(vectorised, with the catalog's bounded format rules), and joins reasons for a
manager: what hurts first, each marked (▼ hurts, ▲ helps), separated by the
language's punctuation ("; " in English, each reason starting with a capital; "；"
in Chinese).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from salesml.i18n import check_lang, has_label, label, money, t
from salesml.rules.template import render_template_column

__all__ = [
    "CUSTOMER_CONTEXT",
    "EFFECTS",
    "Phrasing",
    "capitalise",
    "explain_contributions",
    "join_reasons",
    "labelled_columns",
    "money_texts",
    "reason_items",
    "reason_lists",
    "value_labels",
]

#: Reasons about who the customer is (segment, region, source channel, tier): context,
#: not how the deal, lead or account is being worked.
CUSTOMER_CONTEXT: frozenset[str] = frozenset({"channel", "segment", "region", "tier"})

#: ``effect`` of a reason: lowers the win probability (``hurts``) or raises it (``helps``).
EFFECTS: tuple[str, str] = ("hurts", "helps")
_FORMATTER = string.Formatter()
#: Fields a template may quote, at most (a template is catalog text, but stay bounded).

Order = Literal["strength", "hurts_first"]


@dataclass(frozen=True)
class Phrasing:
    """How a model's reasons read.

    Attributes
    ----------
    prefix
        Catalog key prefix of the phrase templates: reason ``r`` reads
        ``<prefix>.<r>`` (and ``<prefix>.<r>.one`` when its count is 1). Templates
        quote frame columns as ``{column}`` / ``{column:spec}``.
    missing_prefix
        Key prefix of what to say when the reason's value is missing
        (``<missing_prefix>.<r>``; default: "<reason>: no data yet").
    context
        Reasons that describe the setting (stage, size, owner, profile) rather than
        how the row is being worked; ``scope="actionable"`` leaves them out.
    main_columns
        Reason -> the frame column whose value it reports (default: the reason).
    prepare
        ``prepare(frame, lang, currency)``: a copy of the frame with the derived
        columns the templates quote (a stage's display name, money, hours as days).
    templates
        Reason -> ``{"en": ..., "zh": ...}`` for reasons without a catalog entry
        (a user's own rule signals).
    """

    prefix: str
    missing_prefix: str = ""
    context: frozenset[str] = frozenset()
    main_columns: Mapping[str, str] = field(default_factory=dict)
    prepare: Callable[[pd.DataFrame, str, str], pd.DataFrame] | None = None
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def main_column(self, reason: str) -> str:
        """The column reason ``reason`` reports."""
        return self.main_columns.get(reason, reason)

    def template(self, reason: str, lang: str, *, column: str) -> tuple[str, str | None]:
        """``(template, template_for_one)`` of ``reason`` in ``lang``."""
        key = f"{self.prefix}.{reason}"
        if has_label(key):
            one = t(f"{key}.one", lang) if has_label(f"{key}.one") else None
            return t(key, lang), one
        own = self.templates.get(reason)
        if own and own.get(lang):
            return str(own[lang]), None
        name = label(reason, lang).replace("{", "{{").replace("}", "}}")
        return t("scoring.reason.value", lang, reason=name).replace(
            "[value]", f"{{{column}}}"
        ), None

    def missing(self, reason: str, lang: str) -> str:
        """What to say when the value of ``reason`` is missing."""
        key = f"{self.missing_prefix}.{reason}"
        if self.missing_prefix and has_label(key):
            return t(key, lang)
        return t("scoring.reason.no_data", lang, reason=label(reason, lang))


def value_labels(values: pd.Series, lang: str, *, prefix: str | None = None) -> pd.Series:
    """Display names of data values, once per distinct value; empty when missing.

    Without ``prefix`` the catalog's ``value.<code>`` names; with it ``<prefix>.<code>``,
    or the value itself where the catalog has no such key.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if prefix is None:
        names = [label(u, lang) for u in uniques]
    else:
        names = [
            t(f"{prefix}.{u}", lang) if has_label(f"{prefix}.{u}") else str(u) for u in uniques
        ]
    return pd.Series([names[c] if c >= 0 else "" for c in codes], index=values.index, dtype="str")


def labelled_columns(
    frame: pd.DataFrame, columns: Iterable[str], lang: str
) -> dict[str, pd.Series]:
    """``<column>_label``: :func:`value_labels` of each of ``columns`` that ``frame`` has."""
    return {f"{c}_label": value_labels(frame[c], lang) for c in columns if c in frame}


def money_texts(amounts: pd.Series, currency: str) -> pd.Series:
    """Amounts as money in ``currency`` (``¥12,000``), once per distinct amount; empty when missing."""
    values = pd.to_numeric(amounts, errors="coerce")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [money(u, currency) for u in uniques]
    return pd.Series([texts[c] if c >= 0 else "" for c in codes], index=amounts.index, dtype="str")


def _first_field(template: str) -> tuple[str, str] | None:
    """Name and format spec of the first field of a (checked) template."""
    for _, name, spec, _ in _FORMATTER.parse(template):
        if name:
            return name, spec or ""
    return None


def _render(template: str, frame: pd.DataFrame) -> pd.Series:
    """The phrase for every row, through the one bounded renderer of :mod:`salesml.rules`."""
    return render_template_column(template, frame)


def _phrases(reason: str, sub: pd.DataFrame, phrasing: Phrasing, lang: str) -> np.ndarray:
    col = phrasing.main_column(reason)
    template, one = phrasing.template(reason, lang, column=col)
    rendered = _render(template, sub).to_numpy(dtype=object)
    if one is not None:
        first = _first_field(template)
        if first is not None and first[0] in sub.columns:
            spec = f":{first[1]}" if first[1] else ""
            is_one = _render(f"{{{first[0]}{spec}}}", sub).to_numpy(dtype=object) == "1"
            if is_one.any():
                at = np.flatnonzero(is_one)
                rendered[at] = _render(one, sub.iloc[at]).to_numpy(dtype=object)
    if col in sub.columns:
        values = sub[col]
        if pd.api.types.is_bool_dtype(values):
            # a yes/no signal that did not fire: say so rather than state the signal
            off = values.eq(False).fillna(False).to_numpy(dtype=bool)
            if off.any():
                pre, _, post = t("scoring.reason.not_flagged", lang).partition("{phrase}")
                rendered[off] = pre + rendered[off] + post
        missing = values.isna().to_numpy()
        if missing.any():
            rendered[missing] = phrasing.missing(reason, lang)
    return rendered


def _order(values: np.ndarray, top: int, order: Order) -> np.ndarray:
    """Column positions of each row's ``top`` reasons, in display order."""
    k = min(top, values.shape[1])
    strongest = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    if order == "strength":
        return strongest
    picked = np.take_along_axis(values, strongest, axis=1)
    # what hurts first (most negative first), then what helps (largest first)
    key = np.where(picked < 0, picked, 1e9 - picked)
    return np.take_along_axis(strongest, np.argsort(key, axis=1, kind="stable"), axis=1)


def explain_contributions(
    contributions: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    phrasing: Phrasing,
    top: int = 5,
    lang: str = "en",
    scope: Literal["all", "actionable"] = "all",
    order: Order = "strength",
    currency: str = "CNY",
    id_column: str | None = None,
) -> pd.DataFrame:
    """Each row's top reasons, signed, ranked and phrased.

    Parameters
    ----------
    contributions
        Per-row contributions to the log-odds by reason (plus ``bias``), indexed like
        ``frame`` (a model's ``contributions()``).
    frame
        The rows explained (their values fill the phrases).
    phrasing
        The model's wording.
    top
        Reasons kept per row (the strongest by absolute contribution).
    lang
        ``en`` or ``zh``.
    scope
        ``"all"``, or ``"actionable"`` to leave out :attr:`Phrasing.context` reasons.
    order
        ``"strength"`` (strongest first) or ``"hurts_first"`` (the same reasons, what
        lowers the probability first, most harmful first, then what helps).
    currency
        Currency the phrases quote money in.
    id_column
        Column of ``frame`` copied into the output (``deal_id``), if any.

    Returns
    -------
    pandas.DataFrame
        One row per (row, reason): ``row`` (the frame's index label), the id column if
        given, ``rank`` (1 = shown first), ``reason``, ``value`` (the row's value of the
        reason's column, as text), ``contribution`` (log-odds; positive raises the
        probability), ``direction`` (``+``/``-``), ``effect`` (``helps``/``hurts``),
        ``kind`` (``context`` or the actionable kind ``deal``) and ``phrase``.
    """
    lang = check_lang(lang)
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    if scope not in ("all", "actionable"):
        raise ValueError(f"scope must be 'all' or 'actionable', got {scope!r}")
    if order not in ("strength", "hurts_first"):
        raise ValueError(f"order must be 'strength' or 'hurts_first', got {order!r}")
    contrib = contributions.drop(columns="bias", errors="ignore")
    if scope == "actionable":
        contrib = contrib.drop(columns=[c for c in contrib.columns if c in phrasing.context])
    vals = contrib.to_numpy(dtype="float64")
    n = len(contrib)
    pos = _order(vals, top, order) if vals.shape[1] else np.empty((n, 0), dtype=int)
    k = pos.shape[1]
    rows = np.repeat(np.arange(n), k)
    cols = pos.ravel()
    reasons = np.asarray(contrib.columns, dtype=object)[cols]
    c = vals[rows, cols]
    labels = frame.index.to_numpy()[rows]
    out = pd.DataFrame({"row": labels})
    if id_column is not None:
        out[id_column] = frame[id_column].to_numpy()[rows] if id_column in frame.columns else labels
    out["rank"] = np.tile(np.arange(1, k + 1), n)
    out["reason"] = pd.array(reasons, dtype="str")
    out["contribution"] = c
    out["direction"] = np.where(c >= 0, "+", "-")
    out["effect"] = np.where(c >= 0, EFFECTS[1], EFFECTS[0])
    prepared = phrasing.prepare(frame, lang, currency) if phrasing.prepare else frame
    value = np.full(len(out), "", dtype=object)
    phrase = np.full(len(out), "", dtype=object)
    for reason in pd.unique(reasons):
        sel = np.flatnonzero(reasons == reason)
        sub = prepared.iloc[rows[sel]]
        col = phrasing.main_column(str(reason))
        if col in sub.columns:
            v = sub[col]
            if pd.api.types.is_float_dtype(v):
                v = v.round(2)
            value[sel] = v.astype("str").fillna("").to_numpy(dtype=object)
        phrase[sel] = _phrases(str(reason), sub, phrasing, lang)
    out["value"] = pd.array(value, dtype="str")
    out["phrase"] = pd.array(phrase, dtype="str")
    out["kind"] = np.where(np.isin(reasons, list(phrasing.context)), "context", "deal")
    cols_out = ["row", *([id_column] if id_column else []), "rank", "reason", "value"]
    cols_out += ["contribution", "direction", "effect", "kind", "phrase"]
    return out[cols_out]


def capitalise(text: str) -> str:
    """``text`` with its first character in upper case (an English sentence start)."""
    return text[:1].upper() + text[1:]


def _marked(phrases: pd.Series, effects: pd.Series | None, lang: str) -> pd.Series:
    """Each phrase as a list item: capitalised (English) and marked ▼/▲ when effects are given."""
    text = phrases.astype("str")
    if lang == "en":
        text = text.str.slice(0, 1).str.upper() + text.str.slice(1)
    if effects is not None:
        marks = effects.map({e: t(f"scoring.reason.{e}", lang) for e in EFFECTS})
        text = marks.astype("str") + " " + text
    return text


def reason_items(
    phrases: Iterable[str], effects: Iterable[str] | None = None, *, lang: str = "en"
) -> list[str]:
    """Reasons as list items: ``["▼ No reply 5 days after quote viewed", "▲ ..."]``.

    English items start with a capital; ``effects`` (``hurts``/``helps``) adds the markers.
    """
    lang = check_lang(lang)
    p = pd.Series(list(phrases), dtype="str")
    e = pd.Series(list(effects), dtype="str") if effects is not None else None
    return _marked(p, e, lang).tolist()


def join_reasons(
    phrases: Iterable[str], effects: Iterable[str] | None = None, *, lang: str = "en"
) -> str:
    """Reasons as one line: ``"▼ No reply 5 days after quote viewed; ▲ Customer ..."``.

    ``effects`` (``hurts`` / ``helps``, one per phrase) adds the markers; without it the
    phrases are joined unmarked. In English each reason starts with a capital after
    the "; "; Chinese reasons are separated by a full-width "；".
    """
    items = reason_items(phrases, effects, lang=lang)
    return t("scoring.reason.separator", lang).join(items)


def reason_lists(
    explanations: pd.DataFrame,
    *,
    by: str,
    top: int = 3,
    lang: str = "en",
    marked: bool = True,
) -> pd.Series:
    """Each group's reasons joined as by :func:`join_reasons`, what hurts first.

    ``explanations`` is the output of :func:`explain_contributions`; per ``by`` value
    the ``top`` reasons are taken most harmful first, then the strongest help.
    Returns a text Series indexed by the ``by`` values.
    """
    lang = check_lang(lang)
    c = explanations["contribution"].to_numpy(dtype="float64")
    key = np.where(c < 0, c, 1e9 - c)
    ex = explanations.assign(_key=key).sort_values([by, "_key"], kind="stable")
    listed = ex.groupby(by, sort=False).head(top)
    effects = pd.Series(np.where(listed["contribution"] < 0, EFFECTS[0], EFFECTS[1]))
    text = _marked(listed["phrase"].reset_index(drop=True), effects if marked else None, lang)
    sep = t("scoring.reason.separator", lang)
    return text.groupby(listed[by].to_numpy(), sort=False).agg(sep.join)
