"""Data-quality warnings: what loads fine but looks wrong (warnings, never rejections).

:func:`quality_warnings` looks at a loaded dataset and returns one row per finding:

``near_duplicate``
    Two spellings of one category within a column: ``GTXPro`` / ``GTX Pro`` (the
    same once case, spaces and punctuation are ignored) or ``technolgy`` /
    ``technology``, ``Philipines`` / ``Philippines`` (one or two letters apart,
    relative to the length). The suggestion maps the rarer spelling to the
    commoner one; :func:`suggested_value_map` turns them into a mapping's ``values:``.
``not_in_reference``
    A value missing from a reference list: a product not in the export's product
    table (found by a mapping's ``lookups`` at import).
``outside_value_set``
    A value outside the closed set ``dataset.yaml`` declares for the column
    (``value_sets``; with ``strict: true`` such rows are quarantined at load instead).
``constant`` / ``mostly_empty``
    A column holding one value in every row, or filled in at most 2 % of rows.
``won_without_amount``
    Won deals whose amount is empty (they count in win rates, not in revenue sums).
``amount_reveals_outcome``
    Amounts that are 0 for lost deals and positive for won ones: the realised value
    was mapped to ``amount``, which gives the outcome away to any model.

Work is bounded: category columns are summarised by their distinct values (Arrow),
near-duplicates are looked for only in columns with at most ``max_distinct``
distinct values, through a deletion neighbourhood (no all-pairs comparison), and
free-text extra columns of tables over :data:`MAX_TEXT_ROWS` rows are not scanned.

Analyses that need a value use :func:`split_missing` (or
``SalesData.rows_without``) to leave rows without it out and say how many.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.schema import SPECS
from salesml.i18n import t

__all__ = [
    "CHECKS",
    "MAX_TEXT_ROWS",
    "WARNING_COLUMNS",
    "cached_quality_warnings",
    "card_lines",
    "quality_warnings",
    "split_missing",
    "suggested_value_map",
    "warnings_frame",
]

#: Columns of a warnings frame.
WARNING_COLUMNS: tuple[str, ...] = (
    "table",
    "column",
    "check",
    "value",
    "suggestion",
    "rows",
    "message",
)
#: The checks, in the order they are reported.
CHECKS: tuple[str, ...] = (
    "near_duplicate",
    "not_in_reference",
    "outside_value_set",
    "won_without_amount",
    "amount_reveals_outcome",
    "constant",
    "mostly_empty",
)
#: Extra free-text columns of tables longer than this are not scanned.
MAX_TEXT_ROWS = 2_000_000
_MIN_ROWS = 50  # constant / mostly-empty need this many rows to mean something
_MAX_PER_COLUMN = 20  # findings listed per column and check
_SHORTEST = 5  # values shorter than this (normalised) are not compared by spelling
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def warnings_frame(rows: Iterable[dict[str, Any]] = ()) -> pd.DataFrame:
    """A warnings frame (:data:`WARNING_COLUMNS`) from dict rows."""
    rows = list(rows)
    df = pd.DataFrame(rows, columns=list(WARNING_COLUMNS))
    return df.astype({"rows": "int64", **{c: "str" for c in WARNING_COLUMNS if c != "rows"}})


def split_missing(frame: pd.DataFrame, *columns: str) -> tuple[pd.DataFrame, int]:
    """``frame`` without the rows where any of ``columns`` is empty, and how many those were.

    Use it where a figure needs a value (summing ``amount``) and say how many rows it
    left out::

        priced, n_unpriced = split_missing(deals, "amount")
    """
    lacking = [c for c in columns if c not in frame.columns]
    if lacking:
        raise KeyError(f"column(s) {', '.join(lacking)} not in the frame")
    if not columns:
        return frame, 0
    miss = frame[list(columns)].isna().any(axis=1).to_numpy()
    return frame.loc[~miss], int(miss.sum())


# ---------------------------------------------------------------------- spelling
def _normal(s: str) -> str:
    return re.sub(r"[\W_]+", "", s.casefold())


def _levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance, giving up (returning ``limit + 1``) once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _allowed_edits(n: int) -> int:
    return 1 if n < 10 else 2


def _spelling_groups(counts: dict[str, int]) -> list[list[str]]:
    """Groups of values that look like one spelled differently (each group >= 2 values)."""
    parent = {v: v for v in counts}

    def find(v: str) -> str:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    by_norm: dict[str, list[str]] = defaultdict(list)
    for v in counts:
        by_norm[_normal(v)].append(v)
    for vs in by_norm.values():
        for v in vs[1:]:
            union(vs[0], v)
    # one letter deleted from each normalised key: keys within an edit or two share one
    # (not for Chinese: one character of a short name is a word, 贵阳 is not a typo of 绵阳)
    keys = [k for k in by_norm if _SHORTEST <= len(k) <= 60 and not _CJK.search(k)]
    neighbours: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        for var in {k, *(k[:i] + k[i + 1 :] for i in range(len(k)))}:
            neighbours[var].append(k)
    seen: set[tuple[str, str]] = set()
    for ks in neighbours.values():
        if len(ks) < 2 or len(ks) > 50:
            continue
        for i, a in enumerate(ks):
            for b in ks[i + 1 :]:
                pair = (a, b) if a < b else (b, a)
                if a == b or pair in seen:
                    continue
                seen.add(pair)
                if re.sub(r"\D", "", a) != re.sub(r"\D", "", b):
                    continue  # "GTX 500" and "GTX 600" are two products
                limit = _allowed_edits(min(len(a), len(b)))
                if _levenshtein(a, b, limit) <= limit:
                    union(by_norm[a][0], by_norm[b][0])
    groups: dict[str, list[str]] = defaultdict(list)
    for v in counts:
        groups[find(v)].append(v)
    return [g for g in groups.values() if len(g) > 1]


def _canonical(group: list[str], counts: dict[str, int], preferred: frozenset[str]) -> str:
    """The spelling the others should map to: a declared one, else the commonest."""

    def rank(v: str) -> tuple:
        return (v in preferred, counts[v], " " in v or "-" in v, v)

    return max(group, key=rank)


def _value_counts(s: pd.Series) -> dict[str, int]:
    arr = pa.array(s.dropna().astype("str"), type=pa.large_string())
    if not len(arr):
        return {}
    vc = pc.value_counts(arr)
    return dict(
        zip(
            vc.field("values").to_pylist(),
            vc.field("counts").to_numpy().astype(int).tolist(),
            strict=True,
        )
    )


def _text_columns(name: str, df: pd.DataFrame) -> list[tuple[str, bool]]:
    """(column, is a closed model set) for the category columns worth scanning."""
    spec = SPECS[name]
    out = []
    for c in df.columns:
        if c in spec:
            col = spec[c]
            if col.kind != "category":
                continue  # names and free text are not categories
            closed = (
                col.allowed is not None
                or (c == "stage" and name in ("deals", "stage_history"))
                or (name == "costs" and c == "category")
            )
            out.append((c, closed))
        elif (
            pd.api.types.is_string_dtype(df[c].dtype)
            and not pd.api.types.is_bool_dtype(df[c].dtype)
            and len(df) <= MAX_TEXT_ROWS
        ):
            out.append((c, False))
    return out


# ---------------------------------------------------------------------- checks
def quality_warnings(data: Any, *, max_distinct: int = 2000, lang: str = "en") -> pd.DataFrame:
    """Everything in ``data`` that loads but looks wrong (see the module docstring).

    Parameters
    ----------
    data
        A :class:`~salesml.data.bundle.SalesData`.
    max_distinct
        Columns with more distinct values than this are not checked for near-duplicates
        (free text, not categories); at most 20,000.
    lang
        Language of the messages.

    Returns
    -------
    pandas.DataFrame
        :data:`WARNING_COLUMNS`: ``table, column, check`` (one of :data:`CHECKS`),
        ``value`` (the suspicious value), ``suggestion`` (what it probably should be;
        empty when there is no guess), ``rows`` (rows holding it), ``message``.
        Sorted by check, then table and column.
    """
    if not 1 <= max_distinct <= 20_000:
        raise ValueError(f"max_distinct must be from 1 to 20,000, got {max_distinct}")
    config = data.config
    rows: list[dict[str, Any]] = []

    def add(
        table: str,
        column: str,
        check: str,
        value: Any = "",
        suggestion: Any = "",
        n: int = 0,
        **extra: Any,
    ) -> None:
        rows.append(
            {
                "table": table,
                "column": column,
                "check": check,
                "value": str(value),
                "suggestion": str(suggestion),
                "rows": int(n),
                "message": t(
                    f"quality.{check}",
                    lang,
                    table=table,
                    column=column,
                    value=value,
                    suggestion=suggestion,
                    n=int(n),
                    **extra,
                ),
            }
        )

    for name, df in data.tables.items():
        n = len(df)
        for col, closed in _text_columns(name, df):
            counts = _value_counts(df[col])
            if col not in SPECS[name] and len(counts) > max(20, 0.5 * df[col].notna().sum()):
                continue  # an extra column of mostly distinct values is free text
            declared = config.value_set(name, col)
            preferred = declared[0] if declared else frozenset()
            if n >= _MIN_ROWS and len(counts) == 1 and df[col].notna().all():
                (only,) = counts
                add(name, col, "constant", only, "", n)
            if closed or len(counts) > max_distinct or len(counts) < 2:
                pass
            else:
                found = 0
                for group in _spelling_groups(counts):
                    canon = _canonical(group, counts, preferred)
                    for v in sorted(group, key=lambda v: -counts[v]):
                        if v == canon or found >= _MAX_PER_COLUMN:
                            continue
                        found += 1
                        add(
                            name,
                            col,
                            "near_duplicate",
                            v,
                            canon,
                            counts[v],
                            canonical_rows=counts[canon],
                        )
            if declared is not None:
                allowed = declared[0]
                outside = {v: k for v, k in counts.items() if v not in allowed}
                norm = {_normal(a): a for a in allowed}
                for v, k in sorted(outside.items(), key=lambda x: -x[1])[:_MAX_PER_COLUMN]:
                    guess = norm.get(_normal(v), "")
                    if not guess:
                        close = difflib.get_close_matches(_normal(v), list(norm), n=1, cutoff=0.85)
                        guess = norm[close[0]] if close else ""
                    add(name, col, "outside_value_set", v, guess, k)
        if n >= _MIN_ROWS:
            spec = SPECS[name]
            for col in df.columns:
                if col in spec and (not spec[col].nullable or spec[col].references):
                    continue  # required columns are full; sparse links are normal
                filled = int(df[col].notna().sum())
                if 0 < filled <= 0.02 * n:
                    add(
                        name,
                        col,
                        "mostly_empty",
                        "",
                        "",
                        n - filled,
                        filled=filled,
                        share=f"{filled / n:.1%}",
                    )
    if "deals" in data.tables:
        _deal_checks(data.tables["deals"], add)
    if not rows:
        return warnings_frame()
    out = warnings_frame(rows)
    order = {c: i for i, c in enumerate(CHECKS)}
    return (
        out.assign(_o=out["check"].map(order))
        .sort_values(
            ["_o", "table", "column", "rows"], ascending=[True, True, True, False], kind="stable"
        )
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def _deal_checks(deals: pd.DataFrame, add: Any) -> None:
    if "amount" not in deals or "outcome" not in deals:
        return
    amount = pd.to_numeric(deals["amount"], errors="coerce")
    won = (deals["outcome"] == "won").to_numpy()
    lost = (deals["outcome"] == "lost").to_numpy()
    missing = amount.isna().to_numpy()
    if (won & missing).any():
        add(
            "deals",
            "amount",
            "won_without_amount",
            "",
            "",
            int((won & missing).sum()),
            won=int(won.sum()),
        )
    priced = ~missing
    n_lost, n_won = int((lost & priced).sum()), int((won & priced).sum())
    if n_lost >= 10 and n_won >= 10:
        zero = (amount == 0).to_numpy()
        lost_zero = (lost & priced & zero).sum() / n_lost
        won_zero = (won & priced & zero).sum() / n_won
        if lost_zero >= 0.5 and won_zero <= 0.05:
            add(
                "deals",
                "amount",
                "amount_reveals_outcome",
                "0",
                "",
                int((lost & priced & zero).sum()),
                share=f"{lost_zero:.0%}",
            )


def suggested_value_map(warnings: pd.DataFrame) -> dict[str, dict[str, dict[str, str]]]:
    """The near-duplicate and value-set suggestions as mapping ``values:`` blocks.

    Returns
    -------
    dict
        ``{table: {column: {seen value: suggested value}}}``, to paste under that
        table's ``values:`` in the mapping (or to apply with ``Series.replace``).
    """
    out: dict[str, dict[str, dict[str, str]]] = {}
    w = warnings[
        warnings["check"].isin(["near_duplicate", "outside_value_set"])
        & (warnings["suggestion"].str.len() > 0)
    ]
    for table, column, value, suggestion in w[
        ["table", "column", "value", "suggestion"]
    ].itertuples(index=False):
        out.setdefault(table, {}).setdefault(column, {})[value] = suggestion
    return out


def _cache_key(data: Any) -> tuple:
    return (*((k, id(v), len(v)) for k, v in data.tables.items()), id(data.config))


def cached_quality_warnings(data: Any) -> pd.DataFrame:
    """:func:`quality_warnings` of ``data`` in English, computed once per bundle state."""
    key = _cache_key(data)
    hit = data.__dict__.get("_quality_cache")
    if hit is not None and hit[0] == key:
        return hit[1]
    w = quality_warnings(data)
    data.__dict__["_quality_cache"] = (key, w)
    return w


def card_lines(data: Any, *, lang: str = "en") -> list[str]:
    """Lines for a dataset's card and headers: rows lost before the load, warnings found."""
    from salesml.data.quarantine import quarantine_headlines

    lines: list[str] = []
    stored = getattr(data, "stored_quarantine", None)
    if stored is not None and len(stored):
        lines += quarantine_headlines(stored, lang=lang)
    w = cached_quality_warnings(data)
    if len(w):
        per = w["check"].value_counts()
        checks = ", ".join(f"{c} {int(per[c])}" for c in CHECKS if c in per.index)
        lines.append(t("data.card.warnings", lang, n=len(w), checks=checks))
    return lines
