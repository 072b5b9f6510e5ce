"""State of the deal what-if app: controls and results as traits; no widgets.

The model is the one the ``deal_health_weekly`` report fits for the same period
(:func:`salesml.health.fit_as_of`), so the deals the report flags are here with the
same scores. The app offers:

- a deal picker over every deal open at the review instant, most urgent first (at
  risk, then watch, lowest score first), each option showing the deal, its owner,
  amount and score; :attr:`DealWhatifState.search` narrows it (deal id, owner,
  amount, band: plain text, no patterns);
- the actionable features that actually move *this* model (:attr:`drivers`): for each
  candidate, the partial-dependence range of the score over a grid of values,
  averaged over the deals offered; features that move it by less than a point are
  not offered;
- for the chosen deal, the drivers that do not move *its* score at all
  (:attr:`DealWhatifResult.no_effect`), said in the app;
- the edited score with its interval and the reasons, what hurts first (▼) and what
  helps (▲).

Changing ``deal_id`` loads the deal's values into :attr:`values`; changing a value
(:meth:`set_value`) rescores the edited snapshot (one ``result`` update per change).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from traitlets import Dict, Instance, List, Unicode, observe

from salesml.apps.base import AppState, dataset_path
from salesml.data.bundle import SalesData
from salesml.health import (
    ACTIONABLE_FEATURES,
    AsOfFit,
    DealHealthModel,
    band_name,
    build_features,
    fit_as_of,
    review_as_of,
)
from salesml.i18n import label, money, t
from salesml.scoring.explain import join_reasons, reason_items

__all__ = ["PERIOD_ENV", "DealWhatifResult", "DealWhatifState", "Driver"]

#: Environment variable naming the review period the app opens on (as the report's).
PERIOD_ENV = "SALESML_PERIOD"
#: Longest search text accepted (characters).
MAX_SEARCH = 100
_BAND_ORDER = {"at_risk": 0, "watch": 1, "healthy": 2}


@dataclass(frozen=True)
class Driver:
    """An actionable feature offered as a control.

    Attributes
    ----------
    feature
        The snapshot column it edits.
    low, high, step
        Control range and step.
    integer
        Whether the feature counts things (whole values only).
    effect
        Mean score range (points) over the deals offered when the feature moves
        across ``low`` .. ``high``.
    """

    feature: str
    low: float
    high: float
    step: float
    integer: bool
    effect: float

    def grid(self, n: int = 9) -> np.ndarray:
        """Values the partial dependence is evaluated at."""
        g = np.linspace(self.low, self.high, n)
        return np.unique(np.round(g)) if self.integer else g

    def label(self, lang: str = "en") -> str:
        """The feature's display name."""
        return label(self.feature, lang)


@dataclass(frozen=True)
class DealWhatifResult:
    """One rescoring.

    Attributes
    ----------
    deal_id
        The deal.
    actual_score, score
        Health score (0-100) of the deal as it is, and with the edited values.
    band, low, high
        Band and interval of the edited score (``low``/``high`` on the 0-100 scale).
    reasons
        The five strongest reasons of the edited snapshot, what hurts first
        (``rank``, ``reason``, ``contribution``, ``direction``, ``effect``, ``phrase``).
    reason_items
        The same as list items for people: ``"▼ No reply 5 days after quote viewed"``.
    reasons_text
        The same as one line: ``"▼ No reply 5 days after quote viewed; ▲ ..."``.
    contributions
        All reason contributions of the edited snapshot (plus ``bias``), for the waterfall.
    phrases
        reason -> phrase of every reason of the edited snapshot (the waterfall's labels).
    no_effect
        Drivers that do not move this deal's score: ``(feature, low, high)`` each.
    snapshot
        The edited one-row snapshot.
    """

    deal_id: str
    actual_score: float
    score: float
    band: str
    low: float
    high: float
    reasons: pd.DataFrame
    reason_items: tuple[str, ...]
    reasons_text: str
    contributions: pd.Series
    phrases: pd.Series
    no_effect: tuple[tuple[str, float, float], ...]
    snapshot: pd.DataFrame


def _is_integer(values: pd.Series) -> bool:
    v = values.dropna().to_numpy(dtype="float64")
    return bool(len(v)) and bool(np.all(np.equal(np.round(v), v)))


