"""The ``dataset.yaml`` of a dataset folder."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from salesml.data.schema import COST_CATEGORIES, DEFAULT_STAGE_ORDER

__all__ = ["DatasetConfig"]


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
        Encoding of CSV files: ``auto`` (detected), ``utf-8``, ``utf-8-sig``, ``gb18030``.
    files
        Optional table -> file name overrides (relative to the folder).
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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def go_live_ts(self) -> pd.Timestamp | None:
        """``go_live`` as a timestamp (``None`` when unset)."""
        return pd.Timestamp(self.go_live) if self.go_live else None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> DatasetConfig:
        """Build from a parsed YAML mapping; unknown keys land in ``extra``."""
        d = dict(d or {})
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        kwargs = {k: d.pop(k) for k in list(d) if k in known}
        if "go_live" in kwargs and kwargs["go_live"] is not None:
            kwargs["go_live"] = str(kwargs["go_live"])
        extra = dict(d.pop("extra", {}) or {})
        extra.update(d)
        return cls(**kwargs, extra=extra)

    @classmethod
    def read(cls, path: str | Path) -> DatasetConfig:
        """Read ``dataset.yaml`` (a file, or a folder holding one)."""
        p = Path(path)
        if p.is_dir():
            p = p / "dataset.yaml"
        if not p.exists():
            return cls(name=p.parent.name)
        with p.open(encoding="utf-8") as f:
            try:
                d = yaml.safe_load(f)
            except yaml.YAMLError as e:
                raise ValueError(f"{p}: not valid YAML ({e})") from None
        if d is not None and not isinstance(d, dict):
            raise ValueError(f"{p}: expected a mapping of settings, got {type(d).__name__}")
        return cls.from_dict(d)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping for YAML."""
        d = asdict(self)
        extra = d.pop("extra")
        if not d["files"]:
            d.pop("files")
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
