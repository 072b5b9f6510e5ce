"""Leads created by follow-up rules (``action: create_lead``): rows of the leads table.

A rule such as the shipped ``visit_problem_lead`` (a visit rated 1/5) puts a lead in the
follow-up queue. :func:`followup_leads` turns the rule's tasks into rows shaped like the
``leads`` table of the data model, and :func:`save_followup_leads` adds them to a
dataset folder without touching the rows already there::

    result = salesml.due_followups(data, as_of="2026-10-31")
    new = followup_leads(result)                 # the rows, not written anywhere
    added = save_followup_leads(new, "datasets/demo")

Each row has the model's columns and four more:

``lead_id``
    ``LF`` + 12 hex digits of a hash of the task id (rule, subject, event time): the
    same event always gives the same id, so running the rules again adds nothing.
``customer_id``, ``created_at``
    The task's customer and the time of the event that fired the rule (the visit).
``channel``
    :data:`FOLLOWUP_CHANNEL`; ``status`` ``open``; the other model columns missing.
``source_rule``, ``source_task_id``
    The rule that made the lead and its task.
``owner_rep_id``
    Who follows it up (the task's owner).
``dedupe_key``
    The rule's ``dedupe_by`` value (a customer id): with :func:`previous_tasks` the
    rule's cooldown also holds against leads written by earlier runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from salesml.data.config import DatasetConfig
from salesml.data.csvfile import sniff_delimiter
from salesml.data.csvsafe import safe_csv_frame
from salesml.data.errors import DatasetError
from salesml.data.io import detect_encoding, find_table_files, read_raw_tables
from salesml.data.partitions import is_hive, write_month_partitions
from salesml.data.schema import SPECS
from salesml.data.validate import validate
from salesml.rules.followups import FollowupResult, FollowupRules, due_followups
from salesml.rules.subjects import SUBJECT_TABLES
from salesml.rules.tiering import TierRules

__all__ = [
    "FOLLOWUP_CHANNEL",
    "LEAD_COLUMNS",
    "create_followup_leads",
    "followup_leads",
    "previous_tasks",
    "save_followup_leads",
]

#: The ``channel`` of a lead a follow-up rule created.
FOLLOWUP_CHANNEL = "follow_up"
#: Columns of :func:`followup_leads`: the leads table's, then the follow-up ones.
LEAD_COLUMNS: tuple[str, ...] = (
    *(c.name for c in SPECS["leads"].columns),
    "source_rule",
    "source_task_id",
    "owner_rep_id",
    "dedupe_key",
)
_TS = "datetime64[us]"


def _lead_id(task_ids: pd.Series) -> pd.Series:
    digest = [
        "LF" + hashlib.sha256(str(x).encode("utf-8")).hexdigest()[:12].upper() for x in task_ids
    ]
    return pd.Series(digest, index=task_ids.index, dtype="str")


def followup_leads(result: FollowupResult | pd.DataFrame) -> pd.DataFrame:
    """The leads the ``create_lead`` rules of a follow-up run create.

    Parameters
    ----------
    result
        A :func:`~salesml.rules.followups.due_followups` result, or its ``table``.
        Only tasks of kind ``lead`` are used (open or done: a lead, once made, stays).

    Returns
    -------
    pandas.DataFrame
        One row per lead task, columns :data:`LEAD_COLUMNS` (see the module
        docstring), ordered by ``created_at`` then ``lead_id``.
    """
    tb = result.table if isinstance(result, FollowupResult) else result
    t = tb[tb["kind"] == "lead"]
    out = pd.DataFrame(
        {
            "lead_id": _lead_id(t["task_id"]),
            "customer_id": t["customer_id"].astype("str"),
            "channel": pd.Series(FOLLOWUP_CHANNEL, index=t.index, dtype="str"),
            "campaign_id": pd.Series(pd.NA, index=t.index, dtype="str"),
            "created_at": t["anchor_at"].astype(_TS),
            "first_response_at": pd.Series(pd.NaT, index=t.index, dtype=_TS),
            "status": pd.Series("open", index=t.index, dtype="str"),
            "lost_reason": pd.Series(pd.NA, index=t.index, dtype="str"),
            "converted_at": pd.Series(pd.NaT, index=t.index, dtype=_TS),
            "source_rule": t["rule_id"].astype("str"),
            "source_task_id": t["task_id"].astype("str"),
            "owner_rep_id": t["owner_id"].astype("str"),
            "dedupe_key": (t["dedupe_key"] if "dedupe_key" in t else t["customer_id"]).astype(
                "str"
            ),
        }
    )
    return out[list(LEAD_COLUMNS)].sort_values(["created_at", "lead_id"], ignore_index=True)


def previous_tasks(leads: pd.DataFrame) -> pd.DataFrame:
    """The follow-up leads already in a leads table, as ``due_followups(previous=...)`` takes.

    Rows without ``source_task_id`` (ordinary leads) are left out, so the cooldown of a
    ``create_lead`` rule also holds against the leads that earlier runs wrote.
    """
    need = ("source_rule", "source_task_id", "dedupe_key", "created_at")
    if not all(c in leads.columns for c in need):
        return pd.DataFrame(columns=["task_id", "rule_id", "dedupe_key", "anchor_at"])
    f = leads[leads["source_task_id"].notna()]
    return pd.DataFrame(
        {
            "task_id": f["source_task_id"].astype("str"),
            "rule_id": f["source_rule"].astype("str"),
            "dedupe_key": f["dedupe_key"].astype("str"),
            "anchor_at": pd.to_datetime(f["created_at"]),
        }
    ).reset_index(drop=True)


def create_followup_leads(
    path: str | os.PathLike[str],
    *,
    as_of: object = None,
    rules: str | os.PathLike[str] | Mapping[str, Any] | FollowupRules | None = None,
    tier_rules: str | os.PathLike[str] | Mapping[str, Any] | TierRules | None = None,
) -> pd.DataFrame:
    """Run the follow-up rules on a dataset folder and add the leads they create to it.

    Loads the tables the rules need (validated), takes the follow-up leads already in its leads table
    as earlier tasks (:func:`previous_tasks`: their cooldowns hold, their tasks are not
    made again), runs :func:`~salesml.rules.followups.due_followups` as of ``as_of``
    and writes the new leads with :func:`save_followup_leads`.

    Returns
    -------
    pandas.DataFrame
        The leads added (empty when there was nothing new).
    """
    from salesml.data.io import load_dataset

    book = FollowupRules.parse(rules)
    wanted = {"reps", "customers", "leads", "deals"}
    for r in book.rules:
        wanted.update(SUBJECT_TABLES[r.subject])
        if r.subject == "customer":  # customer metrics and tiers read these
            wanted.update(("contracts", "payments", "activities"))
    present = find_table_files(path, DatasetConfig.read(Path(path)))
    data = load_dataset(path, progress=False, tables=sorted(wanted & set(present)))
    previous = previous_tasks(data.leads) if data.has("leads") else None
    result = due_followups(data, rules=book, as_of=as_of, tier_rules=tier_rules, previous=previous)
    return save_followup_leads(followup_leads(result), path)


def _check_rows(leads: pd.DataFrame) -> None:
    """Refuse rows the leads table would quarantine (nothing bad is written)."""
    missing = [c for c in LEAD_COLUMNS if c not in leads.columns]
    if missing:
        raise DatasetError(
            f"follow-up leads: column(s) {', '.join(missing)} missing; build the rows with "
            "followup_leads()"
        )
    if leads["lead_id"].duplicated().any():
        dup = leads.loc[leads["lead_id"].duplicated(), "lead_id"].iloc[0]
        raise DatasetError(f"follow-up leads: lead_id {dup} appears twice")
    report = validate({"leads": leads.reset_index(drop=True)}, unchecked_parents=("customers",))
    if len(report.quarantine):
        q = report.quarantine.iloc[0]
        raise DatasetError(
            f"follow-up leads: row {q['row']} column {q['column']} breaks rule {q['rule']} "
            f"({q['message']}); nothing was written"
        )


def save_followup_leads(leads: pd.DataFrame, path: str | os.PathLike[str]) -> pd.DataFrame:
    """Add follow-up leads to the leads table of a dataset folder; return the rows added.

    Leads whose ``lead_id`` the table already holds are skipped, so a rerun adds
    nothing. The rows already there are never rewritten or dropped, including rows the
    loader quarantines (they stay in the file, and ``quarantine.parquet`` is not
    touched):

    - a Parquet folder of parts, or a month-partitioned one, gets one more part file
      (``part-followups-<hash>.parquet``, in the month folders of the new rows);
    - a single Parquet file is read as stored, the new rows appended, and the file
      replaced atomically;
    - a CSV file gets the new lines appended (its encoding and delimiter, formula-safe
      cells); columns its header lacks are not written (a warning names them);
    - a folder without a leads table gets ``leads.parquet``.

    Parameters
    ----------
    leads
        Rows from :func:`followup_leads`.
    path
        The dataset folder (``dataset.yaml`` and the table files).

    Returns
    -------
    pandas.DataFrame
        The rows written (empty when every lead was already there).

    Raises
    ------
    DatasetError
        When a row would break the leads schema (naming row, column and rule), or
        the folder's leads file cannot be read.
    """
    _check_rows(leads)
    folder = Path(path)
    if not (folder / "dataset.yaml").is_file():
        raise DatasetError(f"{folder}: not a dataset folder (no dataset.yaml)")
    config = DatasetConfig.read(folder)
    found = find_table_files(folder, config)
    p = found.get("leads")
    if p is not None:
        have = read_raw_tables(
            folder, tables=["leads"], columns={"leads": ["lead_id"]}, validate=False
        )
        known = set(have.tables["leads"]["lead_id"].astype("str"))
        leads = leads[~leads["lead_id"].isin(known)]
    new = leads.reset_index(drop=True)
    if new.empty:
        return new
    tag = hashlib.sha256("\n".join(sorted(new["lead_id"])).encode()).hexdigest()[:10]
    if p is None:
        new.to_parquet(folder / "leads.parquet", index=False)
    elif p.is_dir() and is_hive(p):
        write_month_partitions(new, p, "leads", part=f"part-followups-{tag}")
    elif p.is_dir():
        new.to_parquet(p / f"part-followups-{tag}.parquet", index=False)
    elif p.suffix.lower() in (".parquet", ".pq"):
        old = pd.read_parquet(p)  # as stored: every row, valid or not
        both = pd.concat([old, new], ignore_index=True)
        tmp = p.with_name(f".{p.name}.{tag}.tmp")
        both.to_parquet(tmp, index=False)
        os.replace(tmp, p)
    else:
        _append_csv(p, new, config)
    return new


def _append_csv(p: Path, new: pd.DataFrame, config: DatasetConfig) -> None:
    enc = config.encoding if config.encoding not in (None, "", "auto") else detect_encoding(p)
    raw = p.read_bytes()
    if enc.startswith("utf-16"):
        enc = "utf-16-le" if raw[:2] == b"\xff\xfe" else "utf-16-be"
        text_head = raw.decode(enc).lstrip("\ufeff").split("\n", 1)[0]
    else:
        text_head = raw.split(b"\n", 1)[0].decode("utf-8-sig" if enc.startswith("utf-8") else enc)
    crlf = text_head.endswith("\r")
    text_head = text_head.rstrip("\r")
    delim = config.extra.get("delimiter") or sniff_delimiter(text_head)
    header = next(csv.reader([text_head.lstrip("\ufeff")], delimiter=delim))
    lacking = [c for c in new.columns if c not in header]
    if lacking:
        warnings.warn(
            f"{p.name}: its header has no column(s) {', '.join(lacking)}; the follow-up "
            "leads were added without them (save the dataset as Parquet to keep them)",
            UserWarning,
            stacklevel=3,
        )
    rows = new.reindex(columns=header)
    for c in rows.columns:
        if pd.api.types.is_datetime64_any_dtype(rows[c]):
            rows[c] = rows[c].dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype("str")
    buf = io.StringIO()
    end = "\r\n" if crlf else "\n"  # the file's own line ends
    safe_csv_frame(rows).to_csv(buf, index=False, header=False, sep=delim, lineterminator=end)
    out_enc = "utf-8" if enc.startswith("utf-8") else enc
    body = buf.getvalue()
    if raw and not raw.endswith("\n".encode(out_enc)):
        body = end + body
    with p.open("ab") as f:
        f.write(body.encode(out_enc))