class DealWhatifState(AppState):
    """Deal what-if: one open deal, the drivers that move the model, live score and reasons.

    Parameters
    ----------
    data
        The dataset (needs ``deals``; other tables add features when present).
    fit
        A fit from :func:`salesml.health.fit_as_of` (default: made here for
        ``period`` / ``as_of``, as the report makes it).
    model
        Instead of ``fit``: a fitted :class:`DealHealthModel` (then ``as_of`` or the
        end of the data is the instant).
    period, as_of
        The review instant (see :func:`salesml.health.review_as_of`); default
        ``$SALESML_PERIOD`` if set, else the end of the data.
    max_options
        Options the picker shows at most (the search reaches every open deal).
    sample
        Deals the drivers' effects are averaged over (evenly spread, most urgent included).
    min_effect
        Score points a feature must move on average to be offered.
    max_drivers
        Controls offered at most (strongest effect first).
    drivers
        The drivers to offer, found before for the same model and instant (skips
        their search; :meth:`from_dataset` keeps them with the cached model).
    lang
        ``en`` or ``zh``.
    """

    deal_id = Unicode("")
    search = Unicode("")
    values = Dict()
    options = List()
    result = Instance(DealWhatifResult, allow_none=True)

    def __init__(
        self,
        data: SalesData,
        *,
        fit: AsOfFit | None = None,
        model: DealHealthModel | None = None,
        period: str | None = None,
        as_of: str | pd.Timestamp | None = None,
        max_options: int = 200,
        sample: int = 200,
        min_effect: float = 1.0,
        max_drivers: int = 8,
        drivers: list[Driver] | None = None,
        lang: str = "en",
        **kwargs: object,
    ) -> None:
        super().__init__(lang=lang, **kwargs)
        data.require("deals", analysis="the deal what-if app")
        self.period = period
        if fit is None and model is None:
            fit = fit_as_of(data, period=period, as_of=as_of)
        if fit is not None:
            model, t_ = fit.model, fit.as_of
        else:
            t_ = review_as_of(data, as_of=as_of)
        assert model is not None
        self.fit = fit
        self.model = model
        self.as_of = pd.Timestamp(t_)
        self.currency = data.config.currency
        self.max_options = max_options
        feats = build_features(data, as_of=self.as_of)
        scores = model.score(feats)
        owners = feats["rep_id"].astype("str")
        if data.has("reps") and "name" in data.reps:
            names = data.reps.drop_duplicates("rep_id").set_index("rep_id")["name"].astype("str")
            owners = feats["rep_id"].map(names).fillna(owners).astype("str")
        order = pd.DataFrame(
            {
                "band": scores["band"].map(_BAND_ORDER).fillna(3).to_numpy(),
                "score": scores["health_score"].to_numpy(),
                "amount": -pd.to_numeric(feats["amount"], errors="coerce").fillna(0).to_numpy(),
            },
            index=feats.index,
        ).sort_values(["band", "score", "amount"], kind="stable")
        feats = feats.loc[order.index]
        scores = scores.loc[order.index]
        self.features = feats.set_index("deal_id", drop=False)
        self.scores = scores.set_index("deal_id", drop=False)
        self.owners = pd.Series(owners.loc[order.index].to_numpy(), index=self.features.index)
        self.deals = list(self.features.index)
        self._labels = pd.Series(
            [self._option_label(d) for d in self.deals], index=self.deals, dtype="str"
        )
        keys = self._labels + " " + self.features["rep_id"].astype("str").to_numpy()
        self._search_keys = keys.str.casefold()
        self.candidates = [f for f in ACTIONABLE_FEATURES if f in model.required_columns()]
        self.drivers = (
            list(drivers)
            if drivers is not None
            else self._find_drivers(sample, min_effect, max_drivers)
        )
        self._loading = False
        self._update_options()
        if self.deals:
            self.deal_id = self.deals[0]

    # ------------------------------------------------------------------ setup
    @classmethod
    def from_dataset(
        cls,
        dataset: str | os.PathLike[str] | None = None,
        *,
        period: str | None = None,
        lang: str = "en",
    ) -> DealWhatifState:
        """Load a dataset folder (default ``$SALESML_DATASET`` or ``datasets/demo``).

        Only the tables and columns deal health reads are loaded, ids and categories
        compact (:func:`salesml.health.load_health_data`), so a big dataset's kernel
        stays small.

        ``period`` defaults to ``$SALESML_PERIOD`` (unset: the end of the data).
        """
        from salesml.apps.cache import ModelCache
        from salesml.health import load_health_data

        period = period or os.environ.get(PERIOD_ENV) or None
        data = load_health_data(dataset_path(dataset))
        as_of = review_as_of(data, period=period)
        # the report's fit for this data and instant, and the drivers it offers, saved
        # by the first kernel to need them
        cache = ModelCache(data, as_of=as_of)
        model, _ = cache.deal_health()
        saved = cache.read_json("deal_whatif_drivers.json")
        try:
            drivers = [Driver(**d) for d in saved] if isinstance(saved, list) else None
        except TypeError:
            drivers = None
        state = cls(data, model=model, period=period, as_of=as_of, lang=lang, drivers=drivers)
        if drivers is None:
            cache.write_json("deal_whatif_drivers.json", [asdict(d) for d in state.drivers])
        return state

    def _option_label(self, deal: str) -> str:
        s = self.scores.loc[deal]
        return t(
            "deal_whatif.option",
            self.lang,
            deal=deal,
            owner=self.owners.loc[deal],
            amount=money(s["amount"], self.currency) if "amount" in s else "",
            score=float(s["health_score"]),
            band=band_name(str(s["band"]), self.lang),
        )

    def _range(self, feature: str) -> tuple[float, float, bool]:
        v = pd.to_numeric(self.features[feature], errors="coerce")
        integer = _is_integer(v) or feature.startswith(("n_", "touches_"))
        fin = v.dropna()
        lo = min(0.0, float(fin.quantile(0.01))) if len(fin) else 0.0
        hi = float(fin.quantile(0.99)) * 1.5 if len(fin) else 1.0
        hi = max(hi, lo + (4.0 if integer else 1.0), float(fin.max()) if len(fin) else 0.0)
        if integer or hi >= 10:
            lo, hi = float(np.floor(lo)), float(np.ceil(hi))
        else:
            lo, hi = float(np.floor(lo * 10) / 10), float(np.ceil(hi * 10) / 10)
        return lo, hi, integer

    def _find_drivers(self, sample: int, min_effect: float, max_drivers: int) -> list[Driver]:
        n = len(self.features)
        if not n or not self.candidates:
            return []
        at = np.unique(np.linspace(0, n - 1, min(sample, n)).round().astype(int))
        base = self.features.iloc[at].reset_index(drop=True)
        found = []
        for f in self.candidates:
            lo, hi, integer = self._range(f)
            step = 1.0 if integer else max((hi - lo) / 100, 0.01)
            d = Driver(f, lo, hi, step, integer, 0.0)
            scores = self._pd_scores(base, f, d.grid())
            effect = float(np.mean(scores.max(axis=1) - scores.min(axis=1)))
            found.append(Driver(f, lo, hi, step, integer, round(effect, 2)))
        found.sort(key=lambda d: -d.effect)
        return [d for d in found if d.effect >= min_effect][:max_drivers]

    def _pd_scores(self, base: pd.DataFrame, feature: str, grid: np.ndarray) -> np.ndarray:
        """Scores (rows x grid values) of ``base`` with ``feature`` set to each grid value."""
        stacked = pd.concat([base] * len(grid), ignore_index=True)
        stacked[feature] = np.repeat(grid, len(base))
        p = 100 * self.model.predict_proba(stacked).to_numpy()
        return p.reshape(len(grid), len(base)).T

    # ------------------------------------------------------------------ search
    def matching(self, text: str) -> list[str]:
        """Deals whose option text contains ``text`` (case-insensitive, plain text)."""
        text = text.strip()[:MAX_SEARCH].casefold()
        if not text:
            return list(self.deals)
        hit = self._search_keys.str.contains(text, regex=False)
        return list(self._search_keys.index[hit.to_numpy()])

    def _update_options(self) -> None:
        ids = self.matching(self.search)[: self.max_options]
        if self.deal_id and self.deal_id in self._labels.index and self.deal_id not in ids:
            ids = [self.deal_id, *ids]
        self.n_matching = len(self.matching(self.search))
        self.options = [(self._labels.loc[d], d) for d in ids]

    @observe("search")
    def _on_search(self, change: dict[str, object]) -> None:
        if len(self.search) > MAX_SEARCH:
            self.search = self.search[:MAX_SEARCH]
            return
        self._update_options()

    # ------------------------------------------------------------------ controls
    @observe("deal_id")
    def _on_deal(self, change: dict[str, object]) -> None:
        if self.deal_id not in self.features.index:
            self.error = f"deal {self.deal_id!r} is not among the open deals offered"
            return
        row = self.features.loc[self.deal_id]
        vals = {}
        for f in self.candidates:
            v = row[f]
            # a missing value (no message answered yet) stays missing until moved
            vals[f] = float("nan") if pd.isna(v) else float(v)
        self._loading = True
        try:
            self.values = vals
        finally:
            self._loading = False
        self._update_options()
        self.recompute()

    def set_value(self, feature: str, value: float) -> None:
        """Set one feature of the chosen deal (rescoring it)."""
        if feature not in self.candidates:
            raise ValueError(
                f"{feature!r} is not an actionable feature of this model; "
                f"choose from {', '.join(self.candidates)}"
            )
        value = float(value)
        if not np.isfinite(value) or value < -1e6 or value > 1e7:
            raise ValueError(f"{feature}: {value!r} is not a usable value")
        self.values = {**self.values, feature: value}

    @observe("values")
    def _on_values(self, change: dict[str, object]) -> None:
        if not self._loading:
            self.recompute()

    def edited_snapshot(self) -> pd.DataFrame:
        """The chosen deal's snapshot with the controls' values."""
        snap = self.features.loc[[self.deal_id]].reset_index(drop=True)
        for f, v in self.values.items():
            snap[f] = float(v)
        return snap

    def _no_effect(self, actual: pd.DataFrame) -> tuple[tuple[str, float, float], ...]:
        out = []
        for d in self.drivers:
            s = self._pd_scores(actual, d.feature, d.grid())[0]
            if float(s.max() - s.min()) < 0.5:
                out.append((d.feature, d.low, d.high))
        return tuple(out)

    def recompute(self) -> None:
        """Rescore the edited snapshot and recompute its reasons (errors go to ``error``)."""
        if not self.deal_id or self.deal_id not in self.features.index:
            return
        with self.computing():
            actual = self.features.loc[[self.deal_id]].reset_index(drop=True)
            edited = self.edited_snapshot()
            sc = self.model.score(edited).iloc[0]
            base = float(100 * self.model.predict_proba(actual).iloc[0])
            contrib = self.model.contributions(edited).iloc[0]
            n_all = max(len(contrib) - 1, 1)
            every = self.model.explain(edited, top=n_all, lang=self.lang)
            top = self.model.explain(edited, top=5, lang=self.lang, order="hurts_first")
            self.result = DealWhatifResult(
                deal_id=self.deal_id,
                actual_score=base,
                score=float(100 * sc["win_prob"]),
                band=str(sc["band"]),
                low=float(100 * sc["low"]),
                high=float(100 * sc["high"]),
                reasons=top[["rank", "reason", "contribution", "direction", "effect", "phrase"]],
                reason_items=tuple(reason_items(top["phrase"], top["effect"], lang=self.lang)),
                reasons_text=join_reasons(top["phrase"], top["effect"], lang=self.lang),
                contributions=contrib,
                phrases=every.set_index("reason")["phrase"],
                no_effect=self._no_effect(actual),
                snapshot=edited,
            )

    # ------------------------------------------------------------------ words
    def heading(self) -> str:
        """Which deals the picker offers: the instant, and the review period if any."""
        if self.period:
            return t(
                "deal_whatif.as_of", self.lang, as_of=f"{self.as_of:%Y-%m-%d}", period=self.period
            )
        return t("deal_whatif.as_of_latest", self.lang, as_of=f"{self.as_of:%Y-%m-%d}")

    def no_effect_text(self) -> list[str]:
        """One sentence per driver that does not move the chosen deal's score."""
        r = self.result
        if r is None:
            return []
        out = []
        for f, lo, hi in r.no_effect:
            out.append(
                t(
                    "deal_whatif.no_effect",
                    self.lang,
                    feature=label(f, self.lang),
                    low=f"{lo:g}",
                    high=f"{hi:g}",
                )
            )
        if not self.drivers:
            out.append(t("deal_whatif.no_driver", self.lang))
        return out

    def matches_text(self) -> str:
        """How many open deals the search matches."""
        return t(
            "deal_whatif.matches",
            self.lang,
            shown=f"{getattr(self, 'n_matching', len(self.deals)):,}",
            total=f"{len(self.deals):,}",
        )
