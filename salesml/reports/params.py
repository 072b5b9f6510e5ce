"""Report parameter schemas and their validation.

papermill pastes parameter *names* into the injected cell unescaped and only
warns about unknown ones, so every parameter is checked here, by name and by
type, before papermill sees it. A report's schema is a frozen dataclass that
subclasses :class:`ReportParams`; its fields are the only names the report
accepts, and their annotations (``str``, ``int``, ``float``, ``bool``,
``X | None``, ``Literal[...]``) the only types.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import pandas as pd

__all__ = [
    "LANGS",
    "ParameterError",
    "ReportParams",
    "check_name",
    "parse_cli_value",
    "period_bounds",
    "period_slug",
    "validate_params",
]

LANGS: tuple[str, ...] = ("en", "zh")

_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

P = TypeVar("P", bound="ReportParams")


class ParameterError(ValueError):
    """A report parameter was refused (unknown name, bad name, wrong type or value)."""


def check_name(name: object, *, what: str = "report name") -> str:
    """Return ``name`` if it is a safe lower-case identifier, else raise :class:`ParameterError`.

    Report and app names become folder names under the reports folder, so
    anything that could climb out of it (``../``, slashes, dots) is refused.
    """
    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        raise ParameterError(
            f"invalid {what} {name!r}: use lower-case letters, digits and underscores, "
            "starting with a letter (no paths, dots or slashes)"
        )
    return name


# ---------------------------------------------------------------------- periods
def period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The half-open interval ``[start, end)`` of a reporting period.

    Parameters
    ----------
    period
        Any form :func:`salesml.pipeline.parse_period` reads: ``2026-01`` (a month),
        ``2026-W05`` (an ISO week), ``2026-Q1``, ``2026``, a day, or a date range
        ``2026-01-01..2026-01-31`` (both days included).

    Raises
    ------
    ParameterError
        If ``period`` is not a string or not a period.
    """
    from salesml.periods import parse_period

    if not isinstance(period, str):
        raise ParameterError(f"period must be a string such as '2026-01', got {period!r}")
    try:
        bounds = parse_period(period)
    except ValueError as e:
        raise ParameterError(str(e)) from None
    assert bounds is not None
    return bounds


def period_slug(period: str) -> str:
    """Folder name of a period: ``2026-01``, ``2026-W05`` or ``2026-01-01_2026-01-31``."""
    from salesml.periods import period_label

    period_bounds(period)
    slug = period_label(period)
    if not re.fullmatch(r"[0-9A-Za-z_-]+", slug):  # pragma: no cover - defensive
        raise ParameterError(f"period {period!r} gives an unsafe folder name {slug!r}")
    return slug


# ---------------------------------------------------------------------- schema
@dataclass(frozen=True)
class ReportParams:
    """Parameters every report takes; subclass it to add a report's own.

    Parameters
    ----------
    dataset
        Path of the dataset folder (``dataset.yaml`` plus one file per table).
    period
        Reporting period: ``2026-01``, ``2026-W05`` or ``2026-01-01..2026-01-31``.
    region
        Restrict the report to one region (``None``: the whole organisation).
    lang
        Language of titles, labels and text: ``en`` or ``zh``.

    Notes
    -----
    Subclasses must stay frozen dataclasses whose fields have defaults (the base
    fields ``dataset`` and ``period`` are the only required ones) and whose
    annotations use ``str``, ``int``, ``float``, ``bool``, ``X | None`` or
    ``Literal[...]``; anything else could not travel safely through papermill.
    """

    dataset: str
    period: str
    region: str | None = None
    lang: Literal["en", "zh"] = "en"

    #: Names of the parameters that must be given (no default).
    required: ClassVar[tuple[str, ...]] = ("dataset", "period")

    def __post_init__(self) -> None:
        if not self.dataset.strip():
            raise ParameterError("dataset: give the path of a dataset folder")
        period_bounds(self.period)
        if self.region is not None and not self.region.strip():
            raise ParameterError("region: give a region name, or leave it unset for all regions")

    def _check_between(self, name: str, low: float, high: float) -> None:
        """Raise ``ValueError`` unless the field ``name`` lies in ``[low, high]``."""
        value = getattr(self, name)
        if not low <= value <= high:
            raise ValueError(f"{name} must be between {low} and {high}, got {value}")

    # ------------------------------------------------------------------ views
    @classmethod
    def names(cls) -> list[str]:
        """Parameter names in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def describe(cls) -> pd.DataFrame:
        """One row per parameter: name, type, default (``None`` = required)."""
        hints = typing.get_type_hints(cls)
        rows = []
        for f in dataclasses.fields(cls):
            required = f.default is dataclasses.MISSING
            rows.append(
                {
                    "name": f.name,
                    "type": _type_label(hints[f.name]),
                    "required": required,
                    "default": None if required else f.default,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping of every parameter (JSON types only)."""
        return dataclasses.asdict(self)

    @property
    def period_slug(self) -> str:
        """Folder name of the period."""
        return period_slug(self.period)

    @property
    def run_slug(self) -> str:
        """Folder name of this run: the period, then the region and language when set.

        ``2026-10`` for the whole organisation in English, ``2026-10__华东__zh`` for
        region 华东 in Chinese, so runs with other parameters never replace each other.
        """
        parts = [self.period_slug]
        if self.region:
            region = re.sub(r"[^\w-]+", "-", self.region.strip(), flags=re.UNICODE).strip("-")
            if not region:
                raise ParameterError(f"region {self.region!r} gives no usable folder name")
            parts.append(region)
        if self.lang != "en":
            parts.append(self.lang)
        return "__".join(parts)

    @property
    def period_bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``[start, end)`` of the period."""
        return period_bounds(self.period)

    def with_dataset(self: P, dataset: str | Path) -> P:
        """A copy with another dataset path."""
        return dataclasses.replace(self, dataset=str(dataset))


def _type_label(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_label(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


# ---------------------------------------------------------------------- checking
def _check_value(report: str, name: str, tp: Any, value: Any) -> Any:
    """Check ``value`` against annotation ``tp``; return it (ints widened to float)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check_value(report, name, a, value)
            except ParameterError as e:
                errors.append(str(e))
        raise ParameterError(
            f"{report}: parameter {name!r} must be {_type_label(tp)}, got {value!r} "
            f"({type(value).__name__})"
        )
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed or type(value) is not type(allowed[0]):
            raise ParameterError(
                f"{report}: parameter {name!r} must be one of "
                f"{', '.join(map(repr, allowed))}, got {value!r}"
            )
        return value
    ok: bool
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif tp is str:
        ok = isinstance(value, str)
    else:  # pragma: no cover - guarded by _schema_types
        raise TypeError(f"{report}: parameter {name!r} has an unsupported annotation {tp!r}")
    if not ok:
        raise ParameterError(
            f"{report}: parameter {name!r} must be {_type_label(tp)}, got {value!r} "
            f"({type(value).__name__})"
        )
    return value


