"""The label catalog: every name, band, reason phrase and message a user reads, in en and zh.

One catalog serves the analytics, the figures, the reports and the apps, so a chart
and the table under it always use the same words. Its entries live in YAML files in
``salesml/labels/`` (one file per domain, each key ``{en: ..., zh: ...}``), read once on
first use; a key defined in two files with different texts is an error. Keys are
namespaced:

- ``value.<code>``: the display name of a data value or a column (``value.store_walkin``
  -> "Store walk-in" / "门店到访", ``value.region`` -> "Region" / "区域");
- ``<domain>.<what>``: a title, note or sentence (``report.findings``,
  ``pipeline.finding.leak``), with ``{placeholders}`` filled by :func:`t`.

Look up with :func:`label` (data values and column names) and :func:`t` (messages)::

    from salesml.i18n import label, t
    label("store_walkin", "zh")                     # '门店到访'
    t("report.region", "en", region="华东")         # 'Region: 华东'

A data value the catalog does not know (a region name, a product of an English CRM
export) is shown as it is. Datasets and users may add entries with :func:`register`
(for example the names of custom stages).

Money is shown in the dataset's currency with :func:`money` (``¥1,234`` for CNY,
``$1,234`` for USD, ``EUR 1,234`` for a code without a symbol of its own).
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any, Literal

import yaml

__all__ = [
    "LANGS",
    "Lang",
    "catalog_frame",
    "check_lang",
    "currency_symbol",
    "has_label",
    "keys",
    "label",
    "money",
    "register",
    "t",
]

Lang = Literal["en", "zh"]
LANGS: tuple[str, ...] = ("en", "zh")

#: key -> {lang -> text}; filled from salesml/labels/*.yaml on first use.
_CATALOG: dict[str, dict[str, str]] = {}
#: where each key was defined (file name or "register()"), for the duplicate check.
_ORIGIN: dict[str, str] = {}
_loaded = False

#: Symbols of the currencies a reader recognises by sign alone.
_SYMBOLS: dict[str, str] = {
    "CNY": "¥",
    "RMB": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "JP¥",
    "HKD": "HK$",
    "TWD": "NT$",
    "SGD": "S$",
    "AUD": "A$",
    "CAD": "C$",
    "KRW": "₩",
    "INR": "₹",
}


def check_lang(lang: object) -> Lang:
    """Return ``lang`` if it is ``"en"`` or ``"zh"``; otherwise raise ``ValueError``."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang  # type: ignore[return-value]


def _add(key: str, texts: Mapping[str, Any], origin: str, *, replace: bool) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"{origin}: label keys are non-empty strings, got {key!r}")
    if not isinstance(texts, Mapping):
        raise ValueError(f"{origin}: label {key!r} must map en and zh to texts")
    missing = [lang for lang in LANGS if not isinstance(texts.get(lang), str) or not texts[lang]]
    if missing:
        raise ValueError(f"{origin}: label {key!r} lacks a text for: {', '.join(missing)}")
    new = {lang: str(texts[lang]) for lang in LANGS}
    old = _CATALOG.get(key)
    if old is not None and old != new and not replace:
        raise ValueError(
            f"label {key!r} is defined with different texts in {_ORIGIN[key]} and {origin}"
        )
    _CATALOG[key] = new
    _ORIGIN.setdefault(key, origin)


def _load() -> None:
    """Read every catalog file of ``salesml/labels`` (once)."""
    global _loaded
    if _loaded:
        return
    folder = resources.files("salesml") / "labels"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        content = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        if not isinstance(content, Mapping):
            raise ValueError(f"salesml/labels/{entry.name}: expected a mapping of labels")
        for key, texts in content.items():
            _add(key, texts, f"salesml/labels/{entry.name}", replace=False)
    _loaded = True


def register(messages: Mapping[str, Mapping[str, str]], *, replace: bool = False) -> None:
    """Add entries to the catalog (both languages required).

    Parameters
    ----------
    messages
        Mapping key -> ``{"en": ..., "zh": ...}``.
    replace
        Allow overwriting an existing key with a different text (a dataset naming its
        own stages, say).

    Raises
    ------
    ValueError
        If a language is missing, or a key already exists with other text.
    """
    _load()
    for key, texts in messages.items():
        _add(key, texts, "register()", replace=replace)


def has_label(key: str) -> bool:
    """Whether the catalog has ``key`` (a full key such as ``value.region``)."""
    _load()
    return key in _CATALOG


def keys(prefix: str = "") -> list[str]:
    """Every catalog key starting with ``prefix``, sorted."""
    _load()
    return sorted(k for k in _CATALOG if k.startswith(prefix))


class _BoundedFormatter(string.Formatter):
    """``str.format`` for catalog texts: named fields only, no attribute or index access."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not field_name.isidentifier():
            raise ValueError(f"catalog placeholders are plain names, got {{{field_name}}}")
        return kwargs[field_name], field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        # widths and precisions of catalog texts are written by us; cap them anyway
        digits = "".join(ch if ch.isdigit() else " " for ch in format_spec).split()
        if any(len(d) > 2 for d in digits):
            raise ValueError(f"format spec {format_spec!r} is too wide")
        return super().format_field(value, format_spec)


_FORMATTER = _BoundedFormatter()


def t(key: str, lang: str = "en", /, **values: Any) -> str:
    """The text of message ``key`` in ``lang``, its ``{placeholders}`` filled from ``values``.

    An unknown key is returned as is, so a missing text shows up visibly instead of
    crashing a report (the catalog test makes sure none is missing); an unknown
    language raises ``ValueError``.
    """
    check_lang(lang)
    _load()
    texts = _CATALOG.get(key)
    if texts is None:
        return key
    text = texts[lang]
    return _FORMATTER.vformat(text, (), values) if values else text


def label(value: object, lang: str = "en") -> str:
    """Display name of a data value or column (``value.<value>``), else ``value`` as text.

    Missing values (``None``, ``NaN``) show as an empty string.
    """
    check_lang(lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    _load()
    s = str(value)
    texts = _CATALOG.get(f"value.{s}")
    return texts[lang] if texts else s


def currency_symbol(currency: str | None) -> str:
    """The sign a reader recognises (``¥``, ``$``), or the ISO code and a space (``CHF ``)."""
    code = (currency or "CNY").upper()
    return _SYMBOLS.get(code, f"{code} ")


def money(value: object, currency: str | None = "CNY", *, decimals: int = 0) -> str:
    """An amount in ``currency`` for people: ``¥9,325,300``, ``-$1,200``, ``CHF 12``.

    Missing or non-finite values show as an empty string.
    """
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    sign = "-" if x < 0 and round(abs(x), decimals) != 0 else ""
    return f"{sign}{currency_symbol(currency)}{abs(x):,.{int(decimals)}f}"


def catalog_frame(prefixes: Iterable[str] = ("",)) -> Any:
    """The catalog as a DataFrame (``key``, ``en``, ``zh``, ``origin``) for review."""
    import pandas as pd

    _load()
    rows = [
        {"key": k, **_CATALOG[k], "origin": _ORIGIN.get(k, "")}
        for k in sorted(_CATALOG)
        if any(k.startswith(p) for p in prefixes)
    ]
    return pd.DataFrame(rows, columns=["key", "en", "zh", "origin"])
