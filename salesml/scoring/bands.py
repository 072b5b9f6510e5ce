"""Bands on the 0-100 score: cut-offs, names from the label catalog, the rule in words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesml.i18n import check_lang, label, t

__all__ = [
    "BAND_CODES",
    "DEFAULT_BANDS",
    "assign_bands",
    "band_name",
    "band_range",
    "describe_bands",
]

#: Score cut-offs ``(upper bound of "at risk", upper bound of "watch")``.
DEFAULT_BANDS: tuple[float, float] = (25.0, 50.0)
#: Band codes from the lowest scores to the highest (names: ``value.<code>`` in the catalog).
BAND_CODES: tuple[str, str, str] = ("at_risk", "watch", "healthy")


def _check(bands: Sequence[float]) -> tuple[float, float]:
    if len(bands) != 2:
        raise ValueError(f"bands are two cut-offs (at_risk_below, watch_below), got {bands!r}")
    lo, hi = float(bands[0]), float(bands[1])
    if not 0 <= lo <= hi <= 100:
        raise ValueError(f"band cut-offs must satisfy 0 <= {lo:g} <= {hi:g} <= 100")
    return lo, hi


def band_name(band: str, lang: str = "en") -> str:
    """Display name of a band (``at_risk`` -> ``At risk`` / ``高风险``), from the catalog."""
    return label(band, check_lang(lang))


def band_range(band: str, bands: Sequence[float] = DEFAULT_BANDS) -> str:
    """The scores of one band, e.g. ``"< 25"``, ``"25-50"``, ``"≥ 50"``."""
    lo, hi = _check(bands)
    ranges = dict(zip(BAND_CODES, (f"< {lo:g}", f"{lo:g}-{hi:g}", f"≥ {hi:g}"), strict=True))
    if band not in ranges:
        raise ValueError(f"unknown band {band!r}; bands are {', '.join(BAND_CODES)}")
    return ranges[band]


def describe_bands(bands: Sequence[float] = DEFAULT_BANDS, lang: str = "en") -> str:
    """The band rule in words, e.g. ``"At risk < 25 ≤ Watch < 50 ≤ Healthy"``."""
    lo, hi = _check(bands)
    at_risk, watch, healthy = (band_name(b, lang) for b in BAND_CODES)
    return t(
        "scoring.bands.rule",
        lang,
        at_risk=at_risk,
        watch=watch,
        healthy=healthy,
        lo=f"{lo:g}",
        hi=f"{hi:g}",
    )


def assign_bands(score: pd.Series, bands: Sequence[float] = DEFAULT_BANDS) -> pd.Series:
    """Band of each 0-100 score: ``at_risk`` < bands[0] <= ``watch`` < bands[1] <= ``healthy``.

    A missing score has no band (``<NA>``).
    """
    lo, hi = _check(bands)
    s = score.to_numpy(dtype="float64", na_value=np.nan)
    out = pd.Series(
        np.where(s < lo, BAND_CODES[0], np.where(s < hi, BAND_CODES[1], BAND_CODES[2])),
        index=score.index,
        dtype="str",
    )
    out[np.isnan(s)] = pd.NA
    return out
