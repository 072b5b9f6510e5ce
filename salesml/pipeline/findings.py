"""Findings of the pipeline results: catalog sentences ranked across analyses, in en and zh.

A :class:`Finding` holds catalog keys (``pipeline.finding.*`` in
``salesml/labels/pipeline.yaml``) and the values that fill them; data values (stages,
regions, channels, reasons) are kept as codes in a :class:`Term` and shown by their
catalog name in the reader's language, so a finding and the table under it use the
same words. :class:`PipelineResult` is the base of the four pipeline results.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, ClassVar

from salesml.i18n import check_lang, label, t
from salesml.results import AnalysisResult, Note

__all__ = [
    "Finding",
    "PipelineResult",
    "Term",
    "TermNote",
    "format_p",
    "key_findings",
    "note",
    "part",
    "plural",
]


@dataclass(frozen=True)
class Term:
    """Data values (codes) shown by their catalog names, joined by `` / ``."""

    codes: tuple[Any, ...]

    @classmethod
    def of(cls, *codes: Any) -> Term:
        return cls(tuple(codes))

    def text(self, lang: str) -> str:
        return " / ".join(label(c, lang) for c in self.codes)


#: One catalog key and the values of its placeholders.
Part = tuple[str, tuple[tuple[str, Any], ...]]


def part(key: str, **values: Any) -> Part:
    """A sentence fragment: catalog ``key`` and its placeholder values."""
    return key, tuple(values.items())


def plural(key: str, n: int) -> str:
    """``key.one`` for a count of one, else ``key.many`` (the catalog holds both)."""
    return f"{key}.one" if n == 1 else f"{key}.many"


def format_p(p: float) -> str:
    """A p-value for people: ``3.3e-03`` below 0.001 (never ``0.00``), else ``0.012``."""
    return f"{p:.1e}" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class Finding:
    """One finding: catalog fragments in order, and how much it matters.

    Parameters
    ----------
    parts
        ``(key, values)`` fragments, concatenated as they are: continuation fragments
        carry their own punctuation (``"; the top recorded reason is ..."``, ``"；..."``).
    weight
        Priority used to rank findings across analyses (larger first): a significant
        funnel breakpoint (1000+), unexplained lead loss (400-600), the biggest leak
        (300), a uniformly weak group (250), the slowest stage or the sales cycle (200),
        lead response time (150), the win rate (100), the open pipeline (80),
        "no breakpoint" (50).
    kind
        Short tag of what the finding is about (``leak``, ``breakpoint``, ``slow_stage``,
        ``lead_loss``, ``response``, ``win_rate``, ``pipeline_value``, ``weak_group``).
    """

    parts: tuple[Part, ...]
    weight: float
    kind: str = ""

    def text(self, lang: str = "en") -> str:
        """The sentence in ``lang``."""
        check_lang(lang)
        out = []
        for key, values in self.parts:
            shown = {k: v.text(lang) if isinstance(v, Term) else v for k, v in values}
            out.append(t(key, lang, **shown))
        return "".join(out)


@dataclass(kw_only=True)
class PipelineResult(AnalysisResult):
    """Base of the pipeline results: ranked findings, catalog title, notes on the card."""

    title_key: ClassVar[str] = "pipeline.title"

    def findings(self) -> list[Finding]:
        """Every finding of this result (unranked)."""
        return []

    def key_findings(self, lang: str = "en", n: int = 3) -> list[str]:
        """The ``n`` most important findings of this result as sentences in ``lang``."""
        return key_findings(self, lang=lang, n=n)

    def notes_text(self, lang: str = "en") -> list[str]:
        """The caveats of :attr:`notes` in ``lang`` (what was left out, how it was measured)."""
        check_lang(lang)
        return [n.text(lang) for n in self.notes]

    def _repr_html_(self) -> str:
        card = super()._repr_html_()
        notes = "".join(f"<li>{html.escape(s)}</li>" for s in self.notes_text("en"))
        if not notes:
            return card
        return (
            card[: -len("</div>")] + f"<ul class='salesml-notes'><small>{notes}</small></ul></div>"
        )


def _is_result(r: object) -> bool:
    return isinstance(r, PipelineResult)


def key_findings(*results: PipelineResult | None, lang: str = "en", n: int = 3) -> list[str]:
    """The ``n`` most important findings over several pipeline results, as sentences.

    Parameters
    ----------
    *results
        Any of :class:`~salesml.pipeline.FunnelResult`,
        :class:`~salesml.pipeline.BreakpointResult`, :class:`~salesml.pipeline.DurationResult`,
        :class:`~salesml.pipeline.LeakageResult` (``None`` entries are skipped, so a
        report can pass the results it managed to compute).
    lang
        ``"en"`` or ``"zh"``.
    n
        How many findings to return.

    Returns
    -------
    list of str
        Sentences, most important first; at most one per kind of finding unless fewer
        than ``n`` kinds are available.

    Raises
    ------
    TypeError
        When given something other than a pipeline result (a dataset, a DataFrame):
        findings are drawn from results, ``key_findings(funnel(data), ...)``.
    """
    check_lang(lang)
    pool: list[Finding] = []
    for r in results:
        if r is None:
            continue
        if not _is_result(r):
            raise TypeError(
                "key_findings takes pipeline results, not "
                f"{type(r).__name__}: compute them first, e.g. "
                "key_findings(funnel(data), funnel_breakpoints(data), stage_durations(data), "
                "lead_leakage(data))"
            )
        pool.extend(r.findings())
    pool.sort(key=lambda f: -f.weight)
    chosen: list[Finding] = []
    kinds: set[str] = set()
    for f in pool:
        if f.kind not in kinds:
            chosen.append(f)
            kinds.add(f.kind)
        if len(chosen) == n:
            break
    for f in pool:
        if len(chosen) == n:
            break
        if f not in chosen:
            chosen.append(f)
    return [f.text(lang) for f in chosen]


@dataclass(frozen=True)
class TermNote(Note):
    """A :class:`~salesml.results.Note` whose :class:`Term` values show in the reader's language."""

    def text(self, lang: str = "en") -> str:
        shown = {k: v.text(lang) if isinstance(v, Term) else v for k, v in self.values}
        return t(self.key, lang, **shown)


def note(key: str, **values: Any) -> Note:
    """A caveat for :attr:`~salesml.results.AnalysisResult.notes` (catalog ``key``)."""
    return TermNote(key, tuple(values.items()))
