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
import hashlib
import keyword
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import pandas as pd

from salesml.periods import Period

__all__ = [
    "LANGS",
    "MAX_PARAM_FILE_BYTES",
    "ParameterError",
    "ReportParams",
    "allowed_roots",
    "check_name",
    "check_param_file",
    "parse_cli_value",
    "parse_report_period",
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
def parse_report_period(period: object) -> Period:
    """The :class:`~salesml.periods.Period` of a report's ``period`` parameter.

    Raises
    ------
    ParameterError
        If ``period`` is not a string or names no period (the message lists the forms).
    """
    if isinstance(period, Period):
        return period
    if not isinstance(period, str):
        raise ParameterError(f"period must be a string such as '2026-01', got {period!r}")
    try:
        p = Period.parse(period)
    except ValueError as e:
        raise ParameterError(str(e)) from None
    if not _SAFE_SLUG.fullmatch(p.slug):  # pragma: no cover - Period slugs are safe
        raise ParameterError(f"period {period!r} gives an unsafe folder name {p.slug!r}")
    return p


def period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Deprecated: ``parse_report_period(period).bounds`` (kept until every catalog migrates)."""
    return parse_report_period(period).bounds


# ---------------------------------------------------------------------- files
#: Largest file a report parameter may name (a rule file is a few kilobytes).
MAX_PARAM_FILE_BYTES = 1 << 20
#: Extra folders report parameters may name files in (``os.pathsep``-separated).
PARAM_ROOTS_ENV = "SALESML_PARAM_ROOTS"


def allowed_roots(dataset: str | os.PathLike[str] | None = None) -> list[Path]:
    """Folders a file parameter may point into: the dataset folder, the current folder
    and those listed in ``$SALESML_PARAM_ROOTS``."""
    roots = [Path.cwd()]
    if dataset is not None:
        roots.insert(0, Path(dataset))
    extra = os.environ.get(PARAM_ROOTS_ENV, "")
    roots += [Path(r) for r in extra.split(os.pathsep) if r.strip()]
    return [r.expanduser().resolve() for r in roots]


def check_param_file(
    report: str, name: str, value: str, *, roots: Iterable[Path] | None = None
) -> str:
    """Check a parameter naming a file and return its absolute path.

    The file must exist, be a regular readable file of at most
    :data:`MAX_PARAM_FILE_BYTES`, and (when ``roots`` is given) lie inside one of
    ``roots`` once symbolic links are resolved.

    Raises
    ------
    ParameterError
        Naming the parameter, the path and what is wrong with it.
    """
    where = f"{report}: parameter {name!r}"
    if "\x00" in value:
        raise ParameterError(f"{where}: the path contains a NUL character")
    try:
        path = Path(value).expanduser().resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise ParameterError(f"{where}: file {value!r} does not exist") from None
    except (OSError, RuntimeError) as e:  # a symlink loop, a name too long
        raise ParameterError(f"{where}: cannot read {value!r} ({e.__class__.__name__})") from None
    if not path.is_file():
        raise ParameterError(f"{where}: {value!r} is not a regular file")
    if not os.access(path, os.R_OK):
        raise ParameterError(f"{where}: file {value!r} is not readable")
    size = path.stat().st_size
    if size > MAX_PARAM_FILE_BYTES:
        raise ParameterError(
            f"{where}: file {value!r} is {size:,} bytes; at most {MAX_PARAM_FILE_BYTES:,} allowed"
        )
    if roots is not None:
        roots = list(roots)
        if not any(path.is_relative_to(r) for r in roots):
            raise ParameterError(
                f"{where}: {value!r} lies outside the folders report parameters may read "
                f"({', '.join(str(r) for r in roots)}); move it there or add its folder "
                f"to ${PARAM_ROOTS_ENV}"
            )
    return str(path)


# ---------------------------------------------------------------------- schema
@dataclass(frozen=True)
class ReportParams:
    """Parameters every report takes; subclass it to add a report's own.

    Parameters
    ----------
    dataset
        Path of the dataset folder (``dataset.yaml`` plus one file per table).
    period
        Reporting period: ``2026-01``, ``2026-W05``, ``2026-Q3`` or
        ``2026-01-01..2026-01-31`` (parsed once into :attr:`period_value`).
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
    Fields named in :attr:`file_params` are paths of files the report reads; they
    are checked (exists, regular, readable, size-capped, inside the allowed folders)
    before anything executes and passed on as absolute paths.
    """

    dataset: str
    period: str
    region: str | None = None
    lang: Literal["en", "zh"] = "en"

    #: Names of the parameters that must be given (no default).
    required: ClassVar[tuple[str, ...]] = ("dataset", "period")
    #: Parameters naming a file the report reads (names that are not fields are ignored).
    file_params: ClassVar[tuple[str, ...]] = ("rules",)

    def __post_init__(self) -> None:
        if not self.dataset.strip():
            raise ParameterError("dataset: give the path of a dataset folder")
        # parsed once; frozen, so set through object.__setattr__ (not a field: never a parameter)
        object.__setattr__(self, "_period", parse_report_period(self.period))
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
    def defaults(cls) -> dict[str, Any]:
        """Parameter name -> default, for the parameters that have one."""
        return {
            f.name: f.default
            for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING
        }

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
    def period_value(self) -> Period:
        """The reporting period, parsed once (:class:`~salesml.periods.Period`)."""
        return self._period  # type: ignore[attr-defined, no-any-return]

    @property
    def period_bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Deprecated: ``period_value.bounds`` (kept until every catalog migrates)."""
        return self.period_value.bounds

    def variant(self) -> list[tuple[str, Any]]:
        """The parameters other than ``dataset`` and ``period`` that differ from their default.

        In declaration order (``region`` and ``lang`` first). Two runs of a report for
        the same period differ in their variant, so they get different folders.
        """
        defaults = self.defaults()
        out = []
        for name in self.names():
            if name in ("dataset", "period"):
                continue
            value = getattr(self, name)
            if name in defaults and _same(value, defaults[name]):
                continue
            out.append((name, value))
        return out

    @property
    def variant_slug(self) -> str:
        """The folder suffix of :meth:`variant`: ``""`` or ``"__华东__zh__bootstrap-500"``."""
        parts = [_slug_part(name, value) for name, value in self.variant()]
        return "".join(f"__{p}" for p in parts)

    @property
    def run_slug(self) -> str:
        """Folder name of this run: the period slug, then every non-default parameter.

        ``2026-10`` for the defaults, ``2026-Q3__华东__zh__bootstrap-500`` for region 华东
        in Chinese with 500 bootstrap replicates: the region and the language as they
        are, other parameters as ``name-value``. Text that is not safe in a folder name
        (paths, spaces) is shortened and carries a short hash of the exact value, so
        runs with other parameters never replace each other.
        """
        slug = self.period_value.slug + self.variant_slug
        if len(slug) > _MAX_SLUG:
            slug = f"{slug[: _MAX_SLUG - 10]}__{_digest(slug, 8)}"
        return slug

    def with_dataset(self: P, dataset: str | Path) -> P:
        """A copy with another dataset path."""
        return dataclasses.replace(self, dataset=str(dataset))

    def with_checked_files(self: P, *, roots: Iterable[Path] | None, report: str = "report") -> P:
        """A copy whose file parameters (:attr:`file_params`) are checked absolute paths.

        See :func:`check_param_file`; ``roots=None`` skips the folder check.
        """
        names = set(self.names())
        changes = {}
        for name in self.file_params:
            value = getattr(self, name, None) if name in names else None
            if isinstance(value, str):
                changes[name] = check_param_file(report, name, value, roots=roots)
        return dataclasses.replace(self, **changes) if changes else self


#: Longest run folder name (file systems allow 255 bytes; CJK letters take 3).
_MAX_SLUG = 80
_SAFE_SLUG = re.compile(r"[0-9A-Za-z_.-]+")


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # True is not 1; ints arrive widened to float


def _digest(text: str, n: int = 6) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def _clean(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text, flags=re.UNICODE).strip("-.")


def _slug_part(name: str, value: Any) -> str:
    """``华东``, ``zh``, ``bootstrap-500``, ``rules-my_rules-1a2b3c``, ``fail-true``."""
    if value is None:
        text = "none"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    exact = text
    if isinstance(value, str) and ("/" in text or "\\" in text):  # a path: its file name
        text = Path(text.replace("\\", "/")).stem
    shown = _clean(text)[:24]
    if shown != exact:  # shortened or cleaned: keep two different values apart
        shown = f"{shown}-{_digest(exact)}" if shown else _digest(exact)
    return shown if name in ("region", "lang") else f"{name}-{shown}"


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
