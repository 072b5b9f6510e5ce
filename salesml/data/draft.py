"""A first draft of a mapping, read off an export's headers and values, for a person to edit.

:func:`draft_mapping` looks at every CSV/Parquet file of an export folder and guesses

- which file feeds which model table (its headers against the model's columns, and
  its name: ``opportunities``/``pipeline`` -> deals, ``accounts`` -> customers,
  ``users``/``sales_teams`` -> reps);
- which source column feeds which model column: fuzzy matching (:mod:`difflib`) of the
  header against the column's name, its English and Chinese labels and common CRM
  words (opportunity/deal, account/customer, sales agent/owner, close value/amount,
  deal stage/stage, ...), checked against the values (a manager column whose names
  are not reps becomes the team, not ``manager_id``);
- value maps for the outcome and stage (``Closed Won`` -> ``won``, the stages put in
  order) from the column's distinct values;
- date formats, thousands separators, a placeholder customer for deals without an
  account, a second date to fill an empty creation date from, a list-price lookup
  when the export has a product table (and the realised close value kept apart
  when it is 0 for lost deals, so it cannot give the outcome away);
- constants for required columns it could not find.

The YAML it writes carries a ``# CHECK`` comment on every guess a person should
confirm. It reads whole files (the distinct values matter) but compares only
:data:`MAX_FILES` files and :data:`MAX_HEADER_COLUMNS` columns each.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from salesml.data.mapping.engine import loose_key, read_source
from salesml.data.schema import DEFAULT_STAGE_ORDER, SPECS
from salesml.data.validate import ISO_DATE_RE
from salesml.i18n import label

__all__ = ["MAX_FILES", "MAX_HEADER_COLUMNS", "DraftMapping", "draft_mapping"]

MAX_FILES = 50
MAX_HEADER_COLUMNS = 300
_MATCH = 0.82  # header similarity needed to propose a column

#: CRM words per model column, most specific first (earlier words win ties).
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "deals": {
        "deal_id": ("opportunity id", "deal id", "opp id", "opportunity number", "deal number"),
        "customer_id": (
            "account id",
            "customer id",
            "account",
            "customer",
            "company",
            "client",
            "account name",
            "customer name",
        ),
        "rep_id": (
            "owner id",
            "sales agent",
            "opportunity owner",
            "owner",
            "sales rep",
            "rep",
            "salesperson",
            "agent",
            "user id",
            "assigned to",
        ),
        "lead_id": ("lead id", "lead"),
        "created_at": (
            "created date",
            "create date",
            "engage date",
            "created",
            "created on",
            "open date",
            "start date",
            "date created",
        ),
        "stage": (
            "stage reached",
            "stage",
            "deal stage",
            "stage name",
            "sales stage",
            "pipeline stage",
        ),
        "amount": (
            "amount",
            "deal value",
            "opportunity amount",
            "expected revenue",
            "close value",
            "deal size",
            "value",
            "deal amount",
        ),
        "product_line": (
            "product family",
            "product line",
            "product",
            "product name",
            "product category",
            "item",
        ),
        "outcome": ("outcome", "result", "status", "won lost", "deal stage", "stage"),
        "closed_at": (
            "close date",
            "closed date",
            "closing date",
            "date closed",
            "closed on",
            "won date",
        ),
    },
    "reps": {
        "rep_id": (
            "user id",
            "rep id",
            "employee id",
            "owner id",
            "sales agent",
            "agent",
            "salesperson",
            "user",
        ),
        "name": ("full name", "name", "agent name", "user name", "employee name", "sales agent"),
        "team": ("team", "sales team", "department", "group", "manager"),
        "region": ("region", "regional office", "sales region", "office", "territory", "area"),
        "role": ("role", "title", "job title", "position"),
        "manager_id": ("manager id", "reports to", "manager", "supervisor"),
        "hired_at": ("start date", "hire date", "hired", "date joined", "joined"),
    },
    "customers": {
        "customer_id": (
            "account id",
            "customer id",
            "account",
            "customer",
            "company",
            "client",
            "account name",
        ),
        "segment": (
            "segment",
            "customer type",
            "account type",
            "type",
            "sector",
            "industry",
            "tier",
        ),
        "region": (
            "region",
            "office location",
            "billing state province",
            "state",
            "province",
            "country",
            "billing country",
            "location",
            "city",
        ),
        "source_channel": ("lead source", "source", "channel", "origin"),
        "created_at": (
            "created date",
            "created",
            "create date",
            "customer since",
            "year established",
            "established",
        ),
        "store_id": ("store id", "store"),
    },
    "leads": {
        "lead_id": ("lead id", "id"),
        "customer_id": ("account id", "customer id", "converted account id", "account"),
        "channel": ("lead source", "source", "channel"),
        "campaign_id": ("campaign id", "campaign"),
        "created_at": ("created date", "created", "create date"),
        "first_response_at": ("first response", "first response date", "first contact"),
        "status": ("status", "lead status"),
        "lost_reason": ("lost reason", "reason", "disqualified reason"),
        "converted_at": ("converted date", "conversion date", "converted"),
    },
}
_FILE_WORDS: dict[str, tuple[str, ...]] = {
    "deals": ("opportunit", "deal", "pipeline", "商机"),
    "customers": ("account", "customer", "client", "compan", "客户"),
    "reps": ("user", "agent", "team", "rep", "employee", "staff", "owner", "sales_team", "销售"),
    "leads": ("lead", "线索"),
}
_WON = re.compile(r"\b(won|win|closed won|signed)\b|赢|成交", re.I)
_LOST = re.compile(r"\b(lost|lose|closed lost|dead)\b|输|丢单|失败", re.I)
_CONVERTED = re.compile(r"\b(converted|qualified)\b|转化", re.I)
#: Common stage names in their usual order (for putting a draft's stages in order).
_KNOWN_STAGES = (
    "lead",
    "prospecting",
    "prospect",
    "qualification",
    "qualify",
    "qualified",
    "discovery",
    "needs_analysis",
    "engaging",
    "engaged",
    "demo",
    "value_proposition",
    "proposal",
    "quote",
    "negotiation",
    "review",
    "contract",
    "closing",
    "commit",
)
_DATE_FORMATS = (
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y%m%d",
    "%m/%d/%y",
    "%d/%m/%y",
    "%b %d, %Y",
    "%d %b %Y",
    "%Y",
)
_PRICE = re.compile(r"(list|sales|unit)?[ _]?price|msrp|标价|单价", re.I)
_SOURCE_TYPES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def _norm(text: str) -> str:
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text))
    return re.sub(r"[\W_]+", " ", s).strip().lower()


def _tokens(a: str, b: str) -> float:
    """Share of the words of the longer text that match a word of the other (typos allowed).

    Keeps "opportunity name" from passing for "opportunity amount".
    """
    ta, tb = a.split(), b.split()
    if len(ta) < len(tb):
        ta, tb = tb, ta
    if not ta or not tb:
        return 0.0
    hit = sum(max(difflib.SequenceMatcher(None, x, y).ratio() for y in tb) >= 0.8 for x in ta)
    return hit / len(ta)


def _header_score(header: str, table: str, column: str) -> float:
    """How well ``header`` names ``table.column`` (1.0: a listed word; minus a little per rank)."""
    h = _norm(header)
    words = [column.replace("_", " "), *SYNONYMS.get(table, {}).get(column, ())]
    words += [_norm(label(column, "en")), label(column, "zh")]
    best = 0.0
    for rank, w in enumerate(words):
        w = _norm(w) if not re.search(r"[\u4e00-\u9fff]", w) else w
        if not w:
            continue
        r = 1.0 if h == w else min(difflib.SequenceMatcher(None, h, w).ratio(), _tokens(h, w))
        best = max(best, r - 0.001 * rank)
    return best


@dataclass
class _Source:
    file: str
    frame: pd.DataFrame

    def col(self, name: str) -> pd.Series:
        s = self.frame[name]
        s = s.astype("str").str.strip()
        return s.mask(s.str.len() == 0)


@dataclass
class DraftMapping:
    """A draft mapping: the mapping itself, the YAML with comments, and what to check.

    Attributes
    ----------
    mapping
        The mapping as a dict (what :meth:`ImportMapping.from_dict` takes).
    checks
        Notes on the guesses a person should confirm, per table.
    """

    mapping: dict[str, Any]
    checks: dict[str, list[str]] = field(default_factory=dict)
    comments: dict[tuple[str, ...], str] = field(default_factory=dict)
    unused_files: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        """The draft as YAML with ``# CHECK`` comments."""
        return _emit(self)

    def write(self, path: str | Path) -> Path:
        """Write :meth:`to_yaml` to ``path``."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.to_yaml(), encoding="utf-8")
        return p


# ---------------------------------------------------------------------- guessing
def _date_format(values: pd.Series) -> tuple[str | None, bool]:
    """The strptime format the values are in (``None``: ISO or none fits) and if ambiguous."""
    v = values.dropna().drop_duplicates().head(2000)
    if not len(v) or v.str.fullmatch(ISO_DATE_RE).all():
        return None, False
    todo = v[~v.str.fullmatch(ISO_DATE_RE)]
    fits = [
        f
        for f in _DATE_FORMATS
        if pd.to_datetime(todo, format=f, errors="coerce").notna().mean() >= 0.99
    ]
    if not fits:
        return None, False
    ambiguous = {"%m/%d/%Y", "%d/%m/%Y"} <= set(fits)
    return fits[0], ambiguous


def _is_number_text(values: pd.Series) -> tuple[bool, bool]:
    """(looks numeric, uses ``,`` as thousands separator)."""
    v = values.dropna().head(5000)
    if not len(v):
        return False, False
    commas = v.str.contains(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$", regex=True)
    plain = pd.to_numeric(v, errors="coerce").notna()
    return bool((commas | plain).mean() > 0.95), bool(commas.any())


def _slug(value: str) -> str:
    s = re.sub(r"[\W]+", "_", value.strip().lower()).strip("_")
    return s or "stage"


def _stage_name(value: str) -> str:
    """A source stage as a model stage name (``Proposal/Price Quote`` -> ``proposal``)."""
    slug = _slug(value)
    for known in (*DEFAULT_STAGE_ORDER, *_KNOWN_STAGES):
        if slug == known or slug.startswith(known + "_") or slug.split("_")[0] == known:
            return known
    return slug


def _stage_rank(name: str, first_seen: int) -> tuple[int, int]:
    """Known stage names in their usual order, then the others as they first appear."""
    known = _KNOWN_STAGES.index(name) if name in _KNOWN_STAGES else len(_KNOWN_STAGES)
    return (known, first_seen)


def _assign_files(sources: list[_Source]) -> dict[str, _Source]:
    """Model table -> the source file that feeds it (greedy on a header + name score)."""
    scores = []
    for src in sources:
        headers = list(src.frame.columns)[:MAX_HEADER_COLUMNS]
        stem = Path(src.file).stem.lower()
        for table in SYNONYMS:
            spec = SPECS[table]
            req = [c.name for c in spec.columns if not c.nullable]
            best = [max((_header_score(h, table, c) for h in headers), default=0.0) for c in req]
            cover = float(np.mean([b >= _MATCH for b in best])) if best else 0.0
            bonus = 0.5 if any(w in stem for w in _FILE_WORDS[table]) else 0.0
            scores.append((cover + bonus, table, src))
    out: dict[str, _Source] = {}
    used: set[str] = set()
    for score, table, src in sorted(scores, key=lambda x: -x[0]):
        if score >= 0.6 and table not in out and src.file not in used:
            out[table] = src
            used.add(src.file)
    return out


def _match_columns(src: _Source, table: str) -> dict[str, tuple[str, float]]:
    """Model column -> (source column, score), one source per model column, greedily."""
    headers = list(src.frame.columns)[:MAX_HEADER_COLUMNS]
    pairs = []
    for c in SPECS[table].columns:
        for h in headers:
            s = _header_score(h, table, c.name)
            if s >= _MATCH:
                pairs.append((s, c.name, h))
    out: dict[str, tuple[str, float]] = {}
    taken: set[str] = set()
    for s, m, h in sorted(pairs, key=lambda x: -x[0]):
        if m in out or h in taken:
            continue
        out[m] = (h, s)
        taken.add(h)
    return out


class _Drafter:
    def __init__(self, src_dir: Path) -> None:
        self.src_dir = src_dir
        self.checks: dict[str, list[str]] = {}
        self.comments: dict[tuple[str, ...], str] = {}
        self.dataset: dict[str, Any] = {
            "name": src_dir.resolve().name or "imported",
            "currency": "CNY",
        }
        self.comments[("dataset", "currency")] = (
            "CHECK: the currency of every amount (USD, EUR, CNY, ...)"
        )
        self.date_formats: list[str] = []

    def check(self, table: str, text: str) -> None:
        self.checks.setdefault(table, []).append(text)

    def note_date_format(self, table: str, column: str, values: pd.Series) -> None:
        fmt, ambiguous = _date_format(values)
        if fmt and fmt not in self.date_formats:
            self.date_formats.append(fmt)
        if ambiguous:
            self.check(table, f"{column}: dates could be month/day or day/month; {fmt} assumed")

    def table(
        self, table: str, src: _Source, assigned: dict[str, _Source], others: list[_Source]
    ) -> dict:
        spec = SPECS[table]
        matched = _match_columns(src, table)
        td: dict[str, Any] = {"file": src.file}
        columns: dict[str, Any] = {}
        values: dict[str, Any] = {}
        constants: dict[str, Any] = {}
        fill: dict[str, Any] = {}
        lookups: dict[str, Any] = {}
        placeholders: dict[str, Any] = {}
        if table == "deals":
            self._deal_status(src, matched)
        if table == "reps" and "manager_id" in matched and "rep_id" in matched:
            ids = set(src.col(matched["rep_id"][0]).dropna())
            mgr = src.col(matched["manager_id"][0]).dropna()
            if len(mgr) and mgr.isin(ids).mean() < 0.8:
                h = matched.pop("manager_id")[0]
                if "team" not in matched:
                    matched["team"] = (h, 0.9)
                self.check(
                    table,
                    f"{h}: its names are not reps of this file, so it names the team (not manager_id)",
                )
        for m, (h, score) in matched.items():
            columns.setdefault(h, [])
            columns[h].append(m)
            if score < 0.98:  # not one of the listed words: a fuzzy guess
                self.comments[("tables", table, "columns", h)] = (
                    f"CHECK: guessed from the header ({score:.2f})"
                )
        if table == "reps" and "name" not in matched and "rep_id" in matched:
            columns[matched["rep_id"][0]].append("name")
        if table == "deals" and "outcome" in self._status:
            h, vmap = self._status["outcome"]
            columns.setdefault(h, [])
            if "outcome" not in columns[h]:
                columns[h].append("outcome")
            values["outcome"] = vmap
        if table == "deals" and "stage" in self._status:
            h, vmap, order = self._status["stage"]
            columns.setdefault(h, [])
            if "stage" not in columns[h]:
                columns[h].append("stage")
            values["stage"] = vmap
            self.dataset["stage_order"] = order
            self.comments[("dataset", "stage_order")] = "CHECK: the stages from first to last"
        # column kinds: dates and numbers
        for h, ms in columns.items():
            for m in ms:
                kind = spec[m].kind if m in spec else None
                if kind == "datetime":
                    self.note_date_format(table, h, src.col(h))
                elif kind in ("float", "int"):
                    _, thousands = _is_number_text(src.col(h))
                    if thousands:
                        td["thousands"] = ","
        source_of = {m: h for h, ms in columns.items() for m in ms}
        # empty required cells: fill a date from another date, point a reference at a placeholder
        for c in spec.columns:
            if c.nullable or c.name not in source_of:
                continue
            empty = int(src.col(source_of[c.name]).isna().sum())
            if not empty:
                continue
            if c.kind == "datetime":
                others_dates = [
                    h
                    for h, ms in columns.items()
                    if h != source_of[c.name]
                    and any(spec[m].kind == "datetime" for m in ms if m in spec)
                ]
                if others_dates:
                    fill[c.name] = {"fill_from": others_dates}
                    self.comments[("tables", table, "fill", c.name)] = (
                        f"{empty:,} rows have no {source_of[c.name]}: take the next date; rows with "
                        "no date at all are quarantined"
                    )
            elif c.references:
                parent = c.references.split(".")[0]
                pid = f"(no {label(parent, 'en').lower().rstrip('s') or parent})"
                pid = (
                    "(no account)"
                    if parent == "customers"
                    else ("(unassigned)" if parent == "reps" else pid)
                )
                placeholders[c.name] = pid
                self.comments[("tables", table, "placeholders", c.name)] = (
                    f"{empty:,} rows have no {source_of[c.name]}: they point at one placeholder "
                    f"{parent} row instead of being quarantined"
                )
        if table == "deals":
            self._deal_amount(src, columns, source_of, fill, lookups, others)
        # required columns still missing: constants to edit
        for c in spec.columns:
            if c.nullable or c.name in {m for ms in columns.values() for m in ms} or c.name in fill:
                continue
            value = (
                "2000-01-01"
                if c.kind == "datetime"
                else ("0" if c.kind in ("float", "int") else "unknown")
            )
            constants[c.name] = value
            self.comments[("tables", table, "constants", c.name)] = (
                f"CHECK: no column of {src.file} looks like {c.name}; map one or keep a constant"
            )
        order = {h: i for i, h in enumerate(src.frame.columns)}
        td["columns"] = {
            h: (ms[0] if len(ms) == 1 else ms)
            for h, ms in sorted(columns.items(), key=lambda x: order.get(x[0], len(order)))
        }
        for key, block in (
            ("values", values),
            ("constants", constants),
            ("lookups", lookups),
            ("fill", fill),
            ("placeholders", placeholders),
        ):
            if block:
                td[key] = block
        td["keep_unmapped"] = True
        return td

    _status: dict[str, Any]

    def _deal_status(self, src: _Source, matched: dict[str, tuple[str, float]]) -> None:
        """Find the outcome column (won/lost values) and the stage column; draft their maps."""
        self._status = {}
        headers = list(src.frame.columns)[:MAX_HEADER_COLUMNS]
        cand = []
        for h in headers:
            v = src.col(h).dropna()
            distinct = v.unique()
            if not 2 <= len(distinct) <= 50:
                continue
            won = [x for x in distinct if _WON.search(str(x))]
            lost = [x for x in distinct if _LOST.search(str(x))]
            if won and lost:
                score = max(
                    _header_score(h, "deals", "outcome"), _header_score(h, "deals", "stage")
                )
                cand.append((score, h, list(distinct), won, lost))
        outcome_col = None
        if cand:
            _, h, distinct, won, lost = max(cand, key=lambda x: x[0])
            outcome_col = h
            vmap: dict[str, Any] = {str(x): "won" for x in won}
            vmap.update({str(x): "lost" for x in lost})
            vmap["*"] = "open"
            self._status["outcome"] = (h, vmap)
            matched.pop("outcome", None)
            if matched.get("stage", ("",))[0] == h:
                matched.pop("stage")
        stage_col = matched.pop("stage", (None,))[0] if "stage" in matched else None
        if stage_col is None:
            taken = {h for h, _ in matched.values()} | {outcome_col}
            others = [(_header_score(h, "deals", "stage"), h) for h in headers if h not in taken]
            best = max(others, default=(0.0, None))
            stage_col = best[1] if best[0] >= _MATCH else outcome_col
        if stage_col is None:
            return
        distinct = list(src.col(stage_col).dropna().drop_duplicates())[:50]
        open_values = [x for x in distinct if not (_WON.search(x) or _LOST.search(x))]
        names = {x: _stage_name(x) for x in open_values}
        first_seen = {n: i for i, n in reversed(list(enumerate(names.values())))}
        order = sorted(dict.fromkeys(names.values()), key=lambda n: _stage_rank(n, first_seen[n]))
        vmap = {x: n for x, n in names.items()}
        if len(open_values) < len(distinct) and order:
            vmap["*"] = order[-1]  # won and lost deals passed (or stopped at) the last stage
            self.check(
                "deals", f"{stage_col}: won and lost deals are put at the last stage, {order[-1]}"
            )
        if order:
            self._status["stage"] = (stage_col, vmap, order)

    def _deal_amount(self, src, columns, source_of, fill, lookups, others) -> None:
        """List prices by product; keep a realised value (0 when lost) out of ``amount``."""
        product_h = source_of.get("product_line")
        price_lookup = None
        if product_h is not None:
            keys = loose_key(src.col(product_h).dropna())
            for o in others:
                prices = [h for h in o.frame.columns if _PRICE.search(str(h))]
                if not prices:
                    continue
                for h in o.frame.columns:
                    ref = loose_key(o.col(h).dropna())
                    if len(ref) and keys.isin(set(ref)).mean() >= 0.5:
                        price_lookup = {
                            "file": o.file,
                            "key": product_h,
                            "on": h,
                            "value": prices[0],
                            "match": "loose",
                        }
                        if h == product_h:
                            del price_lookup["on"]
                        self.dataset["value_sets"] = {
                            "deals.product_line": {"file": o.file, "column": h}
                        }
                        break
                if price_lookup:
                    break
        amount_h = source_of.get("amount")
        if amount_h is not None and "outcome" in self._status:
            out_h, vmap = self._status["outcome"]
            outcome = src.col(out_h).map(
                lambda x: vmap.get(x, "open") if isinstance(x, str) else "open"
            )
            amount = pd.to_numeric(src.col(amount_h).str.replace(",", ""), errors="coerce")
            lost, won = outcome == "lost", outcome == "won"
            if (
                lost.sum() >= 5
                and (amount[lost] == 0).mean() >= 0.5
                and (amount[won] == 0).mean() <= 0.05
            ):
                columns[amount_h] = [
                    m if m != "amount" else "won_amount" for m in columns[amount_h]
                ]
                self.comments[("tables", "deals", "columns", amount_h)] = (
                    "0 for every lost deal: a realised value, kept as won_amount; as amount it "
                    "would give the outcome away"
                )
                amount_h = None
        if price_lookup is not None:
            lookups["list_price"] = price_lookup
            fill["amount"] = {
                "fill_from": ([amount_h] if amount_h and "amount" not in source_of else [])
                + ["lookup.list_price"]
            }
            self.comments[("tables", "deals", "fill", "amount")] = (
                "empty amounts take the product's list price (known before close)"
            )


def draft_mapping(src_dir: str | Path) -> DraftMapping:
    """Guess a mapping for the export in ``src_dir`` (see the module docstring).

    Returns
    -------
    DraftMapping
        ``.to_yaml()`` / ``.write(path)`` give the commented YAML to edit; it imports
        with :func:`salesml.data.mapping.import_dataset` as it is, but every ``# CHECK``
        is a guess.

    Raises
    ------
    FileNotFoundError
        When ``src_dir`` holds no CSV or Parquet file.
    ValueError
        When no file looks like deals, customers, reps or leads.
    """
    src = Path(src_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"{src} is not a folder of exported files")
    paths = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in _SOURCE_TYPES)
    if not paths:
        raise FileNotFoundError(f"{src} holds no CSV or Parquet file to draft a mapping from")
    if len(paths) > MAX_FILES:
        raise ValueError(f"{src} holds {len(paths)} files; a draft looks at {MAX_FILES} at most")
    sources = []
    for p in paths:
        delimiter = "\t" if p.suffix.lower() == ".tsv" else ","
        if p.suffix.lower() in (".csv", ".txt"):
            head = p.read_bytes()[:4096].decode("utf-8", errors="replace").splitlines()[:1]
            if head and head[0].count(";") > head[0].count(","):
                delimiter = ";"
        frame, _ = read_source(p, None, delimiter)
        sources.append(_Source(p.name, frame))
    assigned = _assign_files(sources)
    if not assigned:
        raise ValueError(
            f"no file of {src} looks like deals, customers, reps or leads "
            f"(files: {', '.join(p.name for p in paths)}); write the mapping by hand "
            "(docs/mapping.md)"
        )
    d = _Drafter(src)
    others = [s for s in sources if s not in assigned.values()]
    tables = {}
    for table in ("reps", "customers", "leads", "deals"):
        if table in assigned:
            tables[table] = d.table(table, assigned[table], assigned, others)
    mapping: dict[str, Any] = {"encoding": "auto"}
    if d.date_formats:
        mapping["date_formats"] = d.date_formats
    mapping["dataset"] = d.dataset
    mapping["tables"] = tables
    return DraftMapping(mapping, d.checks, d.comments, [s.file for s in others])


# ---------------------------------------------------------------------- writing
def _scalar(v: Any) -> str:
    return (
        yaml.safe_dump(v, allow_unicode=True, default_flow_style=True, width=10_000)
        .strip()
        .removesuffix("...")
        .strip()
    )


_BLOCKS = ("columns", "values", "constants", "lookups", "fill", "placeholders")


def _block(path: tuple[str, ...]) -> bool:
    """Whether the mapping at ``path`` is written one entry a line (else in flow style)."""
    if path in (("tables",), ("dataset",)):
        return True
    return path[0] == "tables" and (len(path) == 2 or (len(path) == 3 and path[2] in _BLOCKS))


def _emit(draft: DraftMapping) -> str:
    m, com = draft.mapping, draft.comments
    lines = [
        "# Draft mapping written by `salesml import --draft-mapping` (format: docs/mapping.md).",
        "# Every line marked CHECK is a guess: confirm it, then run",
        "#   salesml import SRC --mapping THIS_FILE --out DATASET_DIR",
    ]
    for table, notes in draft.checks.items():
        for n in notes:
            lines.append(f"# CHECK ({table}): {n}")
    if draft.unused_files:
        lines.append(f"# not mapped to a table: {', '.join(draft.unused_files)}")

    def put(indent: int, key: str, value: Any, path: tuple[str, ...]) -> None:
        pad = "  " * indent
        note = com.get(path)
        tail = f"  # {note}" if note else ""
        if isinstance(value, dict) and _block(path):
            lines.append(f"{pad}{_scalar(key)}:{tail}")
            for k, v in value.items():
                put(indent + 1, k, v, (*path, str(k)))
        else:
            lines.append(f"{pad}{_scalar(key)}: {_scalar(value)}{tail}")

    for key, value in m.items():
        put(0, key, value, (key,))
    return "\n".join(lines) + "\n"