def validate_params(schema: type[P], values: Mapping[str, Any] | P, *, report: str = "report") -> P:
    """Check parameter names and types against ``schema`` and build it.

    Parameters
    ----------
    schema
        The report's parameter dataclass (a subclass of :class:`ReportParams`).
    values
        Mapping of parameter name -> value, or an instance of ``schema``.
    report
        Report name used in error messages.

    Returns
    -------
    ReportParams
        An instance of ``schema``.

    Raises
    ------
    ParameterError
        Naming the offending parameter: a name that is not an identifier (for
        example one carrying a newline and code), an unknown name, a missing
        required one, a value of the wrong type, or a value the schema refuses.
    """
    if isinstance(values, schema):
        return values
    if isinstance(values, ReportParams):
        values = values.to_dict()
    if not isinstance(values, Mapping):
        raise ParameterError(
            f"{report}: parameters must be a mapping of name -> value, got {type(values).__name__}"
        )
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    for name in values:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ParameterError(
                f"{report}: refused parameter name {name!r}: names must be plain identifiers"
            )
        if name not in fields:
            raise ParameterError(
                f"{report}: unknown parameter {name!r}; it takes: {', '.join(fields)}"
            )
    missing = [n for n, f in fields.items() if f.default is dataclasses.MISSING and n not in values]
    if missing:
        raise ParameterError(f"{report}: missing required parameter(s): {', '.join(missing)}")
    checked = {n: _check_value(report, n, hints[n], v) for n, v in values.items()}
    try:
        return schema(**checked)
    except (ValueError, TypeError) as e:  # the schema's own value checks
        raise ParameterError(f"{report}: {e}") from None


def parse_cli_value(schema: type[ReportParams], name: str, text: str) -> Any:
    """Convert a command-line string to the type ``schema`` declares for ``name``.

    ``none``/``null`` give ``None`` for optional parameters; booleans accept
    ``true/false/yes/no/1/0``. Unknown or unsafe names are left for
    :func:`validate_params` to refuse (returned as text).
    """
    hints = typing.get_type_hints(schema)
    if name not in hints or name not in {f.name for f in dataclasses.fields(schema)}:
        return text
    tp = hints[name]
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and text.strip().lower() in ("none", "null"):
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _from_text(a, text)
            except ValueError:
                continue
        return text
    try:
        return _from_text(tp, text)
    except ValueError:
        return text


def _from_text(tp: Any, text: str) -> Any:
    if typing.get_origin(tp) is Literal:
        for a in typing.get_args(tp):
            if str(a) == text:
                return a
        raise ValueError(text)
    if tp is bool:
        low = text.strip().lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0"):
            return False
        raise ValueError(text)
    if tp is int:
        return int(text)
    if tp is float:
        return float(text)
    return text
