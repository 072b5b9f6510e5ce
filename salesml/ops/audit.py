"""Tamper-evident audit packs of compliance approvals.

:func:`write_audit_pack` writes, into one folder,

- ``records.jsonl``: every approval step of the selected customers, one canonical JSON
  object a line (step, reviewer, timestamps, decision, document reference and the
  documents it lists, SLA, wait);
- one PDF per customer (``<customer_id>.pdf``) listing those steps, set in an embedded
  CJK TrueType font so Chinese names and labels render on any reader;
- ``manifest.json``: the SHA-256 of each record and of each PDF, in order, each entry
  chained to the one before (``chain_i = sha256(chain_{i-1} | kind | name | sha256_i)``),
  and the chain head.

:func:`verify_audit_pack` recomputes every hash and the chain and names the first record
or file that changed, went missing, moved or appeared. Keep the printed chain head apart
from the pack (an email, a ticket): a pack rewritten as a whole, manifest included, is
caught by comparing heads (``salesml audit verify DIR --head H``).

The CJK font is found at run time (:func:`find_cjk_font`): ``$SALESML_CJK_FONT`` or the
fonts of Debian's ``fonts-wqy-microhei`` / ``fonts-wqy-zenhei`` / ``fonts-arphic-uming``
packages. reportlab embeds TrueType outlines only (OpenType/CFF fonts such as Noto Sans
CJK cannot be embedded by it), hence these.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.i18n import check_lang, label, t
from salesml.ops.compliance import approval_sla
from salesml.periods import PeriodLike, as_period

__all__ = [
    "CJK_FONT_CANDIDATES",
    "AuditPack",
    "FontNotFoundError",
    "Verification",
    "documents",
    "find_cjk_font",
    "verify_audit_pack",
    "write_audit_pack",
]

#: Where the CJK TrueType fonts of Debian's packages live, in order of preference.
CJK_FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
)
#: The Debian package the CI installs for the font.
CJK_FONT_PACKAGE = "fonts-wqy-microhei"
MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
#: Customers one pack may hold at most.
MAX_CUSTOMERS = 100_000
_FONT_NAME = "SalesmlCJK"
_GENESIS = "0" * 64
_SAFE_ID = re.compile(r"[^\w.-]", re.UNICODE)
_RECORD_FIELDS = (
    "approval_id",
    "subject_id",
    "step",
    "reviewer_id",
    "reviewer_name",
    "submitted_at",
    "decided_at",
    "decision",
    "document_ref",
    "documents",
    "sla_h",
    "waited_h",
    "breached",
    "problem",
)
#: What separates the documents of one ``document_ref`` cell.
_DOC_SEP = re.compile(r"\s*[;；\n]\s*")


class FontNotFoundError(RuntimeError):
    """No embeddable CJK TrueType font was found."""


def find_cjk_font() -> Path:
    """The CJK TrueType font audit PDFs are set in.

    Raises
    ------
    FontNotFoundError
        Saying how to install one (``apt-get install fonts-wqy-microhei``) or point
        ``SALESML_CJK_FONT`` at a TrueType (``.ttf``/``.ttc``) file.
    """
    env = os.environ.get("SALESML_CJK_FONT")
    if env:
        p = Path(env)
        if not p.is_file():
            raise FontNotFoundError(f"SALESML_CJK_FONT={env!r} is not a file")
        return p
    for c in CJK_FONT_CANDIDATES:
        if Path(c).is_file():
            return Path(c)
    raise FontNotFoundError(
        "audit PDFs need a CJK TrueType font to embed and none was found: install "
        f"Debian's {CJK_FONT_PACKAGE} (apt-get install {CJK_FONT_PACKAGE}) or set "
        "SALESML_CJK_FONT to a .ttf/.ttc file with Chinese glyphs (looked in: "
        + ", ".join(CJK_FONT_CANDIDATES)
        + ")"
    )


def _register_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path = find_cjk_font()
        try:
            font = TTFont(_FONT_NAME, str(path), subfontIndex=0)
        except Exception as e:  # reportlab raises TTFError and plain errors alike
            raise FontNotFoundError(f"cannot embed the font {path}: {e}") from e
        pdfmetrics.registerFont(font)
    return _FONT_NAME


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _link(prev: str, kind: str, name: str, digest: str) -> str:
    return _sha(f"{prev}|{kind}|{name}|{digest}".encode())


def _canonical(record: dict[str, object]) -> bytes:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _ts(x: object) -> str | None:
    return None if pd.isna(x) else pd.Timestamp(x).isoformat()


def _num(x: object) -> float | None:
    return None if pd.isna(x) else round(float(x), 6)


def _file_name(customer: str) -> str:
    safe = _SAFE_ID.sub("_", customer)[:80] or "_"
    return f"{safe}.pdf"


@dataclass
class AuditPack:
    """What :func:`write_audit_pack` wrote.

    Attributes
    ----------
    folder
        The pack's folder.
    head
        The chain head (SHA-256 hex): keep it apart from the pack.
    customers
        Customers in the pack, in order.
    records
        Approval records written.
    files
        PDF file names, in order.
    """

    folder: Path
    head: str
    customers: list[str]
    records: int
    files: list[str] = field(default_factory=list)


@dataclass
class Verification:
    """The outcome of :func:`verify_audit_pack`.

    Attributes
    ----------
    ok
        Whether every hash and the chain check out.
    head
        The recomputed chain head.
    problem
        The first problem found, in words (``""`` when ``ok``).
    kind, name
        What it is about: ``record`` (an approval id, with its line) / ``file`` /
        ``manifest`` and its name.
    """

    ok: bool
    head: str
    problem: str = ""
    kind: str = ""
    name: str = ""


def _records(data: SalesData, customers: list[str]) -> pd.DataFrame:
    """Every approval row of ``customers`` (rows the SLA check left out included, marked)."""
    r = approval_sla(data)
    ap = data["approvals"]
    ap = ap.assign(_row=np.arange(len(ap)))
    ap = ap[ap["subject_id"].astype(str).isin(customers)].copy()
    measured = r.table.drop_duplicates("approval_id").set_index("approval_id")
    for c in ("sla_h", "waited_h", "breached"):
        ap[c] = measured[c].reindex(ap["approval_id"]).to_numpy()
    probs = r.problems.groupby("row")["problem"].agg(lambda s: ",".join(sorted(set(s))))
    ap["problem"] = probs.reindex(ap["_row"]).to_numpy()
    if "document_ref" not in ap.columns:
        ap["document_ref"] = None
    if data.has("reps") and "name" in data["reps"].columns:
        names = data["reps"].drop_duplicates("rep_id").set_index("rep_id")["name"]
        ap["reviewer_name"] = names.reindex(ap["reviewer_id"]).to_numpy()
    else:
        ap["reviewer_name"] = None
    for c in ("submitted_at", "decided_at"):
        ap[c] = pd.to_datetime(ap[c], errors="coerce")
    order = {c: i for i, c in enumerate(customers)}
    ap["_c"] = ap["subject_id"].astype(str).map(order)
    return ap.sort_values(["_c", "submitted_at", "approval_id"], kind="stable")


def documents(ref: object) -> list[str]:
    """The documents a ``document_ref`` cell lists (separated by ``;``, ``；`` or lines)."""
    if ref is None or (isinstance(ref, float) and np.isnan(ref)):
        return []
    return [d for d in _DOC_SEP.split(str(ref).strip()) if d]


def _as_record(row: pd.Series) -> dict[str, object]:
    rec: dict[str, object] = {}
    for f in _RECORD_FIELDS:
        if f == "documents":
            rec[f] = documents(row["document_ref"])
            continue
        v = row[f]
        if f in ("submitted_at", "decided_at"):
            rec[f] = _ts(v)
        elif f in ("sla_h", "waited_h"):
            rec[f] = _num(v)
        elif f == "breached":
            rec[f] = None if pd.isna(v) else bool(v)
        else:
            rec[f] = None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    return rec


def _flag(rec: dict[str, object], lang: str) -> str:
    if rec["problem"]:
        return t("ops.audit.problem", lang, problem=rec["problem"])
    return t("ops.audit.yes" if rec["breached"] else "ops.audit.no", lang)


def _pdf(
    path: Path,
    customer: str,
    info: dict[str, str],
    records: list[dict[str, object]],
    digests: list[str],
    lang: str,
) -> bytes:
    """Write one customer's PDF (deterministic bytes: ``invariant`` output)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _register_font()
    title = ParagraphStyle("t", fontName=font, fontSize=14, leading=18)
    body = ParagraphStyle("b", fontName=font, fontSize=8, leading=10)
    small = ParagraphStyle("s", fontName=font, fontSize=6, leading=8)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        title=t("ops.audit.title", lang, customer=customer),
        author="salesml",
        invariant=1,
        leftMargin=28,
        rightMargin=28,
        topMargin=28,
        bottomMargin=28,
    )
    head = [
        label(c, lang)
        for c in (
            "step",
            "reviewer_id",
            "submitted_at",
            "decided_at",
            "decision",
            "document_ref",
            "sla_h",
            "waited_h",
            "breached",
        )
    ]
    rows = [[Paragraph(h, body) for h in head]]
    for rec, dg in zip(records, digests, strict=True):
        reviewer = str(rec["reviewer_id"]) + (
            f" {rec['reviewer_name']}" if rec["reviewer_name"] else ""
        )
        cells = [
            t(f"ops.step.{rec['step']}", lang),
            reviewer,
            (rec["submitted_at"] or "")[:19].replace("T", " "),
            (rec["decided_at"] or "")[:19].replace("T", " "),
            label(rec["decision"], lang),
            "<br/>".join(escape(d) for d in rec["documents"]) or "—",
            "" if rec["sla_h"] is None else f"{rec['sla_h']:g}",
            "" if rec["waited_h"] is None else f"{rec['waited_h']:.2f}",
            _flag(rec, lang),
        ]
        # cell text is markup to reportlab: escaped (the documents cell already is)
        rows.append([Paragraph(c if i == 5 else escape(str(c)), body) for i, c in enumerate(cells)])
        rows.append(
            [
                Paragraph(f"{rec['approval_id']} · SHA-256 {dg}", small),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ]
        )
    widths = [70, 110, 80, 80, 60, 110, 55, 60, 160]
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    style += [("SPAN", (0, i), (-1, i)) for i in range(2, len(rows), 2)]
    table.setStyle(TableStyle(style))
    meta = " · ".join(f"{label(k, lang)}: {label(v, lang)}" for k, v in info.items() if v)
    story = [
        Paragraph(t("ops.audit.title", lang, customer=customer), title),
        Paragraph(meta, body),
        Paragraph(t("ops.audit.intro", lang, n=len(records)), body),
        Spacer(1, 8),
        table,
    ]
    doc.build(story)
    return path.read_bytes()


