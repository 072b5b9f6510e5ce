"""Plain-sentence findings generated from pipeline results (en / zh)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from salesml.i18n import check_lang

__all__ = ["Finding", "key_findings"]


@dataclass(frozen=True)
class Finding:
    """One finding: a sentence in each language and how much it matters.

    Parameters
    ----------
    en, zh
        The sentence in English and in Chinese.
    weight
        Priority used to rank findings across analyses (larger first): a significant
        funnel breakpoint (1000+), unexplained lead loss (400-600), the biggest leak
        (300), the slowest stage (200), lead response time (150), the win rate (100),
        "no breakpoint" (50).
    kind
        Short tag of what the finding is about (``leak``, ``breakpoint``, ``slow_stage``,
        ``lead_loss``, ``response``, ``win_rate``).
    """

    en: str
    zh: str
    weight: float
    kind: str = ""

    def text(self, lang: str = "en") -> str:
        """The sentence in ``lang``."""
        return self.zh if check_lang(lang) == "zh" else self.en


class _HasFindings(Protocol):
    def findings(self) -> list[Finding]: ...


def key_findings(*results: _HasFindings | None, lang: str = "en", n: int = 3) -> list[str]:
    """The ``n`` most important findings over several pipeline results, as sentences.

    Parameters
    ----------
    *results
        Any of :class:`FunnelResult`, :class:`BreakpointResult`, :class:`DurationResult`,
        :class:`LeakageResult` (``None`` entries are skipped, so a report can pass the
        results it managed to compute).
    lang
        ``"en"`` or ``"zh"``.
    n
        How many findings to return.

    Returns
    -------
    list of str
        Sentences, most important first; at most one per kind of finding unless fewer
        than ``n`` kinds are available.
    """
    check_lang(lang)
    pool: list[Finding] = []
    for r in results:
        if r is not None:
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
