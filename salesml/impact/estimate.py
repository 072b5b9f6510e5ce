"""``impact()``: did the change move each KPI, by how much, with a 95% interval.

For every KPI: the observed value after the go-live, the baseline (what it would have
been without the change, from the chosen method's counterfactual), the estimated
effect in the KPI's unit and relative, with its interval and p-value, beside the naive
before/after difference a spreadsheet would show. Methods:

- ``its``: interrupted time series (:mod:`salesml.impact.its`), one go-live date;
- ``did``: difference-in-differences / event study over regions going live at
  different dates, not-yet-treated regions as controls (:mod:`salesml.impact.did`);
- ``sts``: a structural time-series counterfactual (statsmodels
  ``UnobservedComponents``) with the not-yet-treated regions as control series
  (:mod:`salesml.impact.sts`);
- ``auto``: ``did`` when regions go live at different dates, else ``its``.

A KPI the data cannot support (too short a pre-period, no data after the go-live, a
table missing) gets no number: its row says why.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, t
from salesml.impact.its import Estimate, ImpactInputError, fit_its
from salesml.impact.kpis import KPIS, event_span, kpi_series, ratio_value
from salesml.results import AnalysisResult, Note

__all__ = ["METHODS", "ImpactResult", "impact", "parse_go_live"]

METHODS = ("auto", "its", "did", "sts")
_PER_YEAR = {"D": 365.25, "W": 52.18, "M": 12.0, "Q": 4.0}
_STEP = {"D": pd.DateOffset(days=1), "W": pd.DateOffset(weeks=1), "M": pd.DateOffset(months=1)}
_STEP["Q"] = pd.DateOffset(months=3)
_MAX_WINDOW = 10_000
TABLE_COLUMNS = [
    "kpi",
    "method",
    "status",
    "freq",
    "observed",
    "baseline",
    "effect",
    "effect_low",
    "effect_high",
    "rel_effect",
    "rel_low",
    "rel_high",
    "p_value",
    "significant",
    "naive_before",
    "naive_after",
    "naive_effect",
    "naive_rel",
    "n_pre",
    "n_post",
    "reason",
]


def parse_go_live(data: SalesData, go_live: object) -> pd.Timestamp | dict[str, pd.Timestamp]:
    """One go-live date, or one per region (a mapping region -> date).

    ``None`` takes the dataset's ``go_live`` (``dataset.yaml``). Dates outside the
    data are refused.

    Raises
    ------
    ValueError
        No go-live given or declared, a value that is not a date, or a date outside
        the data.
    """
    if go_live is None:
        go_live = data.config.go_live_ts
        if go_live is None:
            raise ValueError(
                "no go-live date: pass go_live= (a date, or a mapping region -> date) "
                "or declare go_live in dataset.yaml"
            )
    rng = event_span(data)
    if rng is None:
        raise ValueError("the dataset has no dated events: nothing to measure")
    lo, hi = rng

    def one(value: object, what: str) -> pd.Timestamp:
        try:
            ts = pd.Timestamp(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a date (2026-05-01); got {value!r}") from None
        if pd.isna(ts):
            raise ValueError(f"{what} must be a date (2026-05-01); got {value!r}")
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        if not lo < ts < hi:
            raise ValueError(
                f"{what} {ts:%Y-%m-%d} is outside the data ({lo:%Y-%m-%d} to {hi:%Y-%m-%d}): "
                "there is no before and after to compare"
            )
        return ts

    if isinstance(go_live, Mapping):
        if not go_live:
            raise ValueError("go_live is an empty mapping; give region -> date")
        if len(go_live) > 1000:
            raise ValueError("go_live has more than 1000 regions")
        return {str(k): one(v, f"go-live of {k}") for k, v in go_live.items()}
    return one(go_live, "go-live")


def _parse_window(window: object) -> tuple[int | None, int | None]:
    if window is None:
        return None, None
    if isinstance(window, (int, np.integer)) and not isinstance(window, bool):
        pre = post = int(window)
    elif (
        isinstance(window, (tuple, list))
        and len(window) == 2
        and all(isinstance(w, (int, np.integer)) and not isinstance(w, bool) for w in window)
    ):
        pre, post = int(window[0]), int(window[1])
    else:
        raise ValueError(
            "window must be a number of periods on each side (26) or (before, after); "
            f"got {window!r}"
        )
    if not (1 <= pre <= _MAX_WINDOW and 1 <= post <= _MAX_WINDOW):
        raise ValueError(f"window sizes must be between 1 and {_MAX_WINDOW}; got {window!r}")
    return pre, post


def _with_end(s: pd.DataFrame, freq: str) -> pd.DataFrame:
    s = s.copy()
    s["period_end"] = pd.DatetimeIndex(s["period"]) + _STEP[freq]
    return s


def _cut(
    s: pd.DataFrame, go_live: pd.Timestamp, window: tuple[int | None, int | None]
) -> pd.DataFrame:
    pre, post = window
    if pre is None:
        return s
    periods = np.sort(s["period"].unique())
    g = int(np.searchsorted(periods, np.datetime64(go_live), side="right")) - 1
    lo = periods[max(g - pre, 0)]
    hi = periods[min(g + post, len(periods) - 1)]
    return s[(s["period"] >= lo) & (s["period"] <= hi)]


@dataclass(kw_only=True)
class ImpactResult(AnalysisResult):
    """The effect of a change on each KPI.

    Attributes
    ----------
    table
        One row per KPI: ``kpi``, ``method``, ``status`` (``ok`` or ``not_estimable``),
        ``freq``, ``observed`` (after the go-live), ``baseline`` (the counterfactual
        over the same periods), ``effect`` / ``effect_low`` / ``effect_high`` (in the
        KPI's unit, observed - baseline), ``rel_effect`` / ``rel_low`` / ``rel_high``
        (relative to the baseline), ``p_value``, ``significant`` (at ``alpha``),
        ``naive_before`` / ``naive_after`` / ``naive_effect`` / ``naive_rel`` (the
        before/after comparison over the same window), ``n_pre``, ``n_post`` and
        ``reason`` (why a KPI has no estimate; catalog key).
    counterfactuals
        KPI -> periods with ``observed``, ``counterfactual``, ``lower``, ``upper``, ``post``.
    diagnostics
        KPI -> the method's checks (pre-trend test for ``did``, HAC lags, ...).
    go_live
        The date, or region -> date.
    method, alpha, filters
        As asked (``filters`` parsed).
    """

    title_key: ClassVar[str] = "impact.title.impact"

    counterfactuals: dict[str, pd.DataFrame] = field(default_factory=dict)
    diagnostics: dict[str, dict[str, Any]] = field(default_factory=dict)
    go_live: pd.Timestamp | dict[str, pd.Timestamp] | None = None
    method: str = "auto"
    alpha: float = 0.05

    def row(self, kpi: str) -> pd.Series:
        """The table row of one KPI."""
        return self.table.set_index("kpi").loc[kpi]

    def summary(self) -> pd.DataFrame:
        """The seed-style table: KPI, before, after, naive change, effect with interval."""
        rows = []
        for r in self.table.itertuples():
            rows.append(
                {
                    "kpi": r.kpi,
                    "naive_before": r.naive_before,
                    "naive_after": r.naive_after,
                    "naive_rel": r.naive_rel,
                    "baseline": r.baseline,
                    "observed": r.observed,
                    "rel_effect": r.rel_effect,
                    "rel_low": r.rel_low,
                    "rel_high": r.rel_high,
                    "method": r.method,
                }
            )
        return pd.DataFrame(rows)

    def key_findings(self, lang: str = "en") -> list[str]:
        """One sentence per KPI (estimate beside the naive figure, or why none)."""
        check_lang(lang)
        out = []
        for r in self.table.itertuples():
            name = t(f"impact.kpi.{r.kpi}", lang)
            if r.status != "ok":
                out.append(t("impact.finding.none", lang, kpi=name, why=t(r.reason, lang)))
                continue
            key = "impact.finding.significant" if r.significant else "impact.finding.unclear"
            out.append(
                t(
                    key,
                    lang,
                    kpi=name,
                    rel=r.rel_effect,
                    lo=r.rel_low,
                    hi=r.rel_high,
                    naive=r.naive_rel,
                    method=t(f"impact.method.{r.method}", lang),
                )
            )
        return out + [n.text(lang) for n in self.notes]

    def to_html(self, lang: str = "en") -> str:
        """The seed-style table (KPI, before, after, naive, estimate with interval)."""
        check_lang(lang)
        head = [
            "impact.col.kpi",
            "impact.col.before",
            "impact.col.after",
            "impact.col.naive",
            "impact.col.baseline",
            "impact.col.effect",
            "impact.col.method",
        ]
        cells = "".join(f"<th>{html.escape(t(k, lang))}</th>" for k in head)
        body = []
        for r in self.table.itertuples():
            name = html.escape(t(f"impact.kpi.{r.kpi}", lang))
            if r.status != "ok":
                why = html.escape(t(r.reason, lang))
                body.append(f"<tr><td>{name}</td><td colspan='6'><i>{why}</i></td></tr>")
                continue
            eff = t("impact.cell.effect", lang, rel=r.rel_effect, lo=r.rel_low, hi=r.rel_high)
            mark = " *" if r.significant else ""
            vals = [
                _num(r.naive_before),
                _num(r.naive_after),
                f"{r.naive_rel:+.1%}",
                _num(r.baseline),
                eff + mark,
                t(f"impact.method.{r.method}", lang),
            ]
            body.append(
                f"<tr><td>{name}</td>"
                + "".join(f"<td>{html.escape(v)}</td>" for v in vals)
                + "</tr>"
            )
        foot = html.escape(t("impact.cell.footnote", lang, level=1 - self.alpha))
        return (
            f"<table class='salesml-impact'><thead><tr>{cells}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table><p><small>{foot}</small></p>"
        )

    def _repr_html_(self) -> str:
        lang = "en"
        notes = "".join(f"<li>{html.escape(n.text(lang))}</li>" for n in self.notes)
        return (
            f"<div class='salesml-result'><b>{html.escape(self.title(lang))}</b>"
            + self.to_html(lang)
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


def _num(v: float) -> str:
    if not np.isfinite(v):
        return ""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def _ratio(s: pd.DataFrame, mean: str = "ratio") -> float:
    return float(ratio_value(s["numerator"].sum(), s["denominator"].sum(), mean))


def _row(kpi: str, est: Estimate, used: pd.DataFrame, freq: str, alpha: float) -> dict[str, Any]:
    """Turn an estimate (on its model scale) into the KPI's unit and relative terms."""
    pre, post = used[~used["post"]], used[used["post"]]
    mean = KPIS[kpi].mean if kpi in KPIS else "ratio"
    observed = _ratio(post, mean)
    if est.scale == "log":
        rel, lo, hi = np.expm1([est.effect, *est.ci])
        baseline = observed / (1 + rel)
        eff, e_lo, e_hi = (observed - observed / (1 + x) for x in (rel, lo, hi))
    else:
        eff, (e_lo, e_hi) = est.effect, est.ci
        baseline = observed - eff
        # a relative change needs a positive baseline (a loss rate near zero has none)
        ok = baseline > 0 and np.isfinite(baseline)
        rel, lo, hi = (x / baseline if ok else np.nan for x in (eff, e_lo, e_hi))
    before, after = _ratio(pre, mean), observed
    return {
        "kpi": kpi,
        "method": est.method,
        "status": "ok",
        "freq": freq,
        "observed": observed,
        "baseline": float(baseline),
        "effect": float(eff),
        "effect_low": float(e_lo),
        "effect_high": float(e_hi),
        "rel_effect": float(rel),
        "rel_low": float(lo),
        "rel_high": float(hi),
        "p_value": est.p_value,
        "significant": bool(est.p_value < alpha),
        "naive_before": before,
        "naive_after": after,
        "naive_effect": after - before,
        "naive_rel": after / before - 1 if before else np.nan,
        "n_pre": int(est.diagnostics.get("n_pre", len(pre))),
        "n_post": int(est.diagnostics.get("n_post", len(post))),
        "reason": "",
    }


def _empty_row(kpi: str, method: str, freq: str, reason: str) -> dict[str, Any]:
    row: dict[str, Any] = {c: np.nan for c in TABLE_COLUMNS}
    row.update(kpi=kpi, method=method, status="not_estimable", freq=freq, reason=reason)
    row.update(significant=False, n_pre=0, n_post=0)
    return row


def impact(
    data: SalesData,
    *,
    go_live: object = None,
    kpis: Sequence[str] | str | None = None,
    method: str = "auto",
    window: int | tuple[int, int] | None = None,
    freq: str = "W",
    region: str | None = None,
    filters: FilterLike = None,
    alpha: float = 0.05,
    seasonality: str = "auto",
) -> ImpactResult:
    """Estimate the effect of a change on each KPI (see the module docstring).

    Parameters
    ----------
    data
        The dataset.
    go_live
        The change's date, or a mapping region -> date when regions went live at
        different dates (default: ``go_live`` of ``dataset.yaml``).
    kpis
        KPI keys (default: every measurable KPI of :data:`salesml.impact.KPIS`).
    method
        ``auto``, ``its``, ``did`` or ``sts``.
    window
        Periods before and after the go-live to use: ``26`` or ``(52, 26)``
        (default: all the data).
    freq
        ``D``, ``W``, ``M`` or ``Q`` (a KPI booked monthly stays monthly).
    region
        Measure one region only (with a per-region ``go_live``, that region's date).
    filters
        Measure on the rows a :class:`~salesml.filters.FilterSpec` keeps (or what it
        parses: ``{"segment": "key_account"}``, ``{"team": ["A", "B"]}``,
        ``"amount >= 50000"``), applied to each KPI's rows as in :func:`kpi_series`.
        A KPI whose rows carry no filtered column gets a ``not_estimable`` row. It
        complements ``region=``, which also picks a region's go-live date.
    alpha
        1 - the coverage of the intervals (0.05: 95%).
    seasonality
        ``auto`` (Chinese New Year and the yearly cycle where the pre-period
        identifies them) or ``none``.

    Returns
    -------
    ImpactResult

    Raises
    ------
    ValueError
        An unknown method, KPI or option, a go-live outside the data, or ``did`` /
        ``sts`` without per-region go-live dates.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if not 0.001 <= float(alpha) <= 0.5:
        raise ValueError(f"alpha must be between 0.001 and 0.5; got {alpha!r}")
    if seasonality not in ("auto", "none"):
        raise ValueError(f"seasonality must be 'auto' or 'none'; got {seasonality!r}")
    gl = parse_go_live(data, go_live)
    win = _parse_window(window)
    staggered = isinstance(gl, dict) and len(set(gl.values())) > 1
    if region is not None:
        region = str(region)
        if isinstance(gl, dict):
            if region not in gl:
                raise ValueError(f"no go-live date for region {region!r}; it has: {sorted(gl)}")
            gl = gl[region]
            staggered = False
    if method == "auto":
        method = "did" if staggered else "its"
    if method in ("did", "sts") and not staggered:
        raise ValueError(
            f"method {method!r} compares regions going live at different dates: pass "
            "go_live as a mapping region -> date with at least two different dates"
        )
    if method == "its" and isinstance(gl, dict):
        if staggered:
            raise ValueError(
                "regions go live at different dates: use method='did' or 'sts', "
                "or choose one region with region="
            )
        gl = next(iter(gl.values()))
    wanted = list(KPIS) if kpis is None else ([kpis] if isinstance(kpis, str) else list(kpis))
    by = "region" if (method in ("did", "sts") or region is not None) else None
    spec = FilterSpec.parse(filters)
    series = kpi_series(data, kpis=wanted, freq=freq, by=by, filters=spec)
    freq_of = series.definitions.set_index("kpi")["freq"].to_dict()
    rows, cfs, diags, notes = [], {}, {}, list(series.notes)
    for r in series.not_measurable.itertuples():
        rows.append(_empty_row(r.kpi, method, freq, f"impact.reason.{r.reason}"))
    # the regressions are small: BLAS threads only contend (0.8 s instead of 2 ms per
    # SVD on a shared 2-core machine), so the fits run single-threaded
    with threadpool_limits(limits=1):
        for kpi in series.definitions["kpi"]:
            _estimate_one(
                kpi,
                series,
                freq_of[kpi],
                method,
                gl,
                win,
                region,
                seasonality,
                alpha,
                rows,
                cfs,
                diags,
                notes,
            )
    order = {k: i for i, k in enumerate(wanted)}
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table = table.sort_values("kpi", key=lambda c: c.map(order).fillna(1e9), kind="stable")
    return ImpactResult(
        table=table.reset_index(drop=True),
        counterfactuals=cfs,
        diagnostics=diags,
        go_live=gl,
        method=method,
        alpha=float(alpha),
        filters=spec,
        notes=notes,
    )


def _estimate_one(
    kpi: str,
    series: Any,
    f: str,
    method: str,
    gl: Any,
    win: tuple[int | None, int | None],
    region: str | None,
    seasonality: str,
    alpha: float,
    rows: list[dict[str, Any]],
    cfs: dict[str, pd.DataFrame],
    diags: dict[str, dict[str, Any]],
    notes: list[Note],
) -> None:
    """Estimate one KPI and append its row, counterfactual, diagnostics and notes."""
    s = _with_end(series.series(kpi), f)
    try:
        if method == "its":
            if region is not None:
                s = s[s["region"] == region]
                if s.empty:
                    raise ImpactInputError(
                        "impact.error.no_region_data",
                        f"no data for region {region!r}",
                        region=region,
                    )
            assert isinstance(gl, pd.Timestamp)
            s = _cut(s, gl, win)
            est = fit_its(
                s, gl, periods_per_year=_PER_YEAR[f], seasonality=seasonality, alpha=alpha
            )
            used = s.merge(est.counterfactual[["period", "post"]], on="period")
        else:
            from salesml.impact.did import fit_did
            from salesml.impact.sts import fit_sts

            assert isinstance(gl, dict)
            fit = fit_did if method == "did" else fit_sts
            est, used = fit(
                s,
                gl,
                window=win,
                periods_per_year=_PER_YEAR[f],
                seasonality=seasonality,
                alpha=alpha,
            )
    except ImpactInputError as e:
        rows.append(_empty_row(kpi, method, f, e.key))
        notes.append(Note(e.key + ".note", (("kpi", kpi), *e.values.items())))
        return
    rows.append(_row(kpi, est, used, f, alpha))
    cfs[kpi] = est.counterfactual
    diags[kpi] = est.diagnostics
    empty_post = est.diagnostics.get("empty_post_periods") or []
    if empty_post:
        notes.append(
            Note(
                "impact.note.empty_post",
                (("kpi", kpi), ("n", len(empty_post)), ("first", empty_post[0])),
            )
        )
