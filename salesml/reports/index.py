"""The landing page of a reports folder: ``reports/index.html`` (and ``index.zh.html``).

One row per run folder (every report, period and variant): status, when it ran,
how long it took, the dataset fingerprint and a link to the HTML (or, for a failed
run, to its executed notebook and the error). The page is one self-contained HTML
file (no script, no network), rewritten atomically after every run under a lock, so
a reader never sees half a page and two runs finishing together both appear.
"""

from __future__ import annotations

import html
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from salesml.i18n import t
from salesml.reports.store import LOCKS_DIR, lock_path, locked

__all__ = ["INDEX_FILES", "RunRecord", "list_runs", "write_index"]

#: Page file per language.
INDEX_FILES: dict[str, str] = {"en": "index.html", "zh": "index.zh.html"}


@dataclass(frozen=True)
class RunRecord:
    """One run folder as ``run.json`` describes it."""

    report: str
    folder: Path
    status: str
    period: str
    period_start: str
    variant: str
    title: dict[str, str]
    started: str
    ended: str
    seconds: float | None
    fingerprint: str | None
    error: str
    page: str | None

    @classmethod
    def read(cls, run_json: Path) -> RunRecord | None:
        """The record of ``run_json`` (``None`` when unreadable: it is then left out)."""
        try:
            run: dict[str, Any] = json.loads(run_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(run, dict):
            return None
        folder = run_json.parent
        name = str(run.get("report") or folder.parent.name)
        status = str(run.get("status", "?"))
        page = folder / f"{name}.html" if status == "ok" else folder / f"{name}.ipynb"
        err = run.get("error") or {}
        title = run.get("title") if isinstance(run.get("title"), dict) else {}
        period = run.get("period_label") or run.get("period") or folder.name
        return cls(
            report=name,
            folder=folder,
            status=status,
            period=str(period),
            period_start=str(run.get("period_start") or ""),
            variant=str(run.get("variant") or ""),
            title={k: str(v) for k, v in title.items()},
            started=str(run.get("started") or ""),
            ended=str(run.get("ended") or ""),
            seconds=run.get("seconds"),
            fingerprint=run.get("dataset_fingerprint"),
            error=f"{err.get('ename', '')}: {err.get('evalue', '')}" if err else "",
            page=str(page.relative_to(folder.parent.parent)) if page.exists() else None,
        )


def list_runs(root: str | os.PathLike[str]) -> list[RunRecord]:
    """Every run folder of reports folder ``root`` (good and failed), newest period first."""
    base = Path(root)
    found = []
    if base.is_dir():
        for run_json in base.glob("*/*/run.json"):
            if run_json.parent.name.startswith(".") or run_json.parts[-3] == LOCKS_DIR:
                continue  # temporary folders of runs in progress
            rec = RunRecord.read(run_json)
            if rec is not None:
                found.append(rec)
    found.sort(key=lambda r: (r.report, r.variant, r.status != "ok"))
    found.sort(key=lambda r: (r.period_start, r.period), reverse=True)
    found.sort(key=lambda r: r.report)
    return found


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif;
       max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e3e3e3; text-align: left; }
th { background: #f3f3f3; }
.ok { color: #1a7f37; font-weight: 600; } .failed { color: #b42318; font-weight: 600; }
.meta { color: #666; font-size: 0.85em; } code { font-size: 0.95em; }
"""


def _row(r: RunRecord, lang: str) -> str:
    status = t(f"index.status.{r.status}", lang) if r.status in ("ok", "failed") else r.status
    link = (
        f"<a href='{html.escape(quote(r.page))}'>{html.escape(t(f'index.open.{r.status}', lang))}</a>"
        if r.page and r.status in ("ok", "failed")
        else ""
    )
    seconds = f"{r.seconds:.0f} s" if isinstance(r.seconds, int | float) else ""
    variant = r.variant.strip("_").replace("__", " · ") or t("index.default_variant", lang)
    error = f"<br><span class='meta'>{html.escape(r.error[:300])}</span>" if r.error else ""
    return (
        "<tr>"
        f"<td>{html.escape(r.period)}</td>"
        f"<td>{html.escape(variant)}</td>"
        f"<td class='{html.escape(r.status)}'>{html.escape(status)}{error}</td>"
        f"<td>{html.escape(r.ended or r.started)}</td>"
        f"<td>{html.escape(seconds)}</td>"
        f"<td><code>{html.escape(r.fingerprint or '')}</code></td>"
        f"<td>{link}</td>"
        "</tr>"
    )


def render_index(runs: list[RunRecord], lang: str = "en") -> str:
    """The landing page for ``runs`` in ``lang`` (one self-contained HTML document)."""
    other = "zh" if lang == "en" else "en"
    cols = ["period", "variant", "status", "time", "seconds", "fingerprint", "link"]
    head = "".join(f"<th>{html.escape(t(f'index.col.{c}', lang))}</th>" for c in cols)
    parts = [
        "<!DOCTYPE html>",
        f"<html lang='{lang}'><head><meta charset='utf-8'>",
        f"<title>{html.escape(t('index.title', lang))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(t('index.title', lang))}</h1>",
        f"<p class='meta'>{html.escape(t('index.intro', lang, n=len(runs)))} "
        f"<a href='{INDEX_FILES[other]}'>{html.escape(t('index.other_lang', lang))}</a></p>",
    ]
    if not runs:
        parts.append(f"<p>{html.escape(t('index.empty', lang))}</p>")
    current = None
    for r in runs:
        if r.report != current:
            if current is not None:
                parts.append("</tbody></table>")
            current = r.report
            title = r.title.get(lang) or r.report
            parts.append(
                f"<h2>{html.escape(title)} <span class='meta'>({html.escape(r.report)})</span></h2>"
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
        parts.append(_row(r, lang))
    if current is not None:
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_index(root: str | os.PathLike[str]) -> Path:
    """Rewrite ``root/index.html`` and ``root/index.zh.html`` from the run folders.

    Atomic (each page is written to a temporary file and renamed over the old one)
    and serialised by a lock, so the last writer has seen every finished run.

    Returns
    -------
    Path
        The English page, ``root/index.html``.
    """
    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    with locked(lock_path(base, "index"), wait=True, what="the index page"):
        runs = list_runs(base)
        for lang, name in INDEX_FILES.items():
            out = base / name
            tmp = out.with_name(f".{name}.{uuid.uuid4().hex[:8]}.tmp")
            tmp.write_text(render_index(runs, lang), encoding="utf-8")
            os.replace(tmp, out)
    return base / INDEX_FILES["en"]
