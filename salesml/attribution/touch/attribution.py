"""The entry points of multi-touch attribution: models side by side, transition matrix, order.

Every function takes a dataset (journeys are built with
:func:`~salesml.attribution.journeys`), a :class:`~salesml.attribution.journeys.Journeys`
result, or a frame of journeys or aggregated paths in ChannelAttribution's conventions,
and returns a result object (:mod:`salesml.results`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from salesml.attribution.journeys import Journeys, journey_frame
from salesml.attribution.touch import markov as mk
from salesml.attribution.touch.models import COLUMNS, heuristic, shapley, tidy, time_decay
from salesml.attribution.touch.order import order_table
from salesml.attribution.touch.paths import PathTable, path_table
from salesml.data.bundle import SalesData
from salesml.filters import FilterLike
from salesml.i18n import check_lang, label, t
from salesml.periods import PeriodLike
from salesml.results import AnalysisResult

__all__ = [
    "MODELS",
    "OrderChoice",
    "TouchAttribution",
    "TransitionMatrix",
    "choose_order",
    "model_label",
    "touch_attribution",
    "transition_matrix",
]

MODELS: tuple[str, ...] = (
    "first",
    "last",
    "linear",
    "position",
    "time_decay",
    "markov",
    "shapley",
)
#: Largest ``max_exact`` accepted (exact Shapley values enumerate 2**n coalitions).
MAX_EXACT_SHAPLEY = 20
#: Largest ``n_samples`` accepted for sampled Shapley values.
MAX_SHAPLEY_SAMPLES = 100_000

Source = SalesData | Journeys | pd.DataFrame


def model_label(model: str, lang: str = "en") -> str:
    """Display name of a model code (``markov_2`` -> "Markov (order 2)")."""
    if model.startswith("markov_") and model[7:].isdigit():
        return t("attribution.model.markov_order", lang, order=int(model[7:]))
    return label(model, lang)


def _paths(
    source: Source,
    *,
    period: PeriodLike,
    as_of: str | pd.Timestamp | None,
    filters: FilterLike,
    sep: str,
    empty_touches: Literal["drop", "raise"],
    activity_label: Literal["kind", "channel"] | None,
    require_conversions: bool = True,
) -> tuple[pd.DataFrame, PathTable, dict]:
    frame, p, ts, spec = journey_frame(
        source, period=period, as_of=as_of, filters=filters, activity_label=activity_label
    )
    pt = path_table(
        frame, sep=sep, empty_touches=empty_touches, require_conversions=require_conversions
    )
    return frame, pt, {"period": p, "as_of": ts, "filters": spec, "notes": list(pt.notes)}


# ---------------------------------------------------------------------- models side by side
@dataclass(kw_only=True)
class TouchAttribution(AnalysisResult):
    """Result of :func:`touch_attribution`.

    Attributes
    ----------
    table
        ``model, channel, conversions, share, value, removal_effect, se``: one row per
        model and channel; ``conversions`` add up to the total conversions for every
        model; ``removal_effect`` only for Markov, ``se`` only for Shapley (0 when exact).
    models
        The models, in the order asked.
    order
        The Markov order used (``None`` without a Markov model).
    markov
        Markov details: ``n_states``, ``p_conversion``, ``solver`` (empty without one).
    orders
        The order comparison when ``order="auto"`` (see :func:`choose_order`).
    """

    title_key: ClassVar[str] = "attribution.touch.title"
    models: tuple[str, ...] = ()
    order: int | None = None
    markov: dict[str, object] | None = None
    orders: pd.DataFrame | None = None

    def summary(self) -> pd.DataFrame:
        """Share of conversions per channel (rows) and model (columns, in the order asked)."""
        wide = self.table.pivot(index="channel", columns="model", values="share")
        names = [m for m in dict.fromkeys(self.table["model"]) if m in wide.columns]
        out = wide[names].reset_index()
        out.columns.name = None
        return out

    def key_findings(self, lang: str = "en") -> list[str]:
        """The channel each model credits most and where the models disagree."""
        check_lang(lang)
        out: list[str] = []
        tab = self.table
        if len(tab):
            lead = next((m for m in tab["model"].unique() if str(m).startswith("markov")), None)
            lead = lead or str(tab["model"].iloc[0])
            g = tab[tab["model"] == lead].dropna(subset=["share"])
            if len(g):
                top = g.loc[g["share"].idxmax()]
                out.append(
                    t(
                        "attribution.finding.top_channel",
                        lang,
                        model=model_label(lead, lang),
                        channel=label(top["channel"], lang),
                        share=f"{top['share']:.0%}",
                    )
                )
            wide = self.summary().set_index("channel")
            if wide.shape[1] >= 2 and len(wide):
                spread = wide.max(axis=1) - wide.min(axis=1)
                ch = spread.idxmax()
                if spread[ch] > 0:
                    row = wide.loc[ch]
                    out.append(
                        t(
                            "attribution.finding.disagree",
                            lang,
                            channel=label(ch, lang),
                            low=f"{row.min():.0%}",
                            low_model=model_label(str(row.idxmin()), lang),
                            high=f"{row.max():.0%}",
                            high_model=model_label(str(row.idxmax()), lang),
                        )
                    )
        if self.orders is not None and self.order is not None:
            out.append(t("attribution.finding.order_chosen", lang, order=self.order))
        return out + super().key_findings(lang)


def touch_attribution(
    journeys: Source,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    model: str | Sequence[str] = "markov",
    order: int | Literal["auto"] = 1,
    max_order: int = 4,
    half_life_days: float = 7.0,
    max_exact: int = 15,
    n_samples: int = 2000,
    seed: int = 0,
    sep: str = ">",
    empty_touches: Literal["drop", "raise"] = "drop",
    activity_label: Literal["kind", "channel"] | None = "kind",
    solver: mk.Solver = "auto",
    threads: int = mk.DEFAULT_THREADS,
    max_states: int = mk.MAX_STATES,
) -> TouchAttribution:
    """Credit conversions (and their value) to touch channels, one or more models.

    Parameters
    ----------
    journeys
        A dataset, :func:`~salesml.attribution.journeys` of one, or a frame read by
        :func:`~salesml.attribution.touch.paths.path_table` (``time_decay`` needs
        ``touches`` and ``times``).
    period, as_of, filters
        Which journeys (see :func:`~salesml.attribution.journeys`); ``as_of`` only with a
        dataset.
    model
        One of :data:`MODELS` or a list of them (results stacked).
    order
        Markov chain order (1 to :data:`~salesml.attribution.touch.markov.MAX_ORDER`),
        or ``"auto"``: the order :func:`choose_order` suggests (up to ``max_order``).
    max_order
        Highest order tried by ``order="auto"``.
    half_life_days
        Half-life of ``time_decay``.
    max_exact
        Largest number of channels for exact Shapley values (at most 20).
    n_samples
        Permutations for sampled Shapley values (at most 100,000).
    seed
        Seed of sampled Shapley values and of the held-out split of ``order="auto"``.
    sep
        Separator of ``path`` strings (spaces around it are trimmed).
    empty_touches
        ``drop`` (stated and counted) or ``raise``; see
        :func:`~salesml.attribution.touch.paths.path_table`.
    activity_label
        How journeys label activities when built from a dataset.
    solver, threads, max_states
        Markov solver choice, BLAS thread cap and bound on states; see
        :func:`~salesml.attribution.touch.markov.markov_removal_effects`.

    Returns
    -------
    TouchAttribution

    Raises
    ------
    ValueError
        On an unknown model, bad options, or input errors (named column and row).
    """
    models = [model] if isinstance(model, str) else list(model)
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise ValueError(f"unknown model(s) {bad}; models: {', '.join(MODELS)}")
    if not 0 <= int(max_exact) <= MAX_EXACT_SHAPLEY:
        raise ValueError(f"max_exact must be from 0 to {MAX_EXACT_SHAPLEY}, got {max_exact}")
    if not 2 <= int(n_samples) <= MAX_SHAPLEY_SAMPLES:
        raise ValueError(f"n_samples must be from 2 to {MAX_SHAPLEY_SAMPLES:,}, got {n_samples}")
    frame, pt, scope = _paths(
        journeys,
        period=period,
        as_of=as_of,
        filters=filters,
        sep=sep,
        empty_touches=empty_touches,
        activity_label=activity_label,
    )
    orders = None
    if "markov" in models and order == "auto":
        orders = order_table(pt, max_order=max_order, seed=seed, max_states=max_states)
        order = int(orders.loc[orders["suggested"], "order"].iloc[0])
    elif order == "auto":
        order = 1
    info: dict[str, object] | None = None
    out = []
    for m in models:
        if m in ("first", "last", "linear", "position"):
            out.append(heuristic(pt, m))
        elif m == "time_decay":
            out.append(time_decay(pt, frame, half_life_days))
        elif m == "markov":
            table, info = _markov(pt, int(order), solver, threads, max_states)  # type: ignore[arg-type]
            out.append(table)
        else:
            out.append(shapley(pt, max_exact=int(max_exact), n_samples=int(n_samples), seed=seed))
    return TouchAttribution(
        table=pd.concat(out, ignore_index=True)[COLUMNS],
        models=tuple(models),
        order=int(order) if "markov" in models else None,  # type: ignore[arg-type]
        markov=info,
        orders=orders,
        **scope,
    )


def _markov(
    pt: PathTable, order: int, solver: mk.Solver, threads: int, max_states: int
) -> tuple[pd.DataFrame, dict[str, object]]:
    re = mk.markov_removal_effects(pt, order, solver=solver, threads=threads, max_states=max_states)
    tot_c, tot_v = pt.conversions.sum(), pt.value.sum()
    s = re["removal_effect"].to_numpy()
    sv = re["value_removal_effect"].to_numpy()
    conv = tot_c * s / s.sum() if s.sum() > 0 else np.zeros(len(s))
    val = tot_v * sv / sv.sum() if np.nansum(sv) > 0 else np.zeros(len(sv))
    name = f"markov_{order}" if order > 1 else "markov"
    info = {k: re.attrs[k] for k in ("n_states", "p_conversion", "solver")}
    return tidy(name, pt.channels, conv, val, removal_effect=s), info


# ---------------------------------------------------------------------- transition matrix
@dataclass(kw_only=True)
class TransitionMatrix(AnalysisResult):
    """Result of :func:`transition_matrix`.

    Attributes
    ----------
    table
        ``state_from, state_to, transitions, probability``: from ``(start)`` to each
        first state, between touch states (a state is its last ``order`` touches joined
        by ``sep``, oldest first), and from each state to ``(conversion)`` or ``(null)``;
        the probabilities out of each state add up to 1.
    order
        The chain order.
    n_states
        Number of touch states.
    """

    title_key: ClassVar[str] = "attribution.transitions.title"
    order: int = 1
    n_states: int = 0

    def matrix(self) -> pd.DataFrame:
        """The probabilities as a square frame (rows: from, columns: to; 0 where none)."""
        return self.table.pivot_table(
            index="state_from", columns="state_to", values="probability", fill_value=0.0
        )

    def key_findings(self, lang: str = "en") -> list[str]:
        """The size of the chain and its most likely step to a conversion."""
        check_lang(lang)
        out = [t("attribution.finding.transitions", lang, n=f"{self.n_states:,}", order=self.order)]
        conv = self.table[self.table["state_to"] == mk.CONVERSION]
        if len(conv):
            top = conv.loc[conv["probability"].idxmax()]
            out.append(
                t(
                    "attribution.finding.best_state",
                    lang,
                    state=top["state_from"],
                    p=f"{top['probability']:.0%}",
                )
            )
        return out + super().key_findings(lang)


def transition_matrix(
    journeys: Source,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    order: int = 1,
    sep: str = ">",
    empty_touches: Literal["drop", "raise"] = "drop",
    activity_label: Literal["kind", "channel"] | None = "kind",
    max_states: int = mk.MAX_STATES,
) -> TransitionMatrix:
    """The transition probabilities of the order-``order`` chain (ChannelAttribution's
    ``transition_matrix``, with named states instead of numeric ids).

    Parameters are those of :func:`touch_attribution`; journeys need not convert.

    Returns
    -------
    TransitionMatrix
    """
    _, pt, scope = _paths(
        journeys,
        period=period,
        as_of=as_of,
        filters=filters,
        sep=sep,
        empty_touches=empty_touches,
        activity_label=activity_label,
        require_conversions=False,
    )
    chain = mk.build_chain(pt, order, max_states=max_states)
    return TransitionMatrix(
        table=mk.transition_table(chain, sep=sep),
        order=chain.order,
        n_states=chain.n_states,
        **scope,
    )


# ---------------------------------------------------------------------- order choice
@dataclass(kw_only=True)
class OrderChoice(AnalysisResult):
    """Result of :func:`choose_order`.

    Attributes
    ----------
    table
        ``order, n_states, train_journeys, test_journeys, loglik`` (held-out
        log-likelihood per journey, higher is better), ``auc`` (held-out ROC area of the
        conversion score), ``suggested`` (one row True).
    suggested_order
        The order with the best held-out likelihood (the lowest of near ties).
    """

    title_key: ClassVar[str] = "attribution.order.title"
    suggested_order: int = 1

    def key_findings(self, lang: str = "en") -> list[str]:
        """The suggested order and what it gains over order 1."""
        check_lang(lang)
        tab = self.table.set_index("order")
        row = tab.loc[self.suggested_order]
        out = [
            t(
                "attribution.finding.order",
                lang,
                order=self.suggested_order,
                loglik=f"{row['loglik']:.3f}",
                auc=f"{row['auc']:.3f}",
                tried=", ".join(str(k) for k in tab.index),
            )
        ]
        return out + super().key_findings(lang)


def choose_order(
    journeys: Source,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    max_order: int = 4,
    holdout: float = 0.3,
    alpha: float = 0.5,
    seed: int = 0,
    sep: str = ">",
    empty_touches: Literal["drop", "raise"] = "drop",
    activity_label: Literal["kind", "channel"] | None = "kind",
    max_states: int = mk.MAX_STATES,
) -> OrderChoice:
    """Compare Markov orders 1..``max_order`` on held-out journeys (in the spirit of
    ChannelAttribution's ``choose_order``); see :mod:`salesml.attribution.touch.order`.

    Parameters
    ----------
    journeys, period, as_of, filters, sep, empty_touches, activity_label, max_states
        As in :func:`touch_attribution`.
    max_order
        Highest order tried (orders beyond ``max_states`` states are left out).
    holdout
        Share of journeys held out.
    alpha
        Additive smoothing of the step probabilities.
    seed
        Seed of the held-out split.

    Returns
    -------
    OrderChoice
    """
    _, pt, scope = _paths(
        journeys,
        period=period,
        as_of=as_of,
        filters=filters,
        sep=sep,
        empty_touches=empty_touches,
        activity_label=activity_label,
        require_conversions=False,
    )
    table = order_table(
        pt, max_order=max_order, holdout=holdout, alpha=alpha, seed=seed, max_states=max_states
    )
    best = int(table.loc[table["suggested"], "order"].iloc[0])
    return OrderChoice(table=table, suggested_order=best, **scope)
