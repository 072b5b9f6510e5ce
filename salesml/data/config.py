"""The ``dataset.yaml`` of a dataset folder."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from salesml.data.errors import DatasetError
from salesml.data.schema import COST_CATEGORIES, DEFAULT_STAGE_ORDER, SPECS
from salesml.data.yamlsafe import load_yaml

__all__ = ["ENCODINGS", "MAX_SET_VALUES", "MAX_VALUE_SETS", "DatasetConfig"]

#: Columns ``value_sets`` may name at most, and values one set may list at most.
MAX_VALUE_SETS = 200
MAX_SET_VALUES = 10_000

#: Encodings a dataset may declare for its CSV files (aliases included).
ENCODINGS: tuple[str, ...] = (
    "auto",
    "utf-8",
    "utf8",
    "utf-8-sig",
    "utf8-sig",
    "gb18030",
    "gbk",
    "gb2312",
    "cp936",
    "utf-16",
)


@dataclass
class DatasetConfig:
    """Settings of a dataset, read from and written to ``dataset.yaml``.

    Parameters
    ----------
    name
        Human name of the dataset.
    currency
        ISO currency of every amount (``CNY`` by default).
    timezone
        IANA timezone the naive timestamps are in.
    stage_order
        Deal stages from first to last; a won deal has passed all of them.
    cost_categories
        Mapping from the organisation's own cost category names to the 12 model
        categories (identity by default).
    go_live
        Date a process change went live, if any (used by impact measurement).
    encoding
        Encoding of CSV files: ``auto`` (detected), ``utf-8``, ``utf-8-sig``,
        ``gb18030`` (``gbk``, ``gb2312`` and ``cp936`` mean it too) or ``utf-16``
        (with a byte-order mark, as Excel's "Unicode text" writes). Nothing else is
        decoded: see :func:`salesml.data.encoding.check_encoding`.
    files
        Optional table -> file name overrides, relative to the folder and inside it
        (a path that leads outside, absolute or through ``..`` or a symlink, is refused).
    region_source
        Which region breakdowns and ``--region`` use by default: ``customer`` (the
        customer's ``region``) or ``rep`` (the owning rep's region or sales office);
        see :func:`salesml.filters.region_column`.
    value_sets
        Optional closed sets of values per column, ``{"customers.segment": [...]}``
        or ``{"customers.segment": {"values": [...], "strict": true}}``. Values
        outside a set are reported as data-quality warnings
        (:func:`salesml.data.quality.quality_warnings`); with ``strict`` they are
        quarantined at load (rule ``allowed_values``). Kept normalised to the
        second form.
    approval_sla_hours
        Service levels of the approval steps in hours, ``{"initial": 2, "final": 4}``
        (a step not listed falls back to that policy; see :mod:`salesml.ops.compliance`).
        Empty: the default policy.
    source
        A database to read the tables from instead of files
        (:class:`salesml.data.sqlsource.SqlSource`, read by :mod:`salesml.data.sql`; ``None``: the folder's files).
    extra
        Anything else found in the YAML, kept and written back unchanged.
    """

    name: str = "dataset"
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    stage_order: list[str] = field(default_factory=lambda: list(DEFAULT_STAGE_ORDER))
    cost_categories: dict[str, str] = field(default_factory=lambda: {c: c for c in COST_CATEGORIES})
    go_live: str | None = None
    encoding: str = "auto"
    files: dict[str, str] = field(default_factory=dict)
    region_source: str = "customer"
    value_sets: dict[str, Any] = field(default_factory=dict)
    approval_sla_hours: dict[str, float] = field(default_factory=dict)
    source: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.region_source not in ("customer", "rep"):
            raise DatasetError(
                f"dataset.yaml: region_source must be 'customer' or 'rep', "
                f"got {self.region_source!r}"
            )
        self.value_sets = _normalise_value_sets(self.value_sets)

    def value_set(self, table: str, column: str) -> tuple[frozenset[str], bool] | None:
        """The declared closed set of ``table.column`` and whether it is strict."""
        entry = self.value_sets.get(f"{table}.{column}")
        if entry is None:
            return None
        return frozenset(entry["values"]), bool(entry["strict"])

    def strict_values(self, table: str, column: str) -> frozenset[str] | None:
        """The values a strict ``value_sets`` entry allows for ``table.column`` (else ``None``)."""
        vs = self.value_set(table, column)
        return vs[0] if vs is not None and vs[1] else None

    @property
    def go_live_ts(self) -> pd.Timestamp | None:
        """``go_live`` as a timestamp (``None`` when unset)."""
        return pd.Timestamp(self.go_live) if self.go_live else None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, *, source: str = "dataset.yaml") -> DatasetConfig:
        """Build from a parsed YAML mapping; unknown keys land in ``extra``.

        Raises
        ------
        DatasetError
            Naming ``source`` and the key whose value has the wrong shape.
        """
        d = dict(d or {})
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        kwargs = {k: d.pop(k) for k in list(d) if k in known}
        extra = d.pop("extra", {}) or {}
        if not isinstance(extra, dict):
            raise DatasetError(f"{source}: 'extra' must be a mapping, got {_shown(extra)}")
        extra = dict(extra)
        extra.update(d)
        _check(kwargs, extra, source)
        if "go_live" in kwargs and kwargs["go_live"] is not None:
            kwargs["go_live"] = str(kwargs["go_live"])
        return cls(**kwargs, extra=extra)

    @classmethod
    def read(cls, path: str | Path) -> DatasetConfig:
        """Read ``dataset.yaml`` (a file, or a folder holding one).

        Raises
        ------
        DatasetError
            For a file that is not a bounded, plain YAML mapping of valid settings
            (one line naming the file and the key or line at fault).
        """
        p = Path(path)
        if p.is_dir():
            p = p / "dataset.yaml"
        elif p.exists() and p.suffix.lower() not in (".yaml", ".yml"):
            raise DatasetError(
                f"{p} is a file, not a dataset folder: pass the folder that holds "
                "dataset.yaml and one file per table"
            )
        if not p.exists():
            return cls(name=p.parent.name)
        d = load_yaml(p, what=str(p))
        if d is not None and not isinstance(d, dict):
            raise DatasetError(f"{p}: expected a mapping of settings, got {type(d).__name__}")
        return cls.from_dict(d, source=str(p))

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping for YAML."""
        d = asdict(self)
        extra = d.pop("extra")
        if not d["files"]:
            d.pop("files")
        if not d["value_sets"]:
            d.pop("value_sets")
        if not d["approval_sla_hours"]:
            d.pop("approval_sla_hours")
        d.pop("source")
        if self.source is not None:
            d["source"] = copy.deepcopy(self.source.raw)
        d.update(extra)
        return d

    def write(self, folder: str | Path) -> Path:
        """Write ``dataset.yaml`` into ``folder``."""
        p = Path(folder) / "dataset.yaml"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(
            yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        return p


def _shown(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(k, str) and isinstance(x, str) for k, x in v.items()
    )


def _check(kw: dict[str, Any], extra: dict[str, Any], source: str) -> None:
    """Refuse settings of the wrong shape, naming the key (``encoding: [1]``)."""

    def bad(key: str, want: str, v: Any) -> DatasetError:
        return DatasetError(f"{source}: {key} must be {want}, got {_shown(v)}")

    if isinstance(kw.get("name"), int | float) and not isinstance(kw.get("name"), bool):
        kw["name"] = str(kw["name"])  # name: 2024
    for key in ("name", "currency", "timezone"):
        if key in kw and not isinstance(kw[key], str):
            raise bad(key, "text", kw[key])
    if "encoding" in kw:
        enc = kw["encoding"]
        if not isinstance(enc, str) or enc.strip().lower().replace("_", "-") not in ENCODINGS:
            raise bad("encoding", "one of auto, utf-8, utf-8-sig, gb18030, gbk, utf-16", enc)
    if "stage_order" in kw and (not _str_list(kw["stage_order"]) or not kw["stage_order"]):
        raise bad("stage_order", "a non-empty list of stage names", kw["stage_order"])
    if "cost_categories" in kw and not _str_map(kw["cost_categories"]):
        raise bad(
            "cost_categories",
            "a mapping of your category names to model ones",
            kw["cost_categories"],
        )
    if "files" in kw and not _str_map(kw["files"] or {}):
        raise bad("files", "a mapping of table names to file names", kw["files"])
    if "files" in kw:
        kw["files"] = dict(kw["files"] or {})
    if "go_live" in kw and kw["go_live"] is not None:
        try:
            pd.Timestamp(str(kw["go_live"]))
        except ValueError:
            raise bad("go_live", "a date (2026-03-01)", kw["go_live"]) from None
    if "approval_sla_hours" in kw:
        sla = kw["approval_sla_hours"] or {}
        if (
            not isinstance(sla, dict)
            or len(sla) > 20
            or not all(
                isinstance(k, str)
                and isinstance(v, int | float)
                and not isinstance(v, bool)
                and 0 < v <= 10_000
                for k, v in sla.items()
            )
        ):
            raise bad("approval_sla_hours", "a mapping {step: hours} with 0 < hours <= 10000", sla)
        kw["approval_sla_hours"] = {k: float(v) for k, v in sla.items()}
    if kw.get("source") is not None:
        from salesml.data.sqlsource import SqlSource

        kw["source"] = SqlSource.from_dict(kw["source"], where=f"{source}: source")
    if "date_formats" in extra and not _str_list(extra["date_formats"] or []):
        raise bad(
            "date_formats", 'a list of strptime formats (["%d.%m.%Y"])', extra["date_formats"]
        )
    if "column_types" in extra:
        ct = extra["column_types"] or {}
        if not isinstance(ct, dict) or not all(_str_map(v) for v in ct.values()):
            raise bad("column_types", "a mapping {table: {column: dtype}}", ct)
    if "delimiter" in extra and (
        not isinstance(extra["delimiter"], str) or len(extra["delimiter"]) != 1
    ):
        raise bad("delimiter", 'one character ("," ";" or a tab)', extra["delimiter"])
    if "csv_formulas" in extra and extra["csv_formulas"] not in ("escaped", "raw"):
        raise bad("csv_formulas", "escaped or raw", extra["csv_formulas"])


def _normalise_value_sets(raw: Any) -> dict[str, dict[str, Any]]:
    """``value_sets`` as ``{"table.column": {"values": [...], "strict": bool}}``, checked."""
    if not raw:
        return {}
    where = "dataset.yaml value_sets"
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: expected a mapping 'table.column: [values]'")
    if len(raw) > MAX_VALUE_SETS:
        raise DatasetError(f"{where}: {len(raw)} columns; at most {MAX_VALUE_SETS} allowed")
    out: dict[str, dict[str, Any]] = {}
    for key, entry in raw.items():
        table, _, column = str(key).partition(".")
        if table not in SPECS or not column:
            raise DatasetError(
                f"{where}: {key!r} is not 'table.column' of a model table "
                f"(tables: {', '.join(SPECS)})"
            )
        if isinstance(entry, dict):
            unknown = set(entry) - {"values", "strict"}
            if unknown:
                raise DatasetError(f"{where}.{key}: unknown setting(s) {sorted(unknown)}")
            values, strict = entry.get("values"), entry.get("strict", False)
        else:
            values, strict = entry, False
        if not isinstance(values, list) or not values:
            raise DatasetError(f"{where}.{key}: expected a non-empty list of values")
        if len(values) > MAX_SET_VALUES:
            raise DatasetError(
                f"{where}.{key}: {len(values):,} values; at most {MAX_SET_VALUES:,} allowed"
            )
        if not all(isinstance(v, str | int | float | bool) for v in values):
            raise DatasetError(f"{where}.{key}: values are text or numbers")
        if not isinstance(strict, bool):
            raise DatasetError(f"{where}.{key}: strict is true or false")
        out[f"{table}.{column}"] = {"values": [str(v) for v in values], "strict": strict}
    return out