def write_audit_pack(
    data: SalesData,
    out: str | Path,
    *,
    customers: Iterable[str] | None = None,
    period: PeriodLike = None,
    lang: str = "zh",
) -> AuditPack:
    """Write the audit pack of some customers' approvals into the folder ``out``.

    Parameters
    ----------
    data
        A bundle with ``approvals`` (``customers`` and ``reps`` add the customer's
        segment and region and the reviewer's name; an ``approvals.document_ref``
        column, when present, is listed as the document reference).
    out
        Folder to write (created; it must be empty or not exist).
    customers
        Customer ids to include.
    period
        Or: every customer with an approval step submitted in this period.
    lang
        Language of the PDFs (``zh`` or ``en``).

    Returns
    -------
    AuditPack

    Raises
    ------
    ValueError
        When neither or both of ``customers`` and ``period`` are given, when a customer
        has no approval, or when ``out`` is not empty.
    FontNotFoundError
        When no CJK font can be embedded (see :func:`find_cjk_font`).
    """
    check_lang(lang)
    data.require("approvals", analysis="the audit pack")
    if (customers is None) == (period is None):
        raise ValueError("audit pack: give either customers or a period (one of the two)")
    ap = data["approvals"]
    if customers is not None:
        wanted = list(dict.fromkeys(str(c) for c in customers))
        known = set(ap["subject_id"].astype(str))
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise ValueError(
                f"audit pack: no approval in table 'approvals' for customer(s) "
                f"{', '.join(unknown[:10])}" + (" ..." if len(unknown) > 10 else "")
            )
    else:
        p = as_period(period)
        assert p is not None
        sel = ap.loc[p.mask(pd.to_datetime(ap["submitted_at"], errors="coerce")), "subject_id"]
        wanted = sorted(set(sel.astype(str)))
        if not wanted:
            raise ValueError(f"audit pack: no approval submitted in {p}")
    if len(wanted) > MAX_CUSTOMERS:
        raise ValueError(f"audit pack: {len(wanted):,} customers; at most {MAX_CUSTOMERS:,}")
    folder = Path(out)
    if folder.exists() and any(folder.iterdir()):
        raise ValueError(f"audit pack: {folder} is not empty; give a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    _register_font()  # fail before writing anything
    recs = _records(data, wanted)
    info_cols = [
        c for c in ("segment", "region") if data.has("customers") and c in data["customers"].columns
    ]
    info = (
        data["customers"].drop_duplicates("customer_id").set_index("customer_id")[info_cols]
        if info_cols
        else pd.DataFrame(index=pd.Index([], name="customer_id"))
    )
    entries: list[dict[str, str]] = []
    chain = _GENESIS
    files: list[str] = []
    with open(folder / RECORDS, "wb") as fh:
        for cust, part in recs.groupby("_c", sort=True):
            customer = wanted[int(cust)]
            rows = [_as_record(r) for _, r in part.iterrows()]
            digests = []
            for rec in rows:
                line = _canonical(rec)
                fh.write(line + b"\n")
                dg = _sha(line)
                digests.append(dg)
                chain = _link(chain, "record", str(rec["approval_id"]), dg)
                entries.append(
                    {
                        "kind": "record",
                        "name": str(rec["approval_id"]),
                        "sha256": dg,
                        "chain": chain,
                    }
                )
            meta = (
                {k: str(v) for k, v in info.loc[customer].items()} if customer in info.index else {}
            )
            name = _file_name(customer)
            pdf = _pdf(folder / name, customer, meta, rows, digests, lang)
            dg = _sha(pdf)
            chain = _link(chain, "file", name, dg)
            entries.append({"kind": "file", "name": name, "sha256": dg, "chain": chain})
            files.append(name)
    manifest = {
        "format": "salesml-audit-pack/1",
        "hash": "sha256",
        "chain_rule": "chain_i = sha256(chain_{i-1} + '|' + kind + '|' + name + '|' + sha256_i), chain_0 = 64 zeros",
        "records_file": RECORDS,
        "customers": wanted,
        "entries": entries,
        "head": chain,
    }
    (folder / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return AuditPack(folder, chain, wanted, len(recs), files)


def verify_audit_pack(folder: str | Path, *, head: str | None = None) -> Verification:
    """Recompute every hash of an audit pack and its chain; name the first change.

    Parameters
    ----------
    folder
        The pack's folder.
    head
        The chain head printed when the pack was written (checked when given).

    Returns
    -------
    Verification
    """
    folder = Path(folder)
    mpath = folder / MANIFEST
    if not mpath.is_file():
        return Verification(False, "", f"{MANIFEST} is missing in {folder}", "manifest", MANIFEST)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        entries = manifest["entries"]
        stated_head = str(manifest["head"])
    except (ValueError, KeyError, TypeError) as e:
        return Verification(False, "", f"{MANIFEST} cannot be read: {e}", "manifest", MANIFEST)
    rpath = folder / RECORDS
    if not rpath.is_file():
        return Verification(False, "", f"{RECORDS} is missing", "file", RECORDS)
    lines = rpath.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    chain = _GENESIS
    line_no = 0
    listed: set[str] = {MANIFEST, RECORDS}
    for i, e in enumerate(entries):
        try:
            kind, name, digest, link = e["kind"], str(e["name"]), e["sha256"], e["chain"]
        except (KeyError, TypeError):
            return Verification(
                False, chain, f"manifest entry {i} is malformed", "manifest", MANIFEST
            )
        if kind == "record":
            if line_no >= len(lines):
                return Verification(
                    False,
                    chain,
                    t("ops.audit.verify.record_missing", "en", name=name),
                    "record",
                    name,
                )
            got = _sha(lines[line_no])
            line_no += 1
            if got != digest:
                return Verification(
                    False,
                    chain,
                    t("ops.audit.verify.record_changed", "en", name=name, line=line_no),
                    "record",
                    name,
                )
        elif kind == "file":
            listed.add(name)
            p = folder / name
            if Path(name).name != name or not p.is_file():
                return Verification(
                    False, chain, t("ops.audit.verify.file_missing", "en", name=name), "file", name
                )
            if _sha(p.read_bytes()) != digest:
                return Verification(
                    False, chain, t("ops.audit.verify.file_changed", "en", name=name), "file", name
                )
        else:
            return Verification(
                False, chain, f"manifest entry {i}: unknown kind {kind!r}", "manifest", MANIFEST
            )
        chain = _link(chain, kind, name, digest)
        if chain != link:
            return Verification(
                False,
                chain,
                t("ops.audit.verify.chain_broken", "en", name=name, i=i),
                "manifest",
                name,
            )
    if line_no < len(lines):
        return Verification(
            False,
            chain,
            t("ops.audit.verify.record_extra", "en", line=line_no + 1),
            "record",
            RECORDS,
        )
    if chain != stated_head:
        return Verification(False, chain, t("ops.audit.verify.head", "en"), "manifest", MANIFEST)
    if head is not None and head.strip().lower() != chain:
        return Verification(
            False, chain, t("ops.audit.verify.head_given", "en", head=head), "manifest", MANIFEST
        )
    extra = sorted(p.name for p in folder.iterdir() if p.name not in listed)
    if extra:
        return Verification(
            False, chain, t("ops.audit.verify.file_extra", "en", name=extra[0]), "file", extra[0]
        )
    return Verification(True, chain)
