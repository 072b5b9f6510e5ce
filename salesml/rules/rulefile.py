"""Reading rule books: YAML text, a YAML file or a mapping; errors that point into the user's words.

Shared by tier rules (:mod:`salesml.rules.tiering`) and follow-up rules
(:mod:`salesml.rules.followups`). YAML goes through :func:`salesml.data.yamlsafe.load_yaml`
(no aliases, no tags, bounded size); expressions through
:func:`salesml.rules.expr.compile_expr`. A failure is a :class:`RuleError`: the rule
(its position and name), the line of the file when the rules came from text, and the
caret under the offending character of the expression as the user typed it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from salesml.data.yamlsafe import YamlError, load_yaml
from salesml.rules._base import ExpressionError

__all__ = ["RuleError", "find_line", "read_rule_source", "wrap_expression_error"]

#: Most rules in one rule book (a director writes a handful).
MAX_RULES = 200


class RuleError(ExpressionError):
    """A rule book cannot be used: which rule, where in the file, and what to change.

    Attributes
    ----------
    rule
        1-based position of the rule at fault (``None``: the book as a whole).
    file_line
        1-based line of the rule file the expression sits on (when known).
    """

    def __init__(
        self,
        reason: str,
        text: str = "",
        offset: int | None = None,
        *,
        length: int = 1,
        rule: int | None = None,
        file_line: int | None = None,
    ) -> None:
        self.rule = rule
        self.file_line = file_line
        super().__init__(reason, text, offset, length=length)


def find_line(source: str | None, needle: str) -> int | None:
    """1-based line of ``source`` where ``needle`` first appears (``None`` if absent)."""
    if not source or not needle:
        return None
    at = source.find(needle)
    if at < 0:
        return None
    return source.count("\n", 0, at) + 1


def wrap_expression_error(
    e: ExpressionError, *, where: str, rule: int | None, source: str | None
) -> RuleError:
    """``e`` re-raised as a :class:`RuleError` naming the rule and the line of the file."""
    line = find_line(source, e.text)
    at = f"{where}" + (f" (line {line} of the rule file)" if line else "")
    return RuleError(
        f"{at}: {e.reason}", e.text, e.offset, length=e.length, rule=rule, file_line=line
    )


def read_rule_source(
    source: str | os.PathLike[str] | Mapping[str, Any], *, what: str
) -> tuple[Mapping[str, Any], str | None]:
    """The parsed rule book and its text (``None`` for a mapping).

    Parameters
    ----------
    source
        YAML text, a path to a YAML file, or an already parsed mapping.
    what
        How to name the rules in messages (``"tier rules"``).

    Raises
    ------
    RuleError
        When the YAML cannot be read or is not a mapping.
    """
    if isinstance(source, Mapping):
        return source, None
    text: str | None
    try:
        if isinstance(source, str):
            text = source
            parsed = load_yaml(source, what=what)
        else:
            p = Path(source)
            parsed = load_yaml(p, what=f"{what} file {p}")
            text = p.read_text(encoding="utf-8-sig")
    except YamlError as e:
        raise RuleError(str(e)) from None
    if parsed is None:
        raise RuleError(f"the {what} are empty: write at least one rule")
    if not isinstance(parsed, Mapping):
        raise RuleError(f"the {what} must be a mapping (keys such as 'rules:'), got a list or text")
    return parsed, text
