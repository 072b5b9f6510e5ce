"""Multi-touch attribution: heuristics, exact Markov removal effects, Shapley values.

All models take journeys (a dataset, :func:`salesml.attribution.journeys`, or any frame
with a ``path`` / ``touches`` column and conversion counts, ChannelAttribution's
conventions included) and return one tidy shape, so they can be compared side by side::

    model, channel, conversions, share, value, removal_effect, se

Modules: :mod:`~salesml.attribution.touch.paths` (reading the input: trimming,
empty touches, bad counts), :mod:`~salesml.attribution.touch.markov` (the absorbing
chain, its exact solvers and transition table), :mod:`~salesml.attribution.touch.order`
(held-out choice of the order), :mod:`~salesml.attribution.touch.models` (heuristics and
Shapley), :mod:`~salesml.attribution.touch.attribution` (the entry points).
"""

from __future__ import annotations

from salesml.attribution.touch.attribution import (
    MODELS,
    OrderChoice,
    TouchAttribution,
    TransitionMatrix,
    choose_order,
    model_label,
    touch_attribution,
    transition_matrix,
)
from salesml.attribution.touch.markov import (
    DENSE_MAX_STATES,
    MAX_ORDER,
    MAX_STATES,
    markov_removal_effects,
)
from salesml.attribution.touch.paths import AttributionInputWarning, PathTable, path_table

__all__ = [
    "DENSE_MAX_STATES",
    "MAX_ORDER",
    "MAX_STATES",
    "MODELS",
    "AttributionInputWarning",
    "OrderChoice",
    "PathTable",
    "TouchAttribution",
    "TransitionMatrix",
    "choose_order",
    "markov_removal_effects",
    "model_label",
    "path_table",
    "touch_attribution",
    "transition_matrix",
]
