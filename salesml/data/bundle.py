"""The ``SalesData`` bundle: one DataFrame per table, its config, and its history cut."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.config import DatasetConfig
from salesml.data.quality import card_lines
from salesml.data.quarantine import dataset_quarantine
from salesml.data.schema import SPECS, TABLE_NAMES

__all__ = ["MissingTableError", "SalesData"]


class MissingTableError(LookupError):
    """An analysis needs a table the dataset does not have."""


class SalesData:
    """A validated sales dataset: one pandas DataFrame per table.

    Parameters
    ----------
    tables
        Mapping table name -> DataFrame. Names must be tables of the data model
        (see :data:`salesml.data.schema.TABLE_NAMES`); absent tables are allowed.
    config
        The dataset's settings (stage order, currency, ...).
    source
        Folder the data was loaded from, if any.
    validation
        The :class:`~salesml.data.validate.ValidationReport` of the validation that
        produced these tables, if any. To validate a bundle, call
        ``salesml.data.validate.validate(data)`` (the bundle sits below validation in
        the import order, so it has no ``validate`` method).

    Attributes
    ----------
    stored_quarantine
        The rows rejected or skipped before this load (the folder's
        ``quarantine.parquet``, written by ``salesml import``), or ``None``; see
        :mod:`salesml.data.quarantine`. :attr:`quarantine` adds what the load rejected.

    Examples
    --------
    >>> data, truth = simulate(preset="demo", seed=1)   # doctest: +SKIP
    >>> data.deals.head()                                # doctest: +SKIP
    >>> past = data.as_of("2026-03-31")                  # doctest: +SKIP
    """

    stored_quarantine: pd.DataFrame | None = None
    #: How to fingerprint the files this bundle was loaded from unchanged (set by
    #: ``load_dataset`` to the folder's fingerprint); bundles derived from it (``as_of``,
    #: ``replace``) do not carry it.
    fingerprint_source: Callable[[], str] | None = None
    _fingerprint: str | None = None

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame],
        config: DatasetConfig | None = None,
        *,
        source: str | Path | None = None,
        validation: Any = None,
    ) -> None:
        unknown = sorted(set(tables) - set(TABLE_NAMES))
        if unknown:
            raise ValueError(
                f"unknown table(s) {unknown}; the data model has: {', '.join(TABLE_NAMES)}"
            )
        self.tables: dict[str, pd.DataFrame] = {
            name: tables[name] for name in TABLE_NAMES if name in tables
        }
        self.config = config or DatasetConfig()
        self.source = Path(source) if source is not None else None
        self.validation = validation

    # ------------------------------------------------------------------ access
    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in SPECS:
            raise KeyError(f"unknown table {table!r}; the data model has: {', '.join(TABLE_NAMES)}")
        if table not in self.tables:
            raise MissingTableError(
                f"the dataset{self._where()} has no {table!r} table "
                f"(it has: {', '.join(self.tables) or 'none'})"
            )
        return self.tables[table]

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name in SPECS:
            return self[name]
        if name == "validate":
            raise AttributeError(
                "SalesData has no validate(): use salesml.data.validate.validate(data)"
            )
        raise AttributeError(name)

    def __contains__(self, table: object) -> bool:
        return table in self.tables

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def has(self, *tables: str) -> bool:
        """Whether every one of ``tables`` is present."""
        return all(t in self.tables for t in tables)

    def require(self, *tables: str, analysis: str = "this analysis") -> None:
        """Raise :class:`MissingTableError` naming every absent table ``analysis`` needs."""
        missing = [t for t in tables if t not in self.tables]
        if missing:
            raise MissingTableError(
                f"{analysis} needs the table(s) {', '.join(missing)}, which the dataset"
                f"{self._where()} does not have (it has: {', '.join(self.tables) or 'none'})"
            )

    @property
    def missing_tables(self) -> list[str]:
        """Tables of the data model this dataset does not have."""
        return [t for t in TABLE_NAMES if t not in self.tables]

    @property
    def stage_order(self) -> list[str]:
        """Deal stages from first to last (from ``dataset.yaml``)."""
        return list(self.config.stage_order)

    def replace(self, **tables: pd.DataFrame) -> SalesData:
        """A new bundle with some tables replaced (or added); the rest shared."""
        merged = dict(self.tables)
        merged.update(tables)
        out = SalesData(merged, self.config, source=self.source)
        out.stored_quarantine = self.stored_quarantine
        return out

    def _where(self) -> str:
        return f" at {self.source}" if self.source else ""

    # ------------------------------------------------------------------ time
    @property
    def time_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """Earliest and latest event time over all dated tables."""
        lo, hi = [], []
        for name, df in self.tables.items():
            col = SPECS[name].time_column
            if col and col in df and len(df) and pd.api.types.is_datetime64_any_dtype(df[col]):
                lo.append(df[col].min())
                hi.append(df[col].max())
        lo = [x for x in lo if pd.notna(x)]
        hi = [x for x in hi if pd.notna(x)]
        if not lo:
            return None
        return min(lo), max(hi)

    def as_of(self, ts: str | pd.Timestamp) -> SalesData:
        """Cut every table to what was known at ``ts``.

        Rows dated after ``ts`` are removed; later facts on surviving rows are
        hidden: deals closed after ``ts`` appear open with their stage as of ``ts``,
        leads converted or lost after ``ts`` appear open, later first responses,
        quote views and replies, activity replies and approval decisions become
        missing (decisions ``pending``). Every model and backtest goes through
        this, so no future information leaks in.

        Parameters
        ----------
        ts
            The cut-off instant (inclusive). A bare date means its midnight, the
            start of that day: ``as_of("2026-03-31")`` knows nothing of 31 March
            itself; pass ``"2026-03-31 23:59:59"`` or ``"2026-04-01"`` for the end of it.

        Returns
        -------
        SalesData
            A new bundle; the input is not modified.
        """
        ts = pd.Timestamp(ts)
        out: dict[str, pd.DataFrame] = {}
        for name, df in self.tables.items():
            out[name] = _cut_table(name, df, ts)
        if "deals" in out and "stage_history" in out:
            out["deals"] = _stage_as_of(out["deals"], out["stage_history"])
        cut = SalesData(out, self.config, source=self.source)
        cut.stored_quarantine = self.stored_quarantine
        return cut

    # ------------------------------------------------------------------ checks
    @property
    def quarantine(self) -> pd.DataFrame:
        """Every row this dataset lost: rejected or skipped at import, rejected at load.

        Columns of :data:`salesml.data.quarantine.STORED_COLUMNS` (``stage`` is
        ``import`` or ``load``); count with :func:`salesml.data.quarantine.quarantine_counts`.
        """
        return dataset_quarantine(self)

    def rows_without(self, table: str, *columns: str) -> pd.DataFrame:
        """The rows of ``table`` where any of ``columns`` is empty.

        Analyses that need a value (summing ``deals.amount``) leave these out and
        say how many: ``n = len(data.rows_without("deals", "amount"))``. See
        :func:`salesml.data.quality.split_missing` for a frame at hand.
        """
        df = self[table]
        lacking = [c for c in columns if c not in df.columns]
        if lacking:
            raise KeyError(f"{table} has no column(s) {', '.join(lacking)}")
        if not columns:
            return df.iloc[:0]
        return df.loc[df[list(columns)].isna().any(axis=1).to_numpy()]

    def fingerprint(self) -> str:
        """A short stable hash identifying the data (for report lineage and model cards).

        For a bundle loaded from a dataset folder it is the folder's fingerprint
        (:func:`salesml.data.io.folder_fingerprint`: every file of the dataset, whichever
        tables were loaded; computed once), so every report, model card and dataset card made
        from one folder shows the same one. For a bundle built or changed in memory
        (``as_of``, ``replace``, a simulation) it hashes every row of its tables.
        """
        if self.fingerprint_source is None:
            return self._content_fingerprint()
        if self._fingerprint is None:
            self._fingerprint = self.fingerprint_source()
        return self._fingerprint

    def _content_fingerprint(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.tables):
            df = self.tables[name]
            h.update(name.encode())
            h.update(str(df.shape).encode())
            h.update(",".join(map(str, df.columns)).encode())
            if len(df):
                h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        return h.hexdigest()[:16]

    # ------------------------------------------------------------------ display
    def summary(self) -> pd.DataFrame:
        """One row per table of the data model: rows, columns, time span, presence."""
        rows = []
        for name in TABLE_NAMES:
            s = SPECS[name]
            if name not in self.tables:
                rows.append(
                    {
                        "table": name,
                        "label_zh": s.label_zh,
                        "present": False,
                        "rows": 0,
                        "columns": 0,
                        "from": pd.NaT,
                        "to": pd.NaT,
                    }
                )
                continue
            df = self.tables[name]
            col = s.time_column
            lo = hi = pd.NaT
            if col and col in df and len(df) and pd.api.types.is_datetime64_any_dtype(df[col]):
                lo, hi = df[col].min(), df[col].max()
            rows.append(
                {
                    "table": name,
                    "label_zh": s.label_zh,
                    "present": True,
                    "rows": len(df),
                    "columns": df.shape[1],
                    "from": lo,
                    "to": hi,
                }
            )
        return pd.DataFrame(rows).set_index("table")

    def __repr__(self) -> str:
        parts = [f"{n}={len(df):,}" for n, df in self.tables.items()]
        return f"SalesData({self.config.name!r}: {', '.join(parts)})"

    def _repr_html_(self) -> str:
        summ = self.summary()
        tr = self.time_range
        span = f"{tr[0]:%Y-%m-%d} → {tr[1]:%Y-%m-%d}" if tr else "no dated rows"
        head = (
            f"<b>SalesData</b> <code>{html.escape(self.config.name)}</code> · "
            f"{html.escape(self.config.currency)} · {html.escape(span)}"
        )
        if self.missing_tables:
            head += (
                f"<br><small>absent tables: {html.escape(', '.join(self.missing_tables))}</small>"
            )
        if self.validation is not None:
            head += f"<br><small>{html.escape(self.validation.headline())}</small>"
        for line in card_lines(self):  # rows lost at import, data-quality warnings
            head += f"<br><small>{html.escape(line)}</small>"
        shown = summ[summ["present"]].drop(columns="present")
        return f"<div>{head}{shown.to_html(na_rep='')}</div>"


# ---------------------------------------------------------------------- as_of helpers
def _before(df: pd.DataFrame, col: str, ts: pd.Timestamp) -> np.ndarray:
    """Rows whose ``col`` is at or before ``ts`` (missing dates kept)."""
    s = df[col]
    return (s.isna() | (s <= ts)).to_numpy()


def _hide_after(df: pd.DataFrame, col: str, ts: pd.Timestamp) -> pd.Series:
    """Boolean mask of rows whose ``col`` lies after ``ts`` (those facts get hidden)."""
    if col not in df:
        return pd.Series(False, index=df.index)
    return (df[col] > ts).fillna(False).astype(bool)


def _cut_table(name: str, df: pd.DataFrame, ts: pd.Timestamp) -> pd.DataFrame:
    spec = SPECS[name]
    if spec.time_column and spec.time_column in df:
        df = df.loc[_before(df, spec.time_column, ts)]
    df = df.copy()
    if name == "leads":
        late_conv = _hide_after(df, "converted_at", ts)
        if "converted_at" in df:
            df.loc[late_conv, "converted_at"] = pd.NaT
            df.loc[late_conv & (df["status"] == "converted"), "status"] = "open"
        if "first_response_at" in df:
            df.loc[_hide_after(df, "first_response_at", ts), "first_response_at"] = pd.NaT
        if "lost_at" in df:
            late_loss = _hide_after(df, "lost_at", ts)
            df.loc[late_loss & (df["status"] == "lost"), "status"] = "open"
            df.loc[late_loss, ["lost_at", "lost_reason"]] = [pd.NaT, None]
        if "customer_id" in df:
            df.loc[(df["status"] == "open") & late_conv, "customer_id"] = None
    elif name == "deals":
        late = _hide_after(df, "closed_at", ts)
        df.loc[late, "outcome"] = "open"
        df.loc[late, "closed_at"] = pd.NaT
        for extra in ("lost_reason", "won_amount"):
            if extra in df:
                df.loc[late, extra] = None
    elif name == "activities":
        df.loc[_hide_after(df, "responded_at", ts), "responded_at"] = pd.NaT
    elif name == "quotes":
        for col in ("first_viewed_at", "replied_at"):
            df.loc[_hide_after(df, col, ts), col] = pd.NaT
    elif name == "approvals":
        late = _hide_after(df, "decided_at", ts)
        df.loc[late, "decided_at"] = pd.NaT
        df.loc[late, "decision"] = "pending"
    elif name == "campaigns":
        pass  # planned end dates and budgets are known when a campaign starts
    return df


def _stage_as_of(deals: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Set each deal's ``stage`` to the last stage it entered in ``history``."""
    if not len(history) or not len(deals):
        return deals
    last = (
        history.sort_values(["deal_id", "entered_at"], kind="stable")
        .drop_duplicates("deal_id", keep="last")
        .set_index("deal_id")["stage"]
    )
    stage = deals["deal_id"].map(last)
    deals = deals.copy()
    deals["stage"] = stage.fillna(deals["stage"]).astype(deals["stage"].dtype)
    return deals
