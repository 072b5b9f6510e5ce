"""``capability_scores``: each rep's skill in three scenarios, fair to reps with few events.

See :mod:`salesml.capability.evidence` for what is observed and
:mod:`salesml.capability.model` for how the difficulty adjustment, the combination of
components and the empirical-Bayes shrinkage work.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from salesml.capability.evidence import COMPONENTS, SCENARIOS, Evidence, collect_evidence
from salesml.capability.model import MIN_REPS, adjusted_rep_means, codes, combine_components
from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, label, t
from salesml.results import AnalysisResult, Note

__all__ = [
    "LEVEL",
    "Z90",
    "CapabilityResult",
    "capability_scores",
    "data_end",
    "note_text",
    "parse_window",
    "rep_label",
]

#: Tables the scores read (the rest of a dataset is not cut or copied).
TABLES = ("collab_events", "activities", "deals", "customers", "reps", "stage_history")
#: The activity columns the evidence reads (its kinds, times, replies, quality, whose
#: deal and rep): a report or app loading tier L reads only these.
COLUMNS: dict[str, tuple[str, ...]] = {
    "activities": (
        "customer_id",
        "deal_id",
        "rep_id",
        "kind",
        "occurred_at",
        "responded_at",
        "quality",
    ),
}
#: Difficulty factors per component (besides the rep; region is handled by comparing
#: reps within their region).
_FACTORS = {
    "timeliness": ("month", "segment", "size_band"),
    "quality": ("month", "segment", "size_band", "source"),
    "outcome": ("month", "segment", "size_band", "product_line", "source"),
    "field": ("month", "segment", "size_band", "source"),
}
#: Two-sided level of the intervals.
LEVEL = 0.90
Z90 = float(stats.norm.ppf(0.5 + LEVEL / 2))
#: Longest window accepted (days).
MAX_WINDOW_DAYS = 3660
#: Rep dimensions a filter may restrict the listed reps by.
_REP_DIMS = {"team": "team", "rep_region": "region", "manager_id": "manager_id"}
#: A ``region`` filter (the customers' region) also lists only the reps of that region,
#: unless the filter names ``rep_region`` itself.
_REGION_AS_REP = "region"


def parse_window(window: int | float | str | pd.Timedelta | None) -> pd.Timedelta | None:
    """The look-back window: days (a number), a duration text (``"180D"``) or ``None`` (all).

    Raises
    ------
    ValueError
        A window that is not positive, longer than :data:`MAX_WINDOW_DAYS` days, or text
        pandas cannot read as a duration.
    """
    if window is None:
        return None
    if isinstance(window, bool):
        raise ValueError(f"window must be a number of days or a duration, got {window!r}")
    if isinstance(window, (int, float, np.integer, np.floating)):
        td = pd.Timedelta(days=float(window))
    elif isinstance(window, str):
        if len(window) > 20:
            raise ValueError(f"window text is too long: {window[:20]!r}...")
        try:
            td = pd.Timedelta(window.strip())
        except ValueError as e:
            raise ValueError(
                f"window {window!r} is not a duration (write days as a number or '180D')"
            ) from e
    elif isinstance(window, pd.Timedelta):
        td = window
    else:
        raise ValueError(f"window must be a number of days or a duration, got {window!r}")
    if not td > pd.Timedelta(0) or td > pd.Timedelta(days=MAX_WINDOW_DAYS):
        raise ValueError(f"window must be between 0 and {MAX_WINDOW_DAYS} days, got {td}")
    return td


@dataclass(kw_only=True)
class CapabilityResult(AnalysisResult):
    """Capability scores: one row per rep and scenario.

    ``table`` columns: ``rep_id, name, team, region, scenario`` then

    - ``score``: the shrunk (empirical-Bayes) skill in standard deviations of the
      reps' skills (0 = the average rep), with ``lower``/``upper`` its 90% interval and
      ``score_sd`` its posterior standard deviation;
    - ``percentile``: where ``score`` sits in the reps' skill distribution (0-100);
    - ``raw``/``raw_sd``: the unshrunk estimate (precision-weighted over components);
    - ``timeliness``, ``quality``, ``outcome``, ``field``: each component's own shrunk
      estimate (``field``: demos, visits and meetings; none for delivery);
    - ``evidence`` (events behind the score), ``n_timeliness``, ``n_quality``,
      ``n_outcome``, ``n_field``, and ``low_evidence`` (fewer than ``min_events`` events).

    Attributes
    ----------
    components
        Per scenario and component: ``loading`` (how strongly the component moves
        with the skill), ``nuisance_var`` (rep-level variation that is not the
        skill), ``between_var``, ``event_sd``, ``events``, ``used``.
    dropped
        Rows of the input left out and why (``table, reason, value, rows``).
    window_start
        Start of the look-back window (exclusive), or ``None``.
    min_events
        The low-evidence threshold.
    """

    title_key: ClassVar[str] = "capability.title"

    components: pd.DataFrame = field(default_factory=pd.DataFrame)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)
    window_start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    min_events: int = 20

    def summary(self) -> pd.DataFrame:
        """Score, interval and evidence, one row per rep (scenarios side by side)."""
        if not len(self.table):
            return self.table
        tab = self.table
        wide = tab.pivot(
            index="rep_id", columns="scenario", values=["score", "lower", "upper", "evidence"]
        )
        cols = [(v, s) for s in SCENARIOS for v in ("score", "lower", "upper", "evidence")]
        wide = wide[[c for c in cols if c in wide.columns]]
        wide.columns = [f"{s}_{v}" for v, s in wide.columns]
        who = tab.drop_duplicates("rep_id").set_index("rep_id")[["name", "team"]]
        wide = who.join(wide)
        return wide.reset_index()

    def low_evidence_reps(self) -> pd.DataFrame:
        """Rows whose score rests on fewer than ``min_events`` events."""
        return self.table.loc[self.table["low_evidence"]]

    def key_findings(self, lang: str = "en") -> list[str]:
        """Strongest rep per scenario (when the interval clears the average) and caveats."""
        check_lang(lang)
        out = []
        tab = self.table
        for s in SCENARIOS:
            rows = tab[(tab["scenario"] == s) & ~tab["low_evidence"]]
            if not len(rows):
                continue
            best = rows.loc[rows["score"].idxmax()]
            key = (
                "capability.finding.top" if best["lower"] > 0 else "capability.finding.top_unclear"
            )
            out.append(
                t(
                    key,
                    lang,
                    scenario=label(s, lang),
                    rep=rep_label(best),
                    score=best["score"],
                    lower=best["lower"],
                    upper=best["upper"],
                    n=int(best["evidence"]),
                )
            )
        n_low = int(tab.loc[tab["low_evidence"], "rep_id"].nunique())
        if n_low:
            out.append(t("capability.finding.low_evidence", lang, n=n_low, k=self.min_events))
        out.extend(note_text(n, lang) for n in self.notes)
        return out

    def _repr_html_(self) -> str:
        lang = "en"
        head = super()._repr_html_()
        comp = self.components.rename(columns=lambda c: label(c, lang))
        return head[: -len("</div>")] + (
            f"<details><summary>{html.escape(t('capability.components', lang))}</summary>"
            f"{comp.to_html(border=0, float_format=lambda x: f'{x:.3f}')}</details></div>"
        )


def note_text(note: Note, lang: str) -> str:
    """A note in ``lang``, its scenario, component and role values in that language too."""
    values = {k: label(v, lang) if k in ("scenario", "component") else v for k, v in note.values}
    return t(note.key, lang, **values)


def rep_label(row: pd.Series) -> str:
    name = row.get("name")
    return f"{name} ({row['rep_id']})" if isinstance(name, str) and name else str(row["rep_id"])


def _cut(data: SalesData, as_of: pd.Timestamp | None) -> SalesData:
    part = SalesData({n: data[n] for n in TABLES if data.has(n)}, data.config, source=data.source)
    return part.as_of(as_of) if as_of is not None else part


def data_end(data: SalesData) -> pd.Timestamp | None:
    ends = []
    for name, col in (
        ("collab_events", "occurred_at"),
        ("activities", "occurred_at"),
        ("deals", "created_at"),
    ):
        if data.has(name) and col in data[name] and len(data[name]):
            v = pd.to_datetime(data[name][col], errors="coerce").max()
            if pd.notna(v):
                ends.append(v)
    return max(ends) if ends else None


def _reps_frame(data: SalesData, seen: pd.Index, spec: FilterSpec) -> pd.DataFrame:
    """Reps to list: the reps table (kept by rep-level filters) plus reps seen in events."""
    if data.has("reps") and "rep_id" in data.reps:
        r = data.reps
        cols = [c for c in ("rep_id", "name", "team", "region", "manager_id") if c in r]
        reps = r[cols].drop_duplicates("rep_id").copy()
        reps["rep_id"] = reps["rep_id"].astype("str")
    else:
        reps = pd.DataFrame({"rep_id": pd.Series([], dtype=object)})
    extra = seen.difference(pd.Index(reps["rep_id"]))
    if len(extra):
        reps = pd.concat([reps, pd.DataFrame({"rep_id": extra.astype(object)})], ignore_index=True)
    for c in ("name", "team", "region", "manager_id"):
        if c not in reps:
            reps[c] = None
    for dim, col in _REP_DIMS.items():
        wanted = spec.get(dim)
        if wanted is not None:
            reps = reps[reps[col].isin(list(wanted)).to_numpy()]
    region = spec.get(_REGION_AS_REP)
    if region is not None and spec.get("rep_region") is None:
        reps = reps[reps["region"].isin(list(region)).to_numpy()]
    return reps.reset_index(drop=True)


def capability_scores(
    data: SalesData,
    *,
    as_of: str | pd.Timestamp | None = None,
    window: int | float | str | pd.Timedelta | None = 365,
    filters: FilterLike = None,
    min_events: int = 20,
) -> CapabilityResult:
    """Each rep's capability in technical, commercial and delivery work.

    Parameters
    ----------
    data
        The dataset; reads ``collab_events`` (colleague requests and responses,
        revisions, delivery documents), ``activities`` (customer messages and the
        replies), ``deals``, ``customers``, ``reps`` and ``stage_history``.
    as_of
        Use only what was known at this instant (:meth:`SalesData.as_of`); default:
        everything.
    window
        Look-back window ending at ``as_of`` (or the last event): days as a number,
        a duration such as ``"180D"``, or ``None`` for all history.
    filters
        Deals whose events count (deal columns and the dimensions ``region``,
        ``segment``, ``team``, ``rep_region``...); ``team``, ``rep_region`` and
        ``manager_id`` also restrict the reps listed.
    min_events
        Scores resting on fewer events are flagged ``low_evidence``.

    Returns
    -------
    CapabilityResult
        One row per rep and scenario (see :class:`CapabilityResult`).

    Raises
    ------
    ValueError
        Without ``deals``, or with neither collaboration events nor customer messages
        to score from; for a window or threshold out of bounds; naming the table and
        column a needed column is missing from.
    """
    spec = FilterSpec.parse(filters)
    td = parse_window(window)
    if not isinstance(min_events, (int, np.integer)) or not 1 <= int(min_events) <= 10_000:
        raise ValueError(f"min_events must be a whole number from 1 to 10000, got {min_events!r}")
    data.require("deals", analysis="capability scores")
    ts = None
    if as_of is not None:
        ts = pd.Timestamp(as_of)
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
    view = _cut(data, ts)
    end = ts if ts is not None else data_end(view)
    if end is None:
        raise ValueError(
            "capability scores need dated collab_events or activities; the dataset has none"
        )
    lo = end - td if td is not None else pd.Timestamp.min
    ev = collect_evidence(view, lo=lo, hi=end, filters=spec)
    notes = _input_notes(view, ev, spec)
    obs = ev.obs
    if not len(obs):
        raise ValueError(
            "capability scores found no events to score in the window: collab_events "
            "(responses, revisions, documents) and activities (answered messages) are "
            "empty or absent" + (f" after {lo:%Y-%m-%d}" if td is not None else "")
        )
    reps = _reps_frame(view, pd.Index(obs["rep_id"].unique()), spec)
    rep_idx = pd.Index(reps["rep_id"])
    obs = obs[rep_idx.get_indexer(obs["rep_id"]) >= 0]
    rep_code = rep_idx.get_indexer(obs["rep_id"])
    region = codes(reps["region"])
    n_reps = len(reps)
    rows, comp_rows = [], []
    for s in SCENARIOS:
        fits = []
        for c in COMPONENTS:
            m = ((obs["scenario"] == s) & (obs["component"] == c)).to_numpy()
            part = obs.loc[m]
            factors = [codes(part[f]) for f in _FACTORS[c]]
            fits.append(
                adjusted_rep_means(
                    part["value"].to_numpy(float), rep_code[m], n_reps, factors, region
                )
            )
        comb = combine_components(fits)
        for k, c in enumerate(COMPONENTS):
            used = bool(np.isfinite(comb.b[k]))
            comp_rows.append(
                {
                    "scenario": s,
                    "component": c,
                    "events": int(fits[k].n.sum()),
                    "loading": comb.b[k],
                    "nuisance_var": comb.psi[k],
                    "between_var": comb.between[k],
                    "event_sd": float(np.sqrt(fits[k].s2)),
                    "used": used,
                }
            )
            if fits[k].n.sum() > 0 and not used:
                n_seen = int((fits[k].n > 0).sum())
                key = (
                    "capability.note.too_few_reps"
                    if n_seen < MIN_REPS
                    else "capability.note.no_signal"
                )
                notes.append(
                    Note(key, (("scenario", s), ("component", c), ("n", n_seen), ("k", MIN_REPS)))
                )
        n_used = np.zeros(n_reps)
        for k, f in enumerate(fits):
            if np.isfinite(comb.b[k]):
                n_used += f.n
        frame = pd.DataFrame(
            {
                "rep_id": reps["rep_id"],
                "name": reps["name"],
                "team": reps["team"],
                "region": reps["region"],
                "scenario": s,
                "score": comb.score,
                "lower": comb.score - Z90 * comb.sd,
                "upper": comb.score + Z90 * comb.sd,
                "score_sd": comb.sd,
                "percentile": 100 * stats.norm.cdf(comb.score),
                "raw": comb.raw,
                "raw_sd": comb.raw_sd,
            }
        )
        for k, c in enumerate(COMPONENTS):
            frame[c] = comb.component[:, k] if np.isfinite(comb.b[k]) else np.nan
        frame["evidence"] = n_used.astype(np.int64)
        for k, c in enumerate(COMPONENTS):
            frame[f"n_{c}"] = fits[k].n.astype(np.int64)
        frame["low_evidence"] = frame["evidence"] < int(min_events)
        rows.append(frame)
    table = pd.concat(rows, ignore_index=True)
    no_ev = reps["rep_id"][~rep_idx.isin(obs["rep_id"].unique())]
    if len(no_ev):
        notes.append(
            Note(
                "capability.note.reps_without_events",
                (("n", len(no_ev)), ("reps", ", ".join(map(str, no_ev[:5])))),
            )
        )
    dropped = pd.DataFrame(ev.dropped, columns=["table", "reason", "value", "rows"])
    return CapabilityResult(
        table=table,
        as_of=ts,
        filters=spec,
        notes=notes,
        components=pd.DataFrame(comp_rows),
        dropped=dropped,
        window_start=lo if td is not None else None,
        end=end,
        min_events=int(min_events),
    )


def _input_notes(view: SalesData, ev: Evidence, spec: FilterSpec) -> list[Note]:
    """Caveats about the input: missing collaboration events, rows left out."""
    notes = []
    if not view.has("collab_events") or not len(view.collab_events):
        notes.append(Note("capability.note.no_collab"))
    for d in ev.dropped:
        if d["reason"] == "unknown_role":
            notes.append(
                Note("capability.note.unknown_role", (("role", d["value"]), ("n", d["rows"])))
            )
        elif d["reason"] == "response_without_request":
            notes.append(Note("capability.note.response_without_request", (("n", d["rows"]),)))
    if spec:
        notes.append(Note("capability.note.filtered"))
    return notes
