"""The error type and the limits shared by rule expressions and phrase templates.

Kept apart from :mod:`salesml.rules.expr` so the grammar, the evaluator and the
template renderer can import them without importing each other.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "MAX_DEPTH",
    "MAX_INT",
    "MAX_IN_ITEMS",
    "MAX_LENGTH",
    "MAX_MEMORY_BYTES",
    "MAX_NODES",
    "MAX_ROWS",
    "MAX_TEXT_LITERAL",
    "ExpressionError",
    "display_width",
    "format_bytes",
    "shorten",
]

#: Longest accepted expression, in characters.
MAX_LENGTH = 2000
#: Deepest accepted nesting of the syntax tree (and of brackets in the text).
MAX_DEPTH = 50
#: Most operations (names, literals, operators, calls) in one expression; evaluation
#: does one vectorised pass over the rows per operation, so time is at most
#: ``MAX_NODES`` passes over the frame.
MAX_NODES = 256
#: Most values in one ``in [...]`` list.
MAX_IN_ITEMS = 500
#: Longest text literal, in characters.
MAX_TEXT_LITERAL = 500
#: Whole-number literals must lie strictly between ``-MAX_INT`` and ``MAX_INT``.
MAX_INT = 10**18
#: Most memory the values alive at one time during an evaluation may take (the
#: intermediate results waiting for their operator, and the result). About eight
#: float columns of 30 million rows: far above any business rule, far below the
#: machine.
MAX_MEMORY_BYTES = 2 * 1024**3
#: Most rows :func:`salesml.rules.expr.evaluate_mask` accepts by default (tier L has
#: 30 million activities).
MAX_ROWS = 50_000_000

_SHOW = 70  # characters of a long line shown around the caret


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide (CJK) characters 2, combining marks 0."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KB'``."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"  # pragma: no cover


class ExpressionError(ValueError):
    """A rule expression (or phrase template) is malformed, outside the grammar, or fails.

    ``str(error)`` is the reason followed, when the place is known, by the line of
    the user's text and a caret under the offending part. Carets line up under
    wide (Chinese) characters.

    Attributes
    ----------
    reason
        The message without the caret display.
    text
        The expression exactly as given (not stripped).
    offset
        0-based character offset of the offending part in ``text`` (``None`` if the
        whole expression is at fault). Chinese characters count as one character.
    length
        How many characters the offending part spans (at least 1).
    """

    def __init__(
        self, reason: str, text: str = "", offset: int | None = None, *, length: int = 1
    ) -> None:
        self.reason = reason
        self.text = text
        self.offset = None if offset is None else max(0, min(offset, len(text)))
        self.length = max(1, length)
        super().__init__(self._render())

    @property
    def line(self) -> int | None:
        """1-based line of :attr:`offset` (``None`` without an offset)."""
        if self.offset is None:
            return None
        return self.text.count("\n", 0, self.offset) + 1

    @property
    def column(self) -> int | None:
        """1-based character column of :attr:`offset` in its line."""
        if self.offset is None:
            return None
        return self.offset - (self.text.rfind("\n", 0, self.offset) + 1) + 1

    def _render(self) -> str:
        if self.offset is None or not self.text:
            return self.reason
        start = self.text.rfind("\n", 0, self.offset) + 1
        end = self.text.find("\n", self.offset)
        line = self.text[start : end if end >= 0 else None]
        col = self.offset - start
        span = max(1, min(self.length, len(line) - col))
        where = f"column {col + 1}"
        if "\n" in self.text:
            where = f"line {self.line}, {where}"
        # A window of a long line, so the caret stays on screen.
        lo = max(0, col - _SHOW // 2)
        hi = min(len(line), max(col + span, lo + _SHOW))
        shown = ("…" if lo else "") + line[lo:hi] + ("…" if hi < len(line) else "")
        pad = display_width(("…" if lo else "") + line[lo:col])
        mark = max(1, display_width(line[col : min(col + span, hi)]))
        shown = shown.replace("\t", " ")
        return f"{self.reason} (at {where})\n  {shown}\n  {' ' * pad}{'^' * mark}"
